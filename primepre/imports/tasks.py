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
    """Queue again the jobs whose worker stopped sending heartbeats (killed, out of memory, machine gone).

    The conditional UPDATE makes this safe to run from every worker at once: only one of them requeues a job.
    """
    stale_after = stale_after or dt.timedelta(seconds=settings.IMPORT_HEARTBEAT_TIMEOUT_SECONDS)
    cutoff = timezone.now() - stale_after
    recovered = []
    stalled = ImportJob.objects.filter(status=ImportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    for job in stalled.only("pk"):
        claimed = (
            ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
            .update(status=ImportStatus.QUEUED, worker_token="")
        )
        if claimed:
            logger.warning("[IMPORT-RESUME] job=%s reason=worker stopped sending heartbeats; queued again", job.pk)
            run_import_job.enqueue(job.pk)
            recovered.append(job.pk)
    return recovered
