"""Background entry points for import jobs (Django's tasks API: the database backend by default, RQ to scale out):
thin wrappers, the job's state changes are `jobs` transitions and the run is `services.execute_job`.

The task carries only the job id: the file is in storage and the job row holds everything else, so any worker on any
machine can run or resume it. A worker that dies mid-job stops sending heartbeats; `recover_stalled_jobs` (run by
every worker, see the `import_worker` command) queues such jobs again and they resume after their checkpoint.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from primepre.common.log_context import log_context

from . import jobs
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

    Safe to run from every worker at once: each job is moved by `jobs.requeue` or `jobs.give_up`, one conditional
    UPDATE each that requires it still running with a stale heartbeat, so exactly one sweep requeues or ends it.
    """
    stale_after = stale_after or dt.timedelta(seconds=settings.IMPORT_HEARTBEAT_TIMEOUT_SECONDS)
    cutoff = timezone.now() - stale_after
    recovered = []
    for job in ImportJob.objects.filter(jobs.stalled(cutoff)).only("pk", "attempts"):
        if job.attempts >= settings.IMPORT_MAX_ATTEMPTS:
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
