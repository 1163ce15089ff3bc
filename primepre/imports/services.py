"""Running an import job: store a file once (by sha256), run a job to the end (claim, run, finish).

The CLI and the background tasks call these; none of them touch the pipeline's internals. The job's state changes
themselves are `jobs` transitions.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core.files import File
from django.core.files.storage import default_storage

from . import jobs
from .columns import MissingColumns
from .errors import ImportFileError
from .models import ImportJob, ImportStatus
from .pipeline import ImportCancelled, ImportProgress, LeaseLost, run_import
from .readers import detect_format
from .schema import get_schema

logger = logging.getLogger("primepre.imports")
CHUNK = 1 << 20
MEMORY_LIMIT_MESSAGE = (
    "The import was stopped: reading the file needed more memory than one import may use. The file is unusual (very "
    "long cells or rows, or a sheet with cells scattered far apart). Save the customer columns as .csv, or split the "
    "file, and upload it again."
)
INTERNAL_ERROR_MESSAGE = "The import stopped on an unexpected error; it can be resumed."


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


@dataclass(frozen=True)
class _Ending:
    status: str
    code: str = ""
    message: str = ""


def execute_job(
    job: ImportJob,
    *,
    on_progress: Callable[[ImportProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    batch_size: int | None = None,
) -> ImportJob:
    """Run `job` to the end (or resume it after its checkpoint) and record how it ended: claim, run, finish.

    The claim and the finish are `jobs` transitions under the run's lease, so of two workers handed the same job only
    one runs it, and a run that lost the job (to an undo, or to the stalled-job sweep) records nothing."""
    if not jobs.claim(job):
        return job
    try:
        ending = _run(job, on_progress=on_progress, should_stop=should_stop, batch_size=batch_size)
    except Exception:
        jobs.finish(job, ImportStatus.FAILED, "internal_error", INTERNAL_ERROR_MESSAGE)
        logger.exception("[IMPORT-FAIL] job=%s code=internal_error", job.pk)
        raise
    if ending is None:
        return job
    jobs.finish(job, ending.status, ending.code, ending.message)
    if ending.status == ImportStatus.SUCCEEDED:
        get_schema(job.schema).after_import(job)
    if ending.status in (ImportStatus.SUCCEEDED, ImportStatus.PREVIEWED):
        _log_complete(job)
    return job


def _run(
    job: ImportJob,
    *,
    on_progress: Callable[[ImportProgress], None] | None,
    should_stop: Callable[[], bool] | None,
    batch_size: int | None,
) -> _Ending | None:
    """The pipeline over the job's file; how the run ended, or None when another worker (or an undo) took the job."""
    try:
        with job_file_path(job) as path:
            for progress in run_import(job, path, batch_size=batch_size, should_stop=should_stop):
                if on_progress is not None:
                    on_progress(progress)
    except MissingColumns as exc:
        # Not a dead end: the job waits with its file's columns recorded until someone says which feeds which.
        logger.info("[IMPORT-NEEDS-MAPPING] job=%s missing=%s", job.pk, ",".join(exc.details.get("missing", [])))
        return _Ending(ImportStatus.NEEDS_MAPPING, exc.code, exc.message)
    except ImportFileError as exc:
        logger.warning("[IMPORT-FAIL] job=%s code=%s reason=%s", job.pk, exc.code, exc.message)
        return _Ending(ImportStatus.FAILED, exc.code, exc.message)
    except LeaseLost:
        logger.warning("[IMPORT-LEASE-LOST] job=%s reason=another worker took the job over; stopping", job.pk)
        return None
    except ImportCancelled:
        logger.info("[IMPORT-CANCELLED] job=%s rows=%s", job.pk, job.rows_read)
        return _Ending(ImportStatus.CANCELLED)
    except MemoryError:
        # An allocation past the process's RLIMIT_DATA (see process.limit_process_memory): what it was building is
        # gone with the stack, so the process can record the failure and take the next job.
        logger.warning("[IMPORT-FAIL] job=%s code=memory_limit reason=an allocation exceeded the memory limit", job.pk)
        return _Ending(ImportStatus.FAILED, "memory_limit", MEMORY_LIMIT_MESSAGE)
    return _Ending(ImportStatus.PREVIEWED if job.dry_run else ImportStatus.SUCCEEDED)


def _log_complete(job: ImportJob) -> None:
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
