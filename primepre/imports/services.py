"""Running an import job: store a file once (by sha256), run a job to the end (claim, run, finish), on the sheet of a
workbook whose header maps, with the user's saved mapping for the file's headers; remember a corrected mapping.

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
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from . import jobs
from .columns import MissingColumns, RunHints, SavedChoice, SavedLookup, detect_columns, header_key
from .errors import ImportFileError
from .models import ImportJob, ImportStatus, SavedMapping
from .pipeline import ImportCancelled, ImportProgress, LeaseLost, run_import
from .readers import detect_format, list_sheets, open_rows
from .schema import get_schema
from .statistics import refresh_statistics

logger = logging.getLogger("primepre.imports")
CHUNK = 1 << 20
MEMORY_LIMIT_MESSAGE = (
    "The import was stopped: reading the file needed more memory than one import may use. The file is unusual (very "
    "long cells or rows, or a sheet with cells scattered far apart). Save the columns to import as .csv, or split "
    "the file, and upload it again."
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
    lease: str | None = None,
) -> ImportJob:
    """Run `job` to the end (or resume it after its checkpoint) and record how it ended: claim (under `lease` when the
    worker that started this process chose it), run, finish.

    The claim and the finish are `jobs` transitions under the run's lease, so of two workers handed the same job only
    one runs it, and a run that lost the job (to an undo, or to the stalled-job sweep) records nothing."""
    if not jobs.claim(job, lease):
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
        schema = get_schema(job.schema)
        if (planned := schema.planner_columns()) is not None:
            refresh_statistics(*planned, written=job.created + job.updated)
        schema.after_import(job)
        remember_mapping(job)
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

    def run(path: Path, hints: RunHints) -> None:
        for progress in run_import(job, path, batch_size=batch_size, should_stop=should_stop, hints=hints):
            if on_progress is not None:
                on_progress(progress)

    try:
        with job_file_path(job) as path:
            sheets = list_sheets(path, job.file_format) if job.file_format else []
            if sheets:
                jobs.record_sheets(job, sheets)
            _run_on_a_sheet_that_maps(job, path, RunHints(sheets=sheets, saved=saved_mapping_lookup(job)), run)
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


# File-level errors about the sheet that was read: in a workbook of several, they say which sheet and name the others.
SHEET_ERRORS = frozenset({"missing_columns", "empty_file", "no_rows"})
MAX_SHEETS_TRIED = 20  # each try reads a sheet's first rows; a workbook of hundreds of sheets is not searched whole


def _run_on_a_sheet_that_maps(
    job: ImportJob, path: Path, hints: RunHints, run: Callable[[Path, RunHints], None]
) -> None:
    """Run on the sheet the job names, or by default on the first visible one; when that one has no header we know
    (or nothing at all) and the user chose neither a sheet nor columns, on the first other sheet whose header maps.
    A workbook whose first sheet is "Instructions" imports its "Customers" sheet without asking."""
    sheets = list(hints.sheets)
    try:
        run(path, hints)
        return
    except ImportFileError as exc:
        if not _may_pick_another_sheet(job, exc, sheets):
            raise _naming_sheets(exc, job, sheets) from None
        # The sheet whose header did not map; an empty one was never recorded (the run stopped before its header).
        tried = job.sheet_name if isinstance(exc, MissingColumns) else ""
        picked = _first_sheet_that_maps(job, path, hints, tried)
        if picked is None:
            raise _naming_sheets(exc, job, sheets, searched=True) from None
    logger.info("[IMPORT-SHEET] job=%s sheet=%s reason=the first sheet whose header maps", job.pk, picked)
    if not jobs.pick_sheet(job, picked):
        raise LeaseLost()
    try:
        run(path, hints)
    except ImportFileError as exc:
        raise _naming_sheets(exc, job, sheets) from None


def _may_pick_another_sheet(job: ImportJob, exc: ImportFileError, sheets: list[dict[str, Any]]) -> bool:
    chosen = job.options.get("sheet") or job.options.get("columns")
    visible = [sheet for sheet in sheets if sheet["visible"]]
    return exc.code in {"missing_columns", "empty_file"} and not chosen and len(visible) > 1 and not job.rows_read


def _first_sheet_that_maps(job: ImportJob, path: Path, hints: RunHints, tried: str) -> str | None:
    """The first visible sheet, other than `tried`, whose header maps (or that is the old headerless layout, or
    that the user's saved mapping for its headers maps)."""
    schema = get_schema(job.schema)
    candidates = [sheet["name"] for sheet in hints.sheets if sheet["visible"] and sheet["name"] != tried]
    for name in candidates[:MAX_SHEETS_TRIED]:
        try:
            table = open_rows(path, sheet=name, file_format=job.file_format or None)
        except ImportFileError:
            continue
        try:
            detect_columns(table.rows, schema, region=settings.DEFAULT_PHONE_REGION, options=job.options, hints=hints)
        except ImportFileError:
            continue
        finally:
            table.close()
        return name
    return None


def _naming_sheets(
    exc: ImportFileError, job: ImportJob, sheets: list[dict[str, Any]], *, searched: bool = False
) -> ImportFileError:
    """`exc`, its message saying which sheet it concerns and which sheets the workbook has, when it has several."""
    names = [sheet["name"] for sheet in sheets]
    if exc.code not in SHEET_ERRORS or len(names) < 2:
        return exc
    sheet = f"sheet {job.sheet_name!r}" if job.sheet_name else "the first sheet"
    if searched:
        exc.message = (
            f"No sheet of this workbook has a header we recognise (its sheets: {', '.join(names)}). In {sheet}: "
            f"{exc.message} Or choose another sheet."
        )
    else:
        exc.message = f"{exc.message} (This is {sheet}; the workbook's sheets: {', '.join(names)}.)"
    exc.details["sheets"] = names
    return exc


def saved_mapping_lookup(job: ImportJob) -> SavedLookup | None:
    """Where the run finds a saved mapping for its file's headers: the job's user's, for this kind of sheet. None when
    the job chose its own columns (they win) or has no user (the CLI's operator)."""
    if job.created_by_id is None or job.options.get("columns"):
        return None

    def lookup(headers: list[str]) -> SavedChoice | None:
        saved = (
            SavedMapping.objects.filter(user_id=job.created_by_id, schema=job.schema, header_key=header_key(headers))
            .select_related("job")
            .first()
        )
        return SavedChoice(columns=saved.columns, about=saved.about()) if saved is not None else None

    return lookup


MAX_SAVED_MAPPINGS = 50  # per user and kind of sheet: the oldest go first


def remember_mapping(job: ImportJob) -> SavedMapping | None:
    """After an import that succeeded with columns the user corrected: remember them for the files with the same
    header row, so the next one is mapped the same way. A file without a header row has nothing to recognise it by."""
    stored = job.column_mapping or {}
    if not stored.get("corrected") or job.created_by_id is None or stored.get("header_row") is None:
        return None
    headers = stored.get("headers") or []
    columns = {name: info["index"] for name, info in (stored.get("fields") or {}).items()}
    saved, _ = SavedMapping.objects.update_or_create(
        user_id=job.created_by_id,
        schema=job.schema,
        header_key=header_key(headers),
        defaults={"headers": headers, "columns": columns, "job": job},
    )
    older = SavedMapping.objects.filter(user_id=job.created_by_id, schema=job.schema).order_by("-updated_at", "-pk")
    SavedMapping.objects.filter(pk__in=list(older.values_list("pk", flat=True)[MAX_SAVED_MAPPINGS:])).delete()
    logger.info("[IMPORT-MAPPING-SAVED] job=%s saved_mapping=%s columns=%s", job.pk, saved.pk, len(columns))
    return saved


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
