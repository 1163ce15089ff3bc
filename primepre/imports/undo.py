"""Undo an import: delete the customers it created and restore the fields it changed, leaving alone every customer
someone edited since (they are listed in the result instead). The undo is recorded on the job."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from primepre.customers.models import Customer

from .models import ImportChange, ImportJob, ImportStatus

logger = logging.getLogger("primepre.imports")


class UndoRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class UndoResult:
    deleted: int = 0
    restored: int = 0
    kept: list[dict[str, Any]] = field(default_factory=list)  # customers edited since the import, left as they are

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kept(customer: Customer, reason: str) -> dict[str, Any]:
    return {"id": customer.pk, "shipping_mark": customer.shipping_mark, "reason": reason}


def undo_job(job: ImportJob, user: Any = None) -> UndoResult:
    """Undo under a lock on the job row, judged on the locked row's state.

    Concurrency: the final UPDATE also clears the worker's lease, so a worker still finishing the batch it had in
    flight when the job was cancelled cannot commit it (its batch UPDATE matches no row) nor overwrite `undone` with
    its own ending (`services._finish` matches only while it holds the lease)."""
    result = UndoResult()
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.undone_at is not None:
            raise UndoRefused("not_undoable", f"Import #{job.pk} was already undone.")
        if not locked.can_undo:
            raise UndoRefused(
                "not_undoable", f"Import #{job.pk} is {locked.status}; only a finished import can be undone."
            )
        created = Customer.objects.filter(import_job_id=job.pk)
        for customer in created.exclude(updated_at=F("created_at")).only("pk", "shipping_mark").iterator():
            result.kept.append(_kept(customer, "edited since the import"))
        untouched = created.filter(updated_at=F("created_at"))
        ImportChange.objects.filter(customer__in=untouched.values("pk")).update(customer=None)
        # One DELETE: the ORM's delete() would load every row to run its collector.
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {Customer._meta.db_table} WHERE import_job_id = %s AND updated_at = created_at",  # noqa: S608
                [job.pk],
            )
            result.deleted = cursor.rowcount
        changes = ImportChange.objects.filter(job=job, customer__isnull=False).select_related("customer")
        for change in changes.order_by("-row_number").iterator(chunk_size=1000):
            customer = change.customer
            if customer.updated_at != change.after_updated_at:
                result.kept.append(_kept(customer, "edited since the import"))
                continue
            before = dict(change.before)
            before_updated_at = parse_datetime(before.pop("updated_at"))
            try:
                with transaction.atomic():
                    Customer.objects.filter(pk=customer.pk).update(**before, updated_at=before_updated_at)
                result.restored += 1
            except IntegrityError:
                result.kept.append(_kept(customer, "its old phone, mark or email now belongs to another customer"))
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.UNDONE,
            undone_at=timezone.now(),
            undone_by=user,
            undo_result=result.as_dict(),
            worker_token="",
        )
    job.refresh_from_db()
    logger.info(
        "[IMPORT-UNDO] job=%s deleted=%s restored=%s kept=%s",
        job.pk,
        result.deleted,
        result.restored,
        len(result.kept),
    )
    return result
