"""The loading list read back (#26): the China agent's sheet of what went into a container, imported through the
same wizard, API and engine as the customer and goods sheets, as a third schema (`loading_list`).

Each line finds its receipt by supplier tracking number, else by mark (+ date received, + cartons received when
several match) and loads its cartons onto the chosen open shipment (`loading.load_receipt`, one savepoint per line
inside the batch's transaction). A line that finds none, finds several, or would load more cartons than wait, fails
with its row, column and code: `no_receipt`, `ambiguous_receipt`, `more_than_received`, `receipt_unidentified`. It
reads the system we replace's `Container Items` sheet as it is (`Shipping Mark`, `B`, `C`, `Description`,
`Quantity`, `F`, `CBM`, `Tracking Number`, every value text) and the goods sheet's A–H layout without a header.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from primepre.goods import cleaning
from primepre.goods.models import GoodsReceipt, ReceiptStatus
from primepre.imports.schema import DedupeKey, FieldError, FieldSpec, ImportContext, ImportSchema, OptionSpec
from primepre.imports.writer import BatchOutcome, Failure, InsertPayload

from .errors import ShipmentRefused
from .models import Shipment, ShipmentAction, ShipmentChange, ShipmentStatus

SHIPMENT_OPTION = "shipment"
FIELDS = {**cleaning.FIELD_LABELS, "container_number": "Container No"}
ALIASES = {**cleaning.HEADER_ALIASES, "container_number": ["container", "container no", "container number", "cntr"]}
REQUIRED = ("shipping_mark", "cartons")
# The loader's codes, as a loading list's reader calls them.
CODES = {"more_than_waiting": "more_than_received"}


@dataclass(slots=True)
class ListLine:
    row_number: int
    values: tuple[Any, ...]
    shipping_mark: str
    mark_key: str
    cartons: int
    received_on: dt.date | None
    tracking_number: str
    tracking_key: str


class ListCleaner:
    def __init__(self, fields: Mapping[str, int], container: str) -> None:
        self.fields, self.container = dict(fields), container

    def clean(self, row_number: int, values: tuple[Any, ...]) -> tuple[ListLine | None, list[FieldError]]:
        cells = {name: values[index] if index < len(values) else "" for name, index in self.fields.items()}
        found: dict[str, Any] = {}
        errors: list[FieldError] = []
        for name, parse in (("shipping_mark", cleaning.parse_mark), ("cartons", cleaning.parse_cartons),
                            ("tracking_number", cleaning.parse_tracking)):  # fmt: skip
            try:
                found[name] = parse(cells.get(name))
            except cleaning.CellError as exc:
                errors.append(FieldError(name, exc.code, exc.message))
        found["received_on"] = None
        if str(cells.get("received_on") or "").strip():
            try:
                found["received_on"] = cleaning.parse_date(cells["received_on"])
            except cleaning.CellError as exc:
                errors.append(FieldError("received_on", exc.code, exc.message))
        errors += self._container_error(cells.get("container_number"))
        if errors:
            return None, errors
        (mark, key), (tracking, tracking_k) = found["shipping_mark"], found["tracking_number"]
        return ListLine(row_number, values, mark, key, found["cartons"], found["received_on"], tracking, tracking_k), []

    def _container_error(self, raw: Any) -> list[FieldError]:
        given = "".join(str(raw or "").split()).upper()
        if not given or not self.container or given == self.container:
            return []
        message = f"This line is for container {given}; the chosen shipment is {self.container}."
        return [FieldError("container_number", "other_container", message)]


def _pick(candidates: list[GoodsReceipt], line: ListLine) -> GoodsReceipt | str:
    """The one receipt a line names, or the code of why not."""
    if line.received_on is not None:
        candidates = [receipt for receipt in candidates if receipt.received_on == line.received_on]
    if len(candidates) > 1:
        same_count = [receipt for receipt in candidates if receipt.cartons == line.cartons]
        candidates = same_count or candidates
    if not candidates:
        return "no_receipt"
    return candidates[0] if len(candidates) == 1 else "ambiguous_receipt"


MESSAGES = {
    "no_receipt": "No receipt matches this line: check its tracking number, or its mark, date and cartons.",
    "ambiguous_receipt": "Several receipts match this line: give its tracking number, or its date received.",
}


class ListWriter:
    """Loads each line's cartons onto the shipment (a preview only checks that they wait)."""

    def __init__(self, context: ImportContext) -> None:
        self.job_id, self.dry_run = context.job_id, context.dry_run
        self.shipment = Shipment.objects.get(reference=context.options[SHIPMENT_OPTION])
        self.user = get_user_model().objects.filter(pk=context.user_id).first()
        self.claimed: dict[int, int] = defaultdict(int)  # a preview's cartons per receipt so far

    def prepare(self, rows: list[ListLine], now: dt.datetime) -> InsertPayload | None:
        return None

    def write(
        self,
        rows: Sequence[ListLine],
        now: dt.datetime,
        payload: InsertPayload | None = None,
        *,
        optimistic: bool = True,
    ) -> BatchOutcome:
        """Each line checked against its receipt (locked, when the run writes), then the batch's good lines loaded in
        one `load_receipts` call: a preview and a run classify every line the same way."""
        outcome = BatchOutcome()
        found = self._find(rows)
        if not self.dry_run:
            locked = (
                GoodsReceipt.objects.select_for_update()
                .order_by("pk")
                .in_bulk([receipt.pk for receipt in found if not isinstance(receipt, str)])
            )
            found = [receipt if isinstance(receipt, str) else locked[receipt.pk] for receipt in found]
            self.claimed.clear()  # what earlier batches loaded is in cartons_loaded now
        for line, receipt in zip(rows, found, strict=True):
            problem = (receipt, MESSAGES[receipt]) if isinstance(receipt, str) else self._check(line, receipt)
            if problem:
                field = "cartons" if problem[0] == "more_than_received" else "shipping_mark"
                outcome.failures.append(Failure(line.row_number, line.values, [FieldError(field, *problem)]))
            else:
                outcome.created.append(line)
        if not self.dry_run and outcome.created:
            self._load(outcome, dict(zip((line.row_number for line in rows), found, strict=True)))
        return outcome

    def _load(self, outcome: BatchOutcome, receipts: dict[int, GoodsReceipt]) -> None:
        from .loading import load_receipts  # the loader, only when a run writes

        wanted = [(receipts[line.row_number].pk, line.cartons) for line in outcome.created]
        try:
            load_receipts(self.shipment.pk, wanted, self.user, source={"job": self.job_id})
        except ShipmentRefused as exc:  # over capacity: the batch's lines fail together, nothing of them loaded
            for line in outcome.created:
                error = FieldError("cartons", exc.code, exc.message)
                outcome.failures.append(Failure(line.row_number, line.values, [error]))
            outcome.created = []

    def _find(self, rows: Sequence[ListLine]) -> list[GoodsReceipt | str]:
        """Each line's receipt (or why none), in two queries for the batch."""
        by_tracking = {
            r.tracking_key: r
            for r in GoodsReceipt.objects.filter(tracking_key__in=[x.tracking_key for x in rows if x.tracking_key])
        }
        by_mark: dict[str, list[GoodsReceipt]] = defaultdict(list)
        marks = {row.mark_key for row in rows if not row.tracking_key or row.tracking_key not in by_tracking}
        for receipt in (
            GoodsReceipt.objects.filter(mark_key__in=marks)
            .exclude(status=ReceiptStatus.CANCELLED)
            .order_by("received_on", "pk")
        ):
            by_mark[receipt.mark_key].append(receipt)
        return [
            by_tracking[row.tracking_key] if row.tracking_key in by_tracking else _pick(by_mark[row.mark_key], row)
            for row in rows
        ]

    def _check(self, line: ListLine, receipt: GoodsReceipt) -> tuple[str, str] | None:
        """What the loader would refuse (its own rule, `loading.cartons_to_load`), counting what earlier lines of this
        run claimed of the same receipt, without writing."""
        from .loading import cartons_to_load

        claimed = copy.copy(receipt)
        claimed.cartons_loaded += self.claimed[receipt.pk]
        try:
            cartons_to_load(claimed, receipt.pk, line.cartons)
        except ShipmentRefused as exc:
            return CODES.get(exc.code, exc.code), exc.message
        self.claimed[receipt.pk] += line.cartons
        return None


class LoadingListSchema(ImportSchema):
    name = "loading_list"
    label = "Loading list"
    rows_noun = "loading-list lines"
    fields = tuple(FieldSpec(name, label, tuple(ALIASES.get(name, ()))) for name, label in FIELDS.items())
    legacy_layout = cleaning.LEGACY_LAYOUT
    legacy_name = "the old A–H container sheet"
    dedupe_keys = (DedupeKey("tracking_key", "tracking_number", "tracking number"),)
    import_permission = "shipments.change_shipment"
    undo_permissions = ("shipments.change_shipment",)
    option_specs = (
        OptionSpec(
            SHIPMENT_OPTION, "text", "Shipment", "The reference of the open shipment the list loads.", max_length=32
        ),
    )
    record_nouns = ("loaded line", "loaded lines")
    upload_note = "The China agent's loading list: each line finds its receipt by tracking number, else by mark."

    def choices(self) -> dict[str, list[tuple[str, str]]]:
        """The open shipments a list may load, newest first (the upload page's select)."""
        open_ones = Shipment.objects.filter(status=ShipmentStatus.OPEN).order_by("-created_at")[:200]
        return {SHIPMENT_OPTION: [(box.reference, f"{box.reference} · {box.equipment}") for box in open_ones]}

    def check_options(self, options: dict[str, Any]) -> dict[str, list[str]]:
        reference = (options.get(SHIPMENT_OPTION) or "").strip().upper()
        if not reference:
            return {SHIPMENT_OPTION: ["Choose the open shipment this list loads (its reference)."]}
        options[SHIPMENT_OPTION] = reference
        if not Shipment.objects.filter(reference=reference, status=ShipmentStatus.OPEN).exists():
            return {SHIPMENT_OPTION: [f"No open shipment {reference}."]}
        return {}

    def required_missing(self, fields: Mapping[str, int], options: Mapping[str, Any]) -> list[str]:
        return [name for name in REQUIRED if name not in fields]

    def cleaner(self, fields: Mapping[str, int], context: ImportContext) -> ListCleaner:
        shipment = Shipment.objects.filter(reference=context.options.get(SHIPMENT_OPTION)).first()
        return ListCleaner(fields, shipment.container_number if shipment else "")

    def writer(self, context: ImportContext) -> ListWriter:
        return ListWriter(context)

    def stored_values(self, row: ListLine) -> dict[str, str]:
        return {"Mark": row.shipping_mark, "Cartons": str(row.cartons), "Tracking": row.tracking_number}

    def undo(self, job: Any, result: Any) -> None:
        """Take off the list what this import loaded, unless the shipment was closed since (kept, with why)."""
        from .loading import unload_cartons

        for change in ShipmentChange.objects.filter(action=ShipmentAction.LOAD, details__job=job.pk).order_by("-pk"):
            receipt, cartons = change.details["receipt"], change.details["cartons"]
            try:
                unload_cartons(change.shipment_id, receipt, cartons, job.created_by)
            except ShipmentRefused as exc:
                result.kept.append({"id": receipt, "label": f"receipt {receipt}", "reason": exc.message})
                continue
            result.deleted += 1
