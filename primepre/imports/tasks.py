"""Background entry points for import jobs (Django's tasks API: the database backend by default, RQ to scale out).

The task carries only the job id: the file is in storage and the job row holds everything else, so any worker on any
machine can run or resume it. A worker that dies mid-job stops sending heartbeats; `recover_stalled_jobs` (run by
every worker, see the `import_worker` command) queues such jobs again and they resume after their checkpoint.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from primepre.common.log_context import log_context

from .models import ImportJob, ImportStatus
from .services import execute_job

logger = logging.getLogger("primepre.imports")


@task()
def run_import_job(job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        logger.warning("[IMPORT-FAIL] job=%s reason=no such job", job_id)
        return

    def cancelled() -> bool:
        return ImportJob.objects.filter(pk=job_id, status=ImportStatus.CANCELLED).exists()

    with log_context(f"job-{job_id}"):
        execute_job(job, should_stop=cancelled)


def queue_job(job: ImportJob) -> None:
    """Enqueue the job once the transaction that created or changed it has committed (a worker must see it)."""
    transaction.on_commit(lambda: run_import_job.enqueue(job.pk))


def recover_stalled_jobs(stale_after: dt.timedelta | None = None) -> list[int]:
    """Queue again the jobs whose worker stopped sending heartbeats (killed, out of memory, machine gone); end as
    `failed` (`worker_crashed`) those already run IMPORT_MAX_ATTEMPTS times, so a file that kills every worker that
    reads it cannot hold the queue for ever. Returns the ids queued again.

    Safe to run from every worker at once: each job is moved by one conditional UPDATE that requires it still running
    with a stale heartbeat, so exactly one sweep requeues or ends it.
    """
    stale_after = stale_after or dt.timedelta(seconds=settings.IMPORT_HEARTBEAT_TIMEOUT_SECONDS)
    cutoff = timezone.now() - stale_after
    recovered = []
    for job in ImportJob.objects.filter(_stalled(cutoff)).only("pk", "attempts"):
        if job.attempts >= settings.IMPORT_MAX_ATTEMPTS:
            if _give_up(job.pk, job.attempts, cutoff):
                logger.error(
                    "[IMPORT-FAIL] job=%s code=worker_crashed attempts=%s reason=its worker died on every run",
                    job.pk,
                    job.attempts,
                )
        elif _requeue(job.pk, cutoff):
            logger.warning("[IMPORT-RESUME] job=%s reason=worker stopped sending heartbeats; queued again", job.pk)
            run_import_job.enqueue(job.pk)
            recovered.append(job.pk)
    return recovered


def _stalled(cutoff: dt.datetime) -> Q:
    return Q(status=ImportStatus.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def _requeue(job_id: int, cutoff: dt.datetime) -> bool:
    """Running with a stale heartbeat and runs left → queued, lease dropped.

    Concurrency: one conditional UPDATE; of several sweeps only the first matches (the job is no longer running),
    and a worker whose lease is dropped stops at its next batch (`LeaseLost`)."""
    attempts_left = Q(attempts__lt=settings.IMPORT_MAX_ATTEMPTS)
    return bool(
        ImportJob.objects.filter(_stalled(cutoff), attempts_left, pk=job_id).update(
            status=ImportStatus.QUEUED, worker_token=""
        )
    )


WORKER_CRASHED_MESSAGE = (
    "The import stopped the worker running it {attempts} times (the process was killed, most often for running out "
    "of memory), so it was not tried again. The file is unusual: save the customer columns as .csv, or split the "
    "file, and upload it again."
)


def _give_up(job_id: int, attempts: int, cutoff: dt.datetime) -> bool:
    """Running with a stale heartbeat after IMPORT_MAX_ATTEMPTS runs → failed, `worker_crashed`, lease dropped.

    Concurrency: one conditional UPDATE with the same condition as `_requeue` but the opposite attempt count, so a job
    is either requeued or ended, once, whichever sweeps run; a claim cannot race it (claims need `queued`)."""
    return bool(
        ImportJob.objects.filter(_stalled(cutoff), pk=job_id, attempts__gte=settings.IMPORT_MAX_ATTEMPTS).update(
            status=ImportStatus.FAILED,
            error_code="worker_crashed",
            error_message=WORKER_CRASHED_MESSAGE.format(attempts=attempts),
            finished_at=timezone.now(),
            worker_token="",
        )
    )
