"""Every state change of an import job, and who may make it: one module for the API, the pages, the CLI and the tasks.

The transitions, each one conditional UPDATE whose condition is the state it starts from, so two callers racing on one
job never both win: submit (a new queued job), claim (a worker takes it under a lease), pick a sheet and finish (the run
records the sheet it chose and how it ended, while it holds the lease), requeue and give up (the stalled-job sweep),
confirm, remap (other columns or another sheet; choices that cannot apply to the file are refused first), cancel and
undo.

Who may do what, once:
- submitting needs the import permission plus the permission of every side effect the options ask for (upsert changes
  customers: `change_customer`; a welcome SMS sends messages: `send_sms`);
- acting on a job is for the user who started it, or for holders of `imports.manage_all_imports`; anyone with the
  import permission may read every job (the history is shared);
- confirm and remap run the job's side effects under the acting user, so they need those permissions too; undo
  deletes and changes customers, so it needs `delete_customer` and `change_customer`.

A `user` of None is the system itself (the CLI run by an operator, the worker): no role applies.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from .columns import check_choices
from .errors import ImportFileError
from .models import LIVE_STATUSES, ImportJob, ImportMode, ImportStatus
from .schema import DEFAULT_SCHEMA, get_schema, schemas
from .undo import UndoRefused, UndoResult, undo_job

if TYPE_CHECKING:
    from .services import StoredFile

logger = logging.getLogger("primepre.imports")

MANAGE_ALL_PERMISSION = "imports.manage_all_imports"
REMAPPABLE = frozenset({ImportStatus.PREVIEWED, ImportStatus.FAILED, ImportStatus.NEEDS_MAPPING})
CANCELLABLE = LIVE_STATUSES | {ImportStatus.PREVIEWED}
# A worker may take a queued job, or resume one that failed on our own error (not on its file).
CLAIMABLE = Q(status=ImportStatus.QUEUED) | Q(status=ImportStatus.FAILED, error_code="internal_error")


class JobRefused(Exception):
    """An action the user may not take (403) or the job's state does not allow (409), with a stable code."""

    def __init__(self, code: str, message: str, http_status: int, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status
        self.details = details  # more of the error's JSON body, e.g. the sheets of the file


def _denied(message: str) -> JobRefused:
    return JobRefused("permission_denied", message, 403)


def authorize_submit(user: Any, mode: str, options: Mapping[str, Any], schema: str = DEFAULT_SCHEMA) -> None:
    """Refuse (403) a job the user may not start: importing that kind of sheet needs its schema's permission, and
    every side effect of the mode and options needs its own (upsert, SMS). Checked before anything is stored or
    queued, and again when the job is confirmed or remapped (permissions can be taken away in between)."""
    if user is None:
        return
    sheet = get_schema(schema)
    if not user.has_perm(sheet.import_permission):
        raise _denied(f"You do not have permission to import {sheet.label.lower()}.")
    for permission, what in sheet.side_effects(mode, options).items():
        if not user.has_perm(permission):
            raise _denied(f"{what} needs the permission {permission}, which your role does not have.")


def import_permissions() -> list[str]:
    """Every kind of sheet's import permission: holding any of them opens the import pages and history."""
    return [schema.import_permission for schema in schemas()]


def may_import(user: Any) -> bool:
    """Whether `user` may import some kind of sheet (and so read the import history)."""
    return any(user.has_perm(permission) for permission in import_permissions())


def may_manage(user: Any, job: ImportJob) -> bool:
    """Whether `user` may confirm, remap, cancel or undo `job` (its permissions for the side effects aside)."""
    if user is None:
        return True
    owner = job.created_by_id is not None and job.created_by_id == user.pk
    return owner or user.has_perm(MANAGE_ALL_PERMISSION)


def may_undo(user: Any, job: ImportJob) -> bool:
    return may_manage(user, job) and (user is None or user.has_perms(get_schema(job.schema).undo_permissions))


def _authorize_action(user: Any, job: ImportJob, verb: str) -> None:
    if not may_manage(user, job):
        raise _denied(f"Only the user who started import #{job.pk}, or an administrator, may {verb} it.")


def _enqueue(job: ImportJob) -> None:
    """Queue the job's run once the transaction that made it runnable commits (a worker must see the change)."""
    from .tasks import queue_job  # the task runs services.execute_job, which calls back into this module

    queue_job(job)


def create_job(
    stored: StoredFile,
    *,
    file_name: str,
    user: Any = None,
    mode: str = ImportMode.CREATE,
    dry_run: bool = False,
    options: Mapping[str, Any] | None = None,
    schema: str | None = None,
) -> ImportJob:
    """The job row for a stored file (status queued) without queueing its run: the CLI runs it in its own process; every
    other caller submits (`submit`). A new row: nothing can race it."""
    if mode not in ImportMode.values:
        raise ValueError(f"mode must be one of {ImportMode.values}")
    job = ImportJob(
        created_by=user if getattr(user, "pk", None) else None,
        mode=mode,
        dry_run=dry_run,
        options=dict(options or {}),
        file=stored.name,
        file_name=file_name[:255],
        file_size=stored.size,
        sha256=stored.sha256,
        file_format=stored.file_format,
    )
    if schema:
        job.schema = schema  # what the sheet holds; the model's default otherwise
    job.save()
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


def submit(
    stored: StoredFile,
    *,
    file_name: str,
    user: Any,
    mode: str = ImportMode.CREATE,
    dry_run: bool = False,
    options: Mapping[str, Any] | None = None,
    schema: str | None = None,
) -> ImportJob:
    """A new job for `user`, queued for a worker once the caller's transaction commits.

    Refused (403, nothing created) when the options cause a side effect the user may not cause; callers that store an
    upload check `authorize_submit` before storing it, so a refused request stores nothing either.
    Concurrency: an INSERT of a new row, queued at commit; its run starts with `claim`."""
    authorize_submit(user, mode, options or {}, schema or DEFAULT_SCHEMA)
    job = create_job(stored, file_name=file_name, user=user, mode=mode, dry_run=dry_run, options=options, schema=schema)
    _enqueue(job)
    return job


def confirm(job: ImportJob, user: Any) -> None:
    """Run a previewed job for real, from row 1.

    Concurrency: one conditional UPDATE (status previewed and dry run → queued); of two confirms only one matches, so
    the job is queued once."""
    _authorize_action(user, job, "confirm")
    authorize_submit(user, job.mode, job.options, job.schema)
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PREVIEWED, dry_run=True).update(
        status=ImportStatus.QUEUED,
        dry_run=False,
        checkpoint_row=0,
        worker_token="",
        attempts=0,
        options=_with_saved_columns(job),
    )
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise JobRefused(
            "not_previewed", f"Import #{job.pk} is {job.status}; only a previewed import can be confirmed.", 409
        )
    _enqueue(job)


def _with_saved_columns(job: ImportJob) -> dict[str, Any]:
    """The options a confirmed preview runs with: a saved mapping the preview applied becomes the job's own columns,
    so the import uses exactly what was previewed even if the saved mapping changes in between."""
    stored = job.column_mapping or {}
    saved = stored.get("saved_mapping")
    if not saved or job.options.get("columns"):
        return job.options
    chosen: dict[str, int | None] = {name: None for name in get_schema(job.schema).labels}
    chosen.update({name: info["index"] for name, info in (stored.get("fields") or {}).items()})
    return {**job.options, "columns": chosen, "saved_mapping": saved}


def _known_sheet(job: ImportJob, wanted: str) -> str:
    """The sheet of the job's file named `wanted` (case aside), or 400 naming the sheets there are."""
    names = [sheet["name"] for sheet in (job.column_mapping or {}).get("sheets") or []]
    for name in names:
        if name == wanted or name.casefold().strip() == wanted.casefold().strip():
            return name
    if not names:
        raise JobRefused("unknown_sheet", f"The file of import #{job.pk} has no sheets to choose from.", 400, sheets=[])
    raise JobRefused(
        "unknown_sheet",
        f"There is no sheet named {wanted!r}. Sheets in this file: {', '.join(names)}.",
        400,
        sheets=names,
    )


def _filled_options(job: ImportJob, fill: Mapping[str, Any]) -> dict[str, Any]:
    """The job's options with the schema's fillers set (a value) or cleared (None); only a filler's own option may
    be changed this way, and only to its value."""
    options = dict(job.options)
    fillers = {filler.option: filler for filler in get_schema(job.schema).fillers}
    for name, value in fill.items():
        filler = fillers.get(name)
        if filler is None or value not in (None, filler.value):
            raise JobRefused(
                "not_a_fill_option", f"{str(name)[:50]}={str(value)[:50]} cannot stand in for a column here.", 400
            )
        if value is None:
            options.pop(name, None)
        else:
            options[name] = value
    return options


def _remapped_options(
    job: ImportJob, columns: Mapping[str, Any], sheet: str | None, fill: Mapping[str, Any]
) -> dict[str, Any]:
    """The options of the new preview. Another sheet starts its mapping afresh (the columns chosen were the other
    sheet's) unless columns come with it; choices for this sheet are checked against the columns its run read;
    `fill` sets or clears the options that stand in for a missing column (`_filled_options`)."""
    filled = _filled_options(job, fill)
    options = {name: value for name, value in filled.items() if name not in {"saved_mapping", "columns"}}
    if sheet and sheet.casefold().strip() != (job.sheet_name or "").casefold().strip():
        options["sheet"] = _known_sheet(job, sheet)
        options.pop("sheet_auto", None)
        stored: Mapping[str, Any] = {}  # the columns of the chosen sheet are not known yet: its run checks them
    else:
        stored = job.column_mapping or {}
    try:
        check_choices(stored, columns, get_schema(job.schema))
    except ImportFileError as exc:
        raise JobRefused(exc.code, exc.message, 400, **exc.details) from exc
    if columns:
        options["columns"] = dict(columns)
    return options


def remap(
    job: ImportJob,
    user: Any,
    columns: Mapping[str, Any],
    sheet: str | None = None,
    fill: Mapping[str, Any] | None = None,
) -> None:
    """Preview the job again with the user's column choices (`field → header or 0-based column`; None drops a
    field), on another sheet of its workbook, and/or with an option that stands in for a field no column feeds
    (`fill`: the schema's fillers, e.g. {"missing_mark": "generate"}). Choices that cannot apply are refused (400).

    Concurrency: one conditional UPDATE from a state where no worker holds the job (previewed or failed) back to a
    queued preview; a remap racing a confirm loses to it (the confirm moved the job out of `previewed`)."""
    _authorize_action(user, job, "change the columns of")
    options = _remapped_options(job, columns, sheet, fill or {})
    authorize_submit(user, job.mode, options, job.schema)
    updated = ImportJob.objects.filter(pk=job.pk, status__in=REMAPPABLE, undone_at__isnull=True).update(
        options=options,
        status=ImportStatus.QUEUED,
        dry_run=True,
        checkpoint_row=0,
        worker_token="",
        attempts=0,
        error_code="",
        error_message="",
    )
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise JobRefused(
            "not_remappable",
            f"Import #{job.pk} is {job.status}; only a preview or a failed import can be remapped.",
            409,
        )
    _enqueue(job)


def preview_as_update(job: ImportJob, user: Any) -> None:
    """Preview a create-mode job again as an upsert: rows that matched existing customers become updates.

    Concurrency: one conditional UPDATE from `previewed` in create mode back to a queued preview in upsert mode; a
    confirm that came first moved the job out of `previewed`, and this gets 409."""
    _authorize_action(user, job, "change the mode of")
    authorize_submit(user, ImportMode.UPSERT, job.options, job.schema)
    if ImportMode.UPSERT not in get_schema(job.schema).modes:
        raise JobRefused("not_updatable", f"{get_schema(job.schema).label} sheets only add records.", 409)
    updated = ImportJob.objects.filter(
        pk=job.pk, status=ImportStatus.PREVIEWED, dry_run=True, mode=ImportMode.CREATE
    ).update(mode=ImportMode.UPSERT, status=ImportStatus.QUEUED, checkpoint_row=0, worker_token="", attempts=0)
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise JobRefused("not_previewed", f"Import #{job.pk} is {job.status}; only a preview can change mode.", 409)
    _enqueue(job)


# Options a preview may be run again with, from the review (the columns have `remap`, the mode `preview_as_update`).
REVIEW_OPTIONS = frozenset({"invalid_optional"})


def preview_with_options(job: ImportJob, user: Any, changes: Mapping[str, Any]) -> None:
    """Preview the job again with some of its options changed (e.g. import rows without their invalid optional
    cells). The new options are validated like an upload's (DRF's ValidationError, a 400) and authorized again.

    Concurrency: one conditional UPDATE from `previewed` (still a dry run) back to a queued preview; a confirm that
    came first moved the job out of `previewed`, and this gets 409."""
    from .serializers import parse_options

    _authorize_action(user, job, "change the options of")
    unknown = set(changes) - REVIEW_OPTIONS
    if unknown:
        raise JobRefused("not_a_review_option", f"{', '.join(sorted(unknown))} cannot be changed on a preview.", 400)
    checked = parse_options({**changes, "schema": job.schema, "mode": job.mode})["options"]
    options = {**job.options, **{name: checked[name] for name in changes if name in checked}}
    authorize_submit(user, job.mode, options, job.schema)
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PREVIEWED, dry_run=True).update(
        options=options, status=ImportStatus.QUEUED, checkpoint_row=0, worker_token="", attempts=0
    )
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise JobRefused("not_previewed", f"Import #{job.pk} is {job.status}; only a preview can change options.", 409)
    job.options = options
    _enqueue(job)


def cancel(job: ImportJob, user: Any) -> None:
    """Stop a job between batches (what is committed stays).

    Concurrency: one conditional UPDATE from a live or previewed state; a job that ended meanwhile (or was undone)
    is left as it is and the caller gets 409."""
    _authorize_action(user, job, "cancel")
    updated = ImportJob.objects.filter(pk=job.pk, status__in=CANCELLABLE).update(status=ImportStatus.CANCELLED)
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise JobRefused("not_cancellable", f"Import #{job.pk} is {job.status}; it cannot be cancelled.", 409)


def undo(job: ImportJob, user: Any) -> UndoResult:
    """Delete what the job created and restore what it changed (see `undo.undo_job` for its locking)."""
    _authorize_action(user, job, "undo")
    if user is not None and not user.has_perms(get_schema(job.schema).undo_permissions):
        raise _denied("Undoing an import deletes and changes what it wrote; your role may not do that.")
    try:
        return undo_job(job, user)
    except UndoRefused as exc:
        raise JobRefused(exc.code, exc.message, 409) from exc


# --- a run: claim, pick a sheet, finish -------------------------------------------------------------------------------

# What a run from row 1 starts from; a resumed run (a checkpoint) keeps its counters and row errors.
_FRESH_START = {
    "rows_read": 0,
    "created": 0,
    "updated": 0,
    "unchanged": 0,
    "failed": 0,
    "seconds": 0.0,
    "error_code": "",
    "error_message": "",
    "tallies": {},
}


def _unless_resuming(field_name: str, value: Any) -> Case:
    output_field = ImportJob._meta.get_field(field_name)
    return Case(
        When(checkpoint_row=0, then=Value(value, output_field=output_field)),
        default=F(field_name),
        output_field=output_field,
    )


def claim(job: ImportJob, lease: str | None = None) -> bool:
    """Take `job` for this run under a new lease (`worker_token`: `lease` when the worker that started this process
    chose it, so that it can act on the job if this process dies), or say False (done, cancelled or taken).

    Concurrency: one conditional UPDATE (queued, or failed on our own error → running with this run's token), so of
    two workers handed the same job only one runs it. It counts the run in `attempts` in the same statement: a run
    whose process dies never records its end, and the stalled-job sweep reads the count to stop retrying. A run from
    row 1 zeroes the counters in the same statement and drops the old row errors, warnings and planned changes in the
    same transaction."""
    now = timezone.now()
    started_at = Case(When(Q(checkpoint_row=0) | Q(started_at__isnull=True), then=Value(now)), default=F("started_at"))
    with transaction.atomic():
        claimed = ImportJob.objects.filter(CLAIMABLE, pk=job.pk).update(
            status=ImportStatus.RUNNING,
            worker_token=lease or uuid.uuid4().hex,
            heartbeat_at=now,
            claimed_at=now,
            finished_at=None,
            attempts=F("attempts") + 1,
            started_at=started_at,
            **{name: _unless_resuming(name, value) for name, value in _FRESH_START.items()},
        )
        job.refresh_from_db()
        if claimed and job.checkpoint_row == 0:
            job.row_errors.all().delete()
            job.row_warnings.all().delete()
            job.changes.filter(after_updated_at__isnull=True).delete()  # a preview's planned changes, not undo's
    if not claimed:
        logger.info("[IMPORT-SKIP] job=%s status=%s reason=not queued (done, cancelled or taken)", job.pk, job.status)
    elif job.checkpoint_row:
        logger.info("[IMPORT-RESUME] job=%s after_row=%s rows_done=%s", job.pk, job.checkpoint_row, job.rows_read)
    return bool(claimed)


def pick_sheet(job: ImportJob, sheet: str) -> bool:
    """Record the sheet the run chose by itself (the first whose header maps), so the confirm and any remap read the
    same sheet. False when the run had lost the job.

    Concurrency: one UPDATE that matches only while this run holds the job's lease."""
    job.options = {**job.options, "sheet": sheet, "sheet_auto": True}
    return bool(
        ImportJob.objects.filter(pk=job.pk, worker_token=job.worker_token)
        .exclude(status=ImportStatus.UNDONE)
        .update(options=job.options)
    )


def record_sheets(job: ImportJob, sheets: list[dict[str, Any]]) -> None:
    """The workbook's sheets on the job before its run reads any row, so a run that stops early (an unknown sheet)
    still leaves the review its sheets to choose from. Under the run's lease, like every write of a run."""
    job.column_mapping = {**(job.column_mapping or {}), "sheets": sheets}
    ImportJob.objects.filter(pk=job.pk, worker_token=job.worker_token).update(column_mapping=job.column_mapping)


def finish(job: ImportJob, status: str, code: str = "", message: str = "") -> bool:
    """Record how the run ended (and, for a run that read the whole file, its length). False when the run had lost
    the job.

    Concurrency: the UPDATE matches only while this run holds the job's lease (an undo or a resumed run took it
    otherwise) and the job is not undone, so an ending never overwrites what happened to the job meanwhile (an undo
    that raced a cancel stays `undone`)."""
    job.status = status
    job.error_code = code
    job.error_message = message
    job.finished_at = timezone.now()
    if status == ImportStatus.SUCCEEDED or status == ImportStatus.PREVIEWED:
        job.total_rows = job.rows_read
    return bool(
        ImportJob.objects.filter(pk=job.pk, worker_token=job.worker_token)
        .exclude(status=ImportStatus.UNDONE)
        .update(
            status=status,
            error_code=code,
            error_message=message,
            finished_at=job.finished_at,
            total_rows=job.total_rows,
        )
    )


def release(job: ImportJob) -> bool:
    """Running under this run's lease → queued, lease dropped, the run not counted in `attempts`: the worker was told
    to stop (a deploy, a restart) and stopped between two batches, after the last one's checkpoint committed. The next
    worker resumes it at once, without waiting for the stalled-job sweep, and a deploy never counts as a crash.

    Concurrency: one conditional UPDATE on the lease, so a run that had lost the job changes nothing."""
    return bool(
        ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING, worker_token=job.worker_token).update(
            status=ImportStatus.QUEUED,
            worker_token="",
            attempts=F("attempts") - 1,  # claim counted this run
        )
    )


# --- previews nobody confirmed ----------------------------------------------------------------------------------------

PREVIEW_EXPIRED_MESSAGE = (
    "This preview was never confirmed and expired after {days} days. Upload the file again to import it."
)


def expire_previews(now: dt.datetime | None = None) -> int:
    """Previews (and jobs waiting for their columns) that ended more than IMPORT_PREVIEW_EXPIRY_DAYS ago →
    cancelled, `preview_expired`; returns how many. Nothing was written by them, so nothing is undone.

    Concurrency: one conditional UPDATE from those states, still a dry run: a confirm or a remap that came first
    moved the job out of them (and a confirm racing this one either wins, or finds the job cancelled: 409)."""
    days = settings.IMPORT_PREVIEW_EXPIRY_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    waiting = Q(status__in=[ImportStatus.PREVIEWED, ImportStatus.NEEDS_MAPPING], dry_run=True)
    return ImportJob.objects.filter(waiting, finished_at__lt=cutoff).update(
        status=ImportStatus.CANCELLED,
        error_code="preview_expired",
        error_message=PREVIEW_EXPIRED_MESSAGE.format(days=days),
    )


# --- a run that died: reading (the file's doing) or writing ---------------------------------------------------------

UNREADABLE_FILE_MESSAGE = (
    "The file{name} stopped the program reading it ({how}), so it was not tried again: a spreadsheet whose cells or "
    "text are far larger than the file looks is the usual cause. Open it in Excel or LibreOffice, keep only the "
    "columns you import, save it as .csv (or a new .xlsx) and upload that."
)


def wrote_nothing() -> Q:
    """The run that holds the job has committed no batch (its heartbeat is still its claim's: each batch moves it)
    and no earlier run did (no checkpoint): the file has never been read past its opening. A resumed run that dies
    re-reading the rows before its checkpoint is not the file's doing (a run got past them before): it is retried."""
    return Q(claimed_at__isnull=False, heartbeat_at__lte=F("claimed_at"), checkpoint_row=0)


def fail_unreadable(job_id: int, how: str, *, lease: str | None = None, cutoff: dt.datetime | None = None) -> bool:
    """Running, died before writing anything → failed `unreadable_file`, lease dropped, never tried again: the
    process died opening or reading the file (native code aborting on an allocation, the kernel's memory killer),
    and the next run would die the same way.

    Concurrency: one conditional UPDATE, on the dead run's lease (the worker that started it) or on a stale
    heartbeat (the sweep, `cutoff`), and on `wrote_nothing`, so a run that got as far as writing is left to
    `child_died`/`requeue` and of several callers only one ends the job."""
    which = Q(worker_token=lease) if lease else stalled(cutoff or timezone.now())
    job = ImportJob.objects.filter(pk=job_id).only("file_name").first()
    name = f" “{job.file_name}”" if job and job.file_name else ""
    return bool(
        ImportJob.objects.filter(which, wrote_nothing(), pk=job_id, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED,
            error_code="unreadable_file",
            error_message=UNREADABLE_FILE_MESSAGE.format(name=name, how=how),
            finished_at=timezone.now(),
            worker_token="",
        )
    )


def child_died(job_id: int, lease: str, how: str) -> str:
    """The process running the job under `lease` died without recording an end; its worker (alive) says so.
    Returns what became of the job: "unreadable" (it died reading: `fail_unreadable`), "requeued" (it died writing,
    runs are left: queued again, resumes after its checkpoint), "failed" (`worker_crashed`, no runs left) or ""
    (the run had already lost the job).

    Concurrency: one conditional UPDATE per outcome, each on the dead run's lease and still `running`, with
    conditions that exclude each other (wrote nothing / wrote, runs left / none), so exactly one applies, once."""
    if fail_unreadable(job_id, how, lease=lease):
        return "unreadable"
    running = ImportJob.objects.filter(pk=job_id, status=ImportStatus.RUNNING, worker_token=lease)
    if running.filter(attempts__lt=settings.IMPORT_MAX_ATTEMPTS).update(status=ImportStatus.QUEUED, worker_token=""):
        return "requeued"
    attempts = settings.IMPORT_MAX_ATTEMPTS
    ended = running.update(
        status=ImportStatus.FAILED,
        error_code="worker_crashed",
        error_message=WORKER_CRASHED_MESSAGE.format(attempts=attempts),
        finished_at=timezone.now(),
        worker_token="",
    )
    return "failed" if ended else ""


NOT_STARTED_MESSAGE = "The import could not start (the process that runs it ended before taking it); it can be resumed."


def not_started(job_id: int) -> bool:
    """Queued, but the process started to run it died before claiming it → failed `internal_error`, which a user may
    resume (CLAIMABLE): not the file's fault (it was never opened), and queuing it again by itself could loop for ever
    on a broken installation.

    Concurrency: one conditional UPDATE from `queued`; a worker that claimed it meanwhile made it `running`."""
    return bool(
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.FAILED,
            error_code="internal_error",
            error_message=NOT_STARTED_MESSAGE,
            finished_at=timezone.now(),
        )
    )


# --- the stalled-job sweep: requeue, give up -------------------------------------------------------------------------

WORKER_CRASHED_MESSAGE = (
    "The import stopped the worker running it {attempts} times (the process was killed, most often for running out "
    "of memory), so it was not tried again. The file is unusual: save the columns to import as .csv, or split the "
    "file, and upload it again."
)


def stalled(cutoff: dt.datetime) -> Q:
    """Running, with no heartbeat since `cutoff` (or none at all since it started before then)."""
    return Q(status=ImportStatus.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def requeue(job_id: int, cutoff: dt.datetime) -> bool:
    """Running with a stale heartbeat and runs left → queued, lease dropped.

    Concurrency: one conditional UPDATE; of several sweeps only the first matches (the job is no longer running),
    and a worker whose lease is dropped stops at its next batch (`LeaseLost`)."""
    attempts_left = Q(attempts__lt=settings.IMPORT_MAX_ATTEMPTS)
    return bool(
        ImportJob.objects.filter(stalled(cutoff), attempts_left, pk=job_id)
        .exclude(wrote_nothing())
        .update(status=ImportStatus.QUEUED, worker_token="")
    )


def give_up(job_id: int, attempts: int, cutoff: dt.datetime) -> bool:
    """Running with a stale heartbeat after IMPORT_MAX_ATTEMPTS runs → failed, `worker_crashed`, lease dropped.

    Concurrency: one conditional UPDATE with the same condition as `requeue` but the opposite attempt count, so a job
    is either requeued or ended, once, whichever sweeps run; a claim cannot race it (claims need `queued`)."""
    return bool(
        ImportJob.objects.filter(stalled(cutoff), pk=job_id, attempts__gte=settings.IMPORT_MAX_ATTEMPTS)
        .exclude(wrote_nothing())
        .update(
            status=ImportStatus.FAILED,
            error_code="worker_crashed",
            error_message=WORKER_CRASHED_MESSAGE.format(attempts=attempts),
            finished_at=timezone.now(),
            worker_token="",
        )
    )
