"""Undo an import: delete what it created and restore what it changed, leaving alone every record someone edited since
(they are listed in the result instead). What that means for a kind of sheet is its schema's `undo`; the lock, the
checks and the record of the undo on the job are here."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import ImportJob, ImportStatus
from .schema import get_schema

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
    kept: list[dict[str, Any]] = field(default_factory=list)  # records edited since the import, left as they are

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def undo_job(job: ImportJob, user: Any = None) -> UndoResult:
    """Undo under a lock on the job row, judged on the locked row's state.

    Concurrency: the final UPDATE also clears the worker's lease, so a worker still finishing the batch it had in
    flight when the job was cancelled cannot commit it (its batch UPDATE matches no row) nor overwrite `undone` with
    its own ending (`jobs.finish` matches only while it holds the lease)."""
    result = UndoResult()
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.undone_at is not None:
            raise UndoRefused("not_undoable", f"Import #{job.pk} was already undone.")
        if not locked.can_undo:
            raise UndoRefused(
                "not_undoable", f"Import #{job.pk} is {locked.status}; only a finished import can be undone."
            )
        get_schema(locked.schema).undo(locked, result)
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
