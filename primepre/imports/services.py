"""Import jobs as plain functions: store a file once (by sha256), create a job, run it to the end.

The CLI, the background tasks and the API call these; none of them touch the pipeline's internals.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from .errors import ImportFileError
from .models import ImportJob, ImportMode, ImportStatus
from .pipeline import ImportCancelled, ImportProgress, LeaseLost, run_import
from .readers import detect_format

logger = logging.getLogger("primepre.imports")
CHUNK = 1 << 20
MEMORY_LIMIT_MESSAGE = (
    "The import was stopped: reading the file needed more memory than one import may use. The file is unusual (very "
    "long cells or rows, or a sheet with cells scattered far apart). Save the customer columns as .csv, or split the "
    "file, and upload it again."
)


@dataclass(frozen=True)
class StoredFile:
    name: str  # storage name
    sha256: str
    size: int
    file_format: str


def store_file(source: Path | IO[bytes]) -> StoredFile:
    """Copy `source` into storage under its sha256 (once: the same bytes are stored once), checking its type by
    content on the way. Streams in 1 MB chunks; never holds the file in memory."""
    digest = hashlib.sha256()
    size = 0
    with tempfile.NamedTemporaryFile(prefix="primepre-upload-", delete=False) as temp:
        temp_path = Path(temp.name)
        with contextlib.ExitStack() as stack:
            handle = stack.enter_context(open(source, "rb")) if isinstance(source, Path) else source
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                temp.write(chunk)
    try:
        file_format = detect_format(temp_path)
        sha = digest.hexdigest()
        name = f"imports/{sha[:2]}/{sha}.{file_format}"
        if not default_storage.exists(name):
            with open(temp_path, "rb") as handle:
                saved = default_storage.save(name, File(handle))
            if saved != name:  # a concurrent upload of the same bytes won: keep one copy
                default_storage.delete(saved)
        return StoredFile(name=name, sha256=sha, size=size, file_format=file_format)
    finally:
        temp_path.unlink(missing_ok=True)


def create_job(
    stored: StoredFile,
    *,
    file_name: str,
    user: Any = None,
    mode: str = ImportMode.CREATE,
    dry_run: bool = False,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    if mode not in ImportMode.values:
        raise ValueError(f"mode must be one of {ImportMode.values}")
    job = ImportJob.objects.create(
        created_by=user if getattr(user, "pk", None) else None,
        mode=mode,
        dry_run=dry_run,
        options=options or {},
        file=stored.name,
        file_name=file_name[:255],
        file_size=stored.size,
        sha256=stored.sha256,
        file_format=stored.file_format,
    )
    logger.info(
        "[IMPORT-QUEUED] job=%s file=%s size=%s sha256=%s mode=%s dry_run=%s",
        job.pk,
        job.file_name,
        job.file_size,
        stored.sha256[:12],
        mode,
        dry_run,
    )
    return job


@contextlib.contextmanager
def job_file_path(job: ImportJob) -> Iterator[Path]:
    """A local path to the job's file: the storage's own path when it has one, else a temporary download."""
    try:
        yield Path(default_storage.path(job.file.name))
        return
    except NotImplementedError:
        pass
    with default_storage.open(job.file.name, "rb") as remote, tempfile.NamedTemporaryFile(suffix=".import") as local:
        shutil.copyfileobj(remote, local, CHUNK)
        local.flush()
        yield Path(local.name)


def _reset_counts(job: ImportJob) -> None:
    """A job that starts from row 1 (a new run, or a confirmed preview) starts from zero."""
    job.row_errors.all().delete()
    job.rows_read = job.created = job.updated = job.unchanged = job.failed = 0
    job.seconds = 0
    job.error_code = job.error_message = ""


def execute_job(
    job: ImportJob,
    *,
    on_progress: Callable[[ImportProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int | None = None,
) -> ImportJob:
    """Run `job` to the end (or resume it after its checkpoint) and record how it ended.

    The claim is one conditional UPDATE (queued, or failed on our own error, → running with this run's lease token),
    so of two workers handed the same job only one runs it. It counts the run in `attempts` in the same statement:
    a run whose process dies never records its end, and the stalled-job sweep reads the count to stop retrying.
    """
    token = uuid.uuid4().hex
    claimable = Q(status=ImportStatus.QUEUED) | Q(status=ImportStatus.FAILED, error_code="internal_error")
    with transaction.atomic():
        claimed = ImportJob.objects.filter(claimable, pk=job.pk).update(
            status=ImportStatus.RUNNING,
            worker_token=token,
            heartbeat_at=timezone.now(),
            finished_at=None,
            attempts=F("attempts") + 1,
        )
        job.refresh_from_db()
        if not claimed:
            logger.info(
                "[IMPORT-SKIP] job=%s status=%s reason=not queued (done, cancelled or taken)", job.pk, job.status
            )
            return job
        resuming = job.checkpoint_row > 0
        if not resuming:
            _reset_counts(job)
        job.started_at = job.started_at if resuming and job.started_at else timezone.now()
        job.save()
    if resuming:
        logger.info("[IMPORT-RESUME] job=%s after_row=%s rows_done=%s", job.pk, job.checkpoint_row, job.rows_read)
    try:
        with job_file_path(job) as path:
            for progress in run_import(job, path, batch_size=batch_size, should_stop=should_stop):
                if on_progress is not None:
                    on_progress(progress)
    except ImportFileError as exc:
        _finish(job, ImportStatus.FAILED, exc.code, exc.message)
        logger.warning("[IMPORT-FAIL] job=%s code=%s reason=%s", job.pk, exc.code, exc.message)
        return job
    except LeaseLost:
        logger.warning("[IMPORT-LEASE-LOST] job=%s reason=another worker took the job over; stopping", job.pk)
        return job
    except ImportCancelled:
        _finish(job, ImportStatus.CANCELLED)
        logger.info("[IMPORT-CANCELLED] job=%s rows=%s", job.pk, job.rows_read)
        return job
    except MemoryError:
        # An allocation past the process's RLIMIT_DATA (see pipeline.limit_process_memory): what it was building is
        # gone with the stack, so the process can record the failure and take the next job.
        _finish(job, ImportStatus.FAILED, "memory_limit", MEMORY_LIMIT_MESSAGE)
        logger.warning("[IMPORT-FAIL] job=%s code=memory_limit reason=an allocation exceeded the memory limit", job.pk)
        return job
    except Exception:
        _finish(
            job, ImportStatus.FAILED, "internal_error", "The import stopped on an unexpected error; it can be resumed."
        )
        logger.exception("[IMPORT-FAIL] job=%s code=internal_error", job.pk)
        raise
    _finish(job, ImportStatus.PREVIEWED if job.dry_run else ImportStatus.SUCCEEDED)
    if not job.dry_run and job.options.get("send_welcome_sms"):
        _queue_welcomes(job)
    logger.info(
        "[IMPORT-COMPLETE] job=%s status=%s read=%s created=%s updated=%s unchanged=%s failed=%s seconds=%.2f "
        "rows_per_s=%.0f",
        job.pk,
        job.status,
        job.rows_read,
        job.created,
        job.updated,
        job.unchanged,
        job.failed,
        job.seconds,
        job.rows_per_second,
    )
    return job


def _queue_welcomes(job: ImportJob) -> None:
    """Welcome exactly the customers this job created, after they are committed. SMS trouble never fails an import."""
    from primepre.customers.models import Customer
    from primepre.sms.services import queue_welcome_messages, sms_enabled

    if not sms_enabled():
        logger.warning("[IMPORT-SMS-SKIPPED] job=%s reason=SMS is off", job.pk)
        return
    creator = job.created_by
    if creator is not None and not creator.has_perm("customers.send_sms"):
        # Submit and confirm already refuse this (imports.jobs); a job queued by any other path still sends nothing.
        logger.warning("[IMPORT-SMS-SKIPPED] job=%s reason=the user who started it may not send SMS", job.pk)
        return
    try:
        queued = queue_welcome_messages(Customer.objects.filter(import_job_id=job.pk).iterator(chunk_size=2000))
        logger.info("[IMPORT-SMS] job=%s welcomes_queued=%s", job.pk, queued)
    except Exception:
        logger.exception("[IMPORT-SMS-FAIL] job=%s", job.pk)


def _finish(job: ImportJob, status: str, code: str = "", message: str = "") -> None:
    """Record how the run ended.

    Concurrency: the UPDATE matches only while this run holds the job's lease (an undo or a resumed run took it
    otherwise) and the job is not undone, so an ending never overwrites what happened to the job meanwhile (an undo
    that raced a cancel stays `undone`)."""
    job.status = status
    job.error_code = code
    job.error_message = message
    job.finished_at = timezone.now()
    if status == ImportStatus.SUCCEEDED or status == ImportStatus.PREVIEWED:
        job.total_rows = job.rows_read
    ImportJob.objects.filter(pk=job.pk, worker_token=job.worker_token).exclude(status=ImportStatus.UNDONE).update(
        status=status,
        error_code=code,
        error_message=message,
        finished_at=job.finished_at,
        total_rows=job.total_rows,
    )
