"""Background entry points for import jobs (Django's tasks API: the database backend by default, RQ to scale out):
thin wrappers, the job's state changes are `jobs` transitions and the run is `services.execute_job`.

The task carries only the job id: the file is in storage and the job row holds everything else, so any worker on any
machine can run or resume it. A worker that dies mid-job stops sending heartbeats; `recover_stalled_jobs` (run by
every worker, see the `import_worker` command) queues such jobs again and they resume after their checkpoint.

A worker told to stop (SIGTERM from a deploy or from bin/start, SIGINT) stops its import between two batches, once the
last one's checkpoint has committed, and puts the job back in the queue (`jobs.release`): the next worker resumes it
at once. That takes a batch's time (well under a second); a worker killed outright (SIGKILL, out of memory) is the
stalled-job sweep's case.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from primepre.common.log_context import log_context

from . import isolation, jobs
from .models import ImportJob, ImportStatus
from .services import execute_job

logger = logging.getLogger("primepre.imports")


class WorkerStopping(BaseException):
    """Raised between two batches once the worker was told to stop. A BaseException, so that no handler of failed
    imports takes it for one: the job did not fail, it is handed back to the queue."""


_stop_requested = threading.Event()


@task()
def run_import_job(job_id: int) -> None:
    """In the import worker, the job runs in a child process (`isolation`); anywhere else (the CLI, the tests' immediate
    backend, a child), here."""
    if not isolation.enabled():
        run_job_here(job_id)
        return
    with _stop_between_batches_on_signal():
        outcome = isolation.run_in_child(job_id, _stop_requested)
    if outcome in ("released", "requeued"):
        run_import_job.enqueue(job_id)


def request_stop() -> None:
    """Stop the running import after its current batch (the child's SIGTERM handler)."""
    _stop_requested.set()


def run_job_here(job_id: int, lease: str | None = None) -> None:
    """Run the job in this process; `lease`: the worker that started this process chose the run's lease."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("[IMPORT-FAIL] job=%s reason=no such job", job_id)
        return

    def should_stop() -> bool:
        if _stop_requested.is_set():
            raise WorkerStopping()
        return ImportJob.objects.filter(pk=job_id, status=ImportStatus.CANCELLED).exists()

    with log_context(f"job-{job_id}"), _stop_between_batches_on_signal():
        try:
            execute_job(job, should_stop=should_stop, lease=lease)
        except WorkerStopping:
            if jobs.release(job):
                logger.info(
                    "[IMPORT-PAUSED] job=%s rows=%s reason=the worker is stopping; queued again, resumes after row %s",
                    job.pk,
                    job.rows_read,
                    job.checkpoint_row,
                )
                run_import_job.enqueue(job.pk)


@contextlib.contextmanager
def _stop_between_batches_on_signal() -> Iterator[None]:
    """While an import runs in a worker's main thread: SIGTERM and SIGINT also ask it to stop after the current batch,
    then reach the worker's own handler (django-tasks-db's stops after the task). A process with no handler of its
    own (the default action: end now) is left as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}

    def handler(signum: int, frame: Any) -> None:
        _stop_requested.set()
        previous[signum](signum, frame)  # type: ignore[operator] - only callables are chained below

    # Python's own SIGINT handler raises KeyboardInterrupt, which ends the import at once anyway.
    chained = [signum for signum, old in previous.items() if callable(old) and old is not signal.default_int_handler]
    for signum in chained:
        signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum in chained:
            signal.signal(signum, previous[signum])


def queue_job(job: ImportJob) -> None:
    """Enqueue the job once the transaction that created or changed it has committed (a worker must see it)."""
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))


def recover_stalled_jobs(stale_after: dt.timedelta | None = None) -> list[int]:
    """Queue again the jobs whose worker stopped sending heartbeats (killed, out of memory, machine gone) while
    writing; end as `failed` (`worker_crashed`) those already run IMPORT_MAX_ATTEMPTS times, so a file that kills
    every worker that reads it cannot hold the queue for ever; and end at once as `unreadable_file` those whose run
    died before writing its first batch (opening and reading the file: trying again would only die again). Returns
    the ids queued again.

    Safe to run from every worker at once: each job is moved by `jobs.requeue` or `jobs.give_up`, one conditional
    UPDATE each that requires it still running with a stale heartbeat, so exactly one sweep requeues or ends it.
    """
    stale_after = stale_after or dt.timedelta(seconds=settings.IMPORT_HEARTBEAT_TIMEOUT_SECONDS)
    cutoff = timezone.now() - stale_after
    recovered = []
    for job in ImportJob.objects.filter(jobs.stalled(cutoff)).only("pk", "attempts"):
        if jobs.fail_unreadable(job.pk, "its worker stopped while reading it", cutoff=cutoff):
            logger.error("[IMPORT-FAIL] job=%s code=unreadable_file reason=its worker died reading the file", job.pk)
        elif job.attempts >= settings.IMPORT_MAX_ATTEMPTS:
            if jobs.give_up(job.pk, job.attempts, cutoff):
                logger.error(
                    "[IMPORT-FAIL] job=%s code=worker_crashed attempts=%s reason=its worker died on every run",
                    job.pk,
                    job.attempts,
                )
        elif jobs.requeue(job.pk, cutoff):
            logger.warning("[IMPORT-RESUME] job=%s reason=worker stopped sending heartbeats; queued again", job.pk)
            run_import_job.enqueue(job.pk)
            recovered.append(job.pk)
    return recovered
