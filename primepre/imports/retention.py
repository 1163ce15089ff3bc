"""How long uploaded spreadsheets are kept: IMPORT_FILE_RETENTION_DAYS after their job ended, then deleted.

A job's row, counts, row errors and undo records stay (the error file is built from the row errors, undo from the
change records): only the uploaded file goes, and the job's `file` is cleared. Files are stored once by sha256, so a
file is deleted only when no job that still keeps it (running, queued, or ended within the retention) names it.
A preview older than the retention can no longer be confirmed: the file has to be uploaded again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import LIVE_STATUSES, ImportJob

logger = logging.getLogger("primepre.imports")


@dataclass(frozen=True)
class PurgeResult:
    files: int = 0
    bytes: int = 0
    jobs: int = 0


def _expired(cutoff: dt.datetime) -> Q:
    """Ended before the cutoff (a job that never recorded its end counts from its creation)."""
    ended = Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)
    return ended & ~Q(status__in=LIVE_STATUSES)


def _release(name: str, expired: Q) -> int:
    """Clear `file` on the expired jobs that name it; return how many.

    One conditional UPDATE: a job that was queued again (a retry, a remap) since the list was read is not expired
    any more and keeps its file.
    """
    return ImportJob.objects.filter(expired, file=name).update(file="")


def _stored_size(name: str) -> int:
    try:
        return default_storage.size(name)
    except OSError:
        return 0  # already gone (deleted by hand, or by another worker's purge)


def purge_import_files(now: dt.datetime | None = None) -> PurgeResult:
    """Delete the stored files of jobs that ended more than IMPORT_FILE_RETENTION_DAYS ago (0: keep for ever).

    Safe to run from several workers at once: the UPDATEs are conditional and deleting a missing file is a no-op.
    A file is deleted only after no job names it any more, checked just before the delete; an upload of the same
    bytes that lands in between (the file existed, so it was not stored again) finds its file gone and fails with
    the reader's message, and uploading again stores it anew.
    """
    days = settings.IMPORT_FILE_RETENTION_DAYS
    if days <= 0:
        return PurgeResult()
    expired = _expired((now or timezone.now()) - dt.timedelta(days=days))
    names: QuerySet = (
        ImportJob.objects.filter(expired).exclude(file="").order_by().values_list("file", flat=True).distinct()
    )
    files = size = jobs = 0
    for name in list(names):
        if ImportJob.objects.filter(file=name).exclude(expired).exists():
            continue  # a newer or running job uses the same bytes: the file stays until that one expires too
        jobs += _release(name, expired)
        if ImportJob.objects.filter(file=name).exists():
            continue  # queued again meanwhile
        size += _stored_size(name)
        default_storage.delete(name)
        files += 1
    if files or jobs:
        logger.info("[IMPORT-PURGE] files=%s bytes=%s jobs=%s retention_days=%s", files, size, jobs, days)
    return PurgeResult(files=files, bytes=size, jobs=jobs)
