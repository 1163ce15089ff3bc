"""Who may do what to an import job, and the state changes people make to one (confirm, remap, cancel, undo).

The rules live here once, for the API, the pages and the CLI alike:
- submitting needs the import permission plus the permission of every side effect the options ask for (upsert changes
  customers: `change_customer`; a welcome SMS sends messages: `send_sms`);
- acting on a job is for the user who started it, or for holders of `imports.manage_all_imports`; anyone with the
  import permission may read every job (the history is shared);
- confirm and remap run the job's side effects under the acting user, so they need those permissions too; undo
  deletes and changes customers, so it needs `delete_customer` and `change_customer`.

A `user` of None is the system itself (the CLI run by an operator, the worker): no role applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import ImportJob, ImportMode, ImportStatus
from .tasks import queue_job
from .undo import UndoRefused, UndoResult, undo_job

IMPORT_PERMISSION = "customers.import_customers"
MANAGE_ALL_PERMISSION = "imports.manage_all_imports"
UNDO_PERMISSIONS = ("customers.delete_customer", "customers.change_customer")
REMAPPABLE = (ImportStatus.PREVIEWED, ImportStatus.FAILED)


class JobRefused(Exception):
    """An action the user may not take (403) or the job's state does not allow (409), with a stable code."""

    def __init__(self, code: str, message: str, http_status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


def _denied(message: str) -> JobRefused:
    return JobRefused("permission_denied", message, 403)


def side_effect_permissions(mode: str, options: Mapping[str, Any]) -> dict[str, str]:
    """The permissions the job's options need beyond importing, each with the option that needs it."""
    needed = {}
    if mode == ImportMode.UPSERT:
        needed["customers.change_customer"] = "Updating existing customers (mode upsert)"
    if options.get("send_welcome_sms"):
        needed["customers.send_sms"] = "Sending welcome SMS"
    return needed


def authorize_submit(user: Any, mode: str, options: Mapping[str, Any]) -> None:
    """Refuse (403) a job whose options cause a side effect the user may not cause. Checked before anything is stored
    or queued, and again when the job is confirmed or remapped (permissions can be taken away in between)."""
    if user is None:
        return
    if not user.has_perm(IMPORT_PERMISSION):
        raise _denied("You do not have permission to import customers.")
    for permission, what in side_effect_permissions(mode, options).items():
        if not user.has_perm(permission):
            raise _denied(f"{what} needs the permission {permission}, which your role does not have.")


def may_manage(user: Any, job: ImportJob) -> bool:
    """Whether `user` may confirm, remap, cancel or undo `job` (its permissions for the side effects aside)."""
    if user is None:
        return True
    owner = job.created_by_id is not None and job.created_by_id == user.pk
    return owner or user.has_perm(MANAGE_ALL_PERMISSION)


def may_undo(user: Any, job: ImportJob) -> bool:
    return may_manage(user, job) and (user is None or user.has_perms(UNDO_PERMISSIONS))


def _authorize_action(user: Any, job: ImportJob, verb: str) -> None:
    if not may_manage(user, job):
        raise _denied(f"Only the user who started import #{job.pk}, or an administrator, may {verb} it.")


def confirm(job: ImportJob, user: Any) -> None:
    """Run a previewed job for real, from row 1.

    Concurrency: one conditional UPDATE (status previewed and dry run → queued); of two confirms only one matches, so
    the job is queued once."""
    _authorize_action(user, job, "confirm")
    authorize_submit(user, job.mode, job.options)
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PREVIEWED, dry_run=True).update(
        status=ImportStatus.QUEUED, dry_run=False, checkpoint_row=0, worker_token="", attempts=0
    )
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise JobRefused(
            "not_previewed", f"Import #{job.pk} is {job.status}; only a previewed import can be confirmed.", 409
        )
    queue_job(job)


def remap(job: ImportJob, user: Any, columns: Mapping[str, str | None]) -> None:
    """Preview the job again with the user's column choices (`field → header`; None drops a field).

    Concurrency: one conditional UPDATE from a state where no worker holds the job (previewed or failed) back to a
    queued preview; a remap racing a confirm loses to it (the confirm moved the job out of `previewed`)."""
    _authorize_action(user, job, "change the columns of")
    authorize_submit(user, job.mode, job.options)
    options = {**job.options, "columns": dict(columns)}
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
    queue_job(job)


def cancel(job: ImportJob, user: Any) -> None:
    """Stop a job between batches (what is committed stays).

    Concurrency: one conditional UPDATE from a live or previewed state; a job that ended meanwhile (or was undone)
    is left as it is and the caller gets 409."""
    _authorize_action(user, job, "cancel")
    updated = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.PREVIEWED]
    ).update(status=ImportStatus.CANCELLED)
    if not updated:
        job.refresh_from_db(fields=["status"])
        raise JobRefused("not_cancellable", f"Import #{job.pk} is {job.status}; it cannot be cancelled.", 409)


def undo(job: ImportJob, user: Any) -> UndoResult:
    """Delete what the job created and restore what it changed (see `undo.undo_job` for its locking)."""
    _authorize_action(user, job, "undo")
    if user is not None and not user.has_perms(UNDO_PERMISSIONS):
        raise _denied("Undoing an import deletes and changes customers; your role may not do that.")
    try:
        return undo_job(job, user)
    except UndoRefused as exc:
        raise JobRefused(exc.code, exc.message, 409) from exc
