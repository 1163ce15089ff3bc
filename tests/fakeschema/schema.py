"""The fake third schema (#25 "done when"): two columns, one option of its own (`shout`), an upsert key (`code`). It
is the worked example of adding a kind of sheet: nothing in `primepre/imports/` names it; it brings its fields, its
option, its cleaner, its writer (create and upsert, with before → after) and its undo."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F

from primepre.imports.models import ImportChange
from primepre.imports.schema import DedupeKey, FieldError, FieldSpec, ImportContext, ImportSchema, OptionSpec
from primepre.imports.writer import BatchOutcome, Failure, InsertPayload, Update

from .models import Parcel


@dataclass(slots=True)
class CleanParcel:
    row_number: int
    values: tuple[Any, ...]
    code: str
    label: str


class ParcelCleaner:
    def __init__(self, fields: Mapping[str, int], shout: bool) -> None:
        self.fields, self.shout = dict(fields), shout

    def clean(self, row_number: int, values: tuple[Any, ...]) -> tuple[CleanParcel | None, list[FieldError]]:
        cells = {name: str(values[index] if index < len(values) else "").strip() for name, index in self.fields.items()}
        errors = [
            FieldError(name, "required", f"Give the {name}.") for name in ("code", "label") if not cells.get(name)
        ]
        if errors:
            return None, errors
        label = cells["label"].upper() if self.shout else cells["label"]
        return CleanParcel(row_number, values, cells["code"].upper(), label), []


class ParcelWriter:
    """Create, or in upsert mode update the label of the parcel with the same code (the before kept for undo)."""

    def __init__(self, context: ImportContext) -> None:
        self.job_id, self.user_id, self.mode, self.dry_run = (
            context.job_id,
            context.user_id,
            context.mode,
            context.dry_run,
        )

    def prepare(self, rows: list[CleanParcel], now: dt.datetime) -> InsertPayload | None:
        return None

    def write(
        self,
        rows: Sequence[CleanParcel],
        now: dt.datetime,
        payload: InsertPayload | None = None,
        *,
        optimistic: bool = True,
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        existing = {parcel.code: parcel for parcel in Parcel.objects.filter(code__in=[row.code for row in rows])}
        for row in rows:
            parcel = existing.get(row.code)
            if parcel is None:
                outcome.created.append(row)
            elif self.mode != "upsert":
                message = f"Parcel {row.code} is already there."
                outcome.failures.append(Failure(row.row_number, row.values, [FieldError("code", "exists", message)]))
            elif parcel.label == row.label:
                outcome.unchanged += 1
            else:
                before = {"label": parcel.label, "updated_at": parcel.updated_at.isoformat()}
                outcome.updates.append(Update(row, parcel.pk, {"label": row.label}, before))
        if not self.dry_run:
            self._save(outcome, now)
        return outcome

    def _save(self, outcome: BatchOutcome, now: dt.datetime) -> None:
        codes = [row.code for row in outcome.created]
        Parcel.objects.bulk_create(
            Parcel(code=row.code, label=row.label, import_job_id=self.job_id, created_by_id=self.user_id)
            for row in outcome.created
        )
        # One stamp for both (auto_now_add and auto_now read the clock apart): undo deletes what nobody changed since.
        Parcel.objects.filter(code__in=codes).update(created_at=now, updated_at=now)
        for update in outcome.updates:
            Parcel.objects.filter(pk=update.target_id).update(**update.changes, updated_at=now)


class ParcelSchema(ImportSchema):
    name = "parcels"
    label = "Parcels"
    rows_noun = "parcel rows"
    fields = (FieldSpec("code", "Code", ("parcel code",)), FieldSpec("label", "Label", ("name",)))
    dedupe_keys = (DedupeKey("code", "code", "parcel code"),)
    import_permission = "fakeschema.import_parcels"
    undo_permissions = ("fakeschema.delete_parcel", "fakeschema.change_parcel")
    modes = ("create", "upsert")
    option_specs = (OptionSpec("shout", "bool", "Shout", "Write every label in capitals.", default=False),)
    record_nouns = ("parcel", "parcels")
    already_there = "already in the parcel list"

    def record_model(self) -> type[Parcel]:
        return Parcel

    def required_missing(self, fields: Mapping[str, int], options: Mapping[str, Any]) -> list[str]:
        return [name for name in ("code", "label") if name not in fields]

    def side_effects(self, mode: str, options: Mapping[str, Any]) -> dict[str, str]:
        return {"fakeschema.change_parcel": "Updating existing parcels (mode upsert)"} if mode == "upsert" else {}

    def cleaner(self, fields: Mapping[str, int], context: ImportContext) -> ParcelCleaner:
        return ParcelCleaner(fields, bool(context.options.get("shout")))

    def writer(self, context: ImportContext) -> ParcelWriter:
        return ParcelWriter(context)

    def stored_values(self, row: CleanParcel) -> dict[str, str]:
        return {"Code": row.code, "Label": row.label}

    def undo(self, job: Any, result: Any) -> None:
        created = Parcel.objects.filter(import_job_id=job.pk)
        result.deleted, _ = created.filter(updated_at=F("created_at")).delete()
        for change in ImportChange.objects.filter(job=job, after_updated_at__isnull=False):
            parcel = Parcel.objects.filter(pk=change.record_id).first()
            if parcel is None or parcel.updated_at != change.after_updated_at:
                result.kept.append({"id": change.record_id, "label": str(parcel or ""), "reason": "changed since"})
                continue
            Parcel.objects.filter(pk=parcel.pk).update(
                label=change.before["label"], updated_at=change.before["updated_at"]
            )
            result.restored += 1
