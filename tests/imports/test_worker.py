"""Real workers (`manage.py import_worker` subprocesses) on PostgreSQL: they run queued jobs, share the queue, and a
job whose worker is killed with SIGKILL is resumed by another worker with exact counts and no duplicate customer."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from primepre.customers.models import Customer
from primepre.imports.jobs import create_job
from primepre.imports.models import ImportJob
from primepre.imports.services import store_file
from primepre.imports.tasks import run_import_job

from ..sheets import write_far_ods
from .helpers import HEADER, wait_for, write_csv

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="worker processes share a PostgreSQL database"),
]


def _job(path: Path) -> ImportJob:
    return create_job(store_file(path), file_name=path.name)


def _rows(numbers: range) -> list[list[str]]:
    return [[f"PM{n} W", "Ama", f"Owusu{n}", f"020{n:07d}", "", "", ""] for n in numbers]


def test_a_worker_runs_a_queued_job(tmp_path: Path, database_backend, start_worker) -> None:
    job = _job(write_csv(tmp_path / "small.csv", HEADER, _rows(range(1, 501))))
    start_worker("solo")
    run_import_job.enqueue(job.pk)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "succeeded", 60, "the job did not finish")
    job.refresh_from_db()
    assert (job.rows_read, job.created) == (500, 500)


def test_a_killed_worker_s_job_is_resumed_by_another(tmp_path: Path, database_backend, start_worker) -> None:
    rows = _rows(range(1, 120_001))
    rows[100_000] = rows[10]  # a duplicate of a row committed before the kill: still caught after the resume
    job = _job(write_csv(tmp_path / "big.csv", HEADER, rows))
    first = start_worker("first")
    run_import_job.enqueue(job.pk)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).rows_read >= 5000, 60, "the job never started")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    killed = ImportJob.objects.get(pk=job.pk)
    assert killed.status == "running" and killed.rows_read < 120_000
    assert Customer.objects.count() == killed.created  # the batch in flight was rolled back with the process

    second = start_worker("second", heartbeat_timeout=2)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "succeeded", 90, "the job was not resumed")
    job.refresh_from_db()
    assert job.rows_read == 120_000
    assert (job.created, job.failed) == (119_999, 1)
    assert job.rows_read == job.created + job.updated + job.unchanged + job.failed
    assert Customer.objects.count() == 119_999
    assert job.row_errors.get().errors[0]["code"] == "duplicate_in_file"
    log = second.log_path.read_text()  # type: ignore[attr-defined]
    assert f"[IMPORT-RESUME] job={job.pk}" in log


def test_two_workers_share_the_queue(tmp_path: Path, database_backend, start_worker) -> None:
    jobs = [
        _job(write_csv(tmp_path / "a.csv", HEADER, _rows(range(1, 40_001)))),
        _job(write_csv(tmp_path / "b.csv", HEADER, _rows(range(40_001, 80_001)))),
    ]
    workers = [start_worker("left"), start_worker("right")]
    for job in jobs:
        run_import_job.enqueue(job.pk)
    wait_for(
        lambda: all(ImportJob.objects.get(pk=job.pk).status == "succeeded" for job in jobs), 90, "jobs did not finish"
    )
    assert Customer.objects.count() == 80_000
    starts = [worker.log_path.read_text().count("[IMPORT-START]") for worker in workers]  # type: ignore[attr-defined]
    assert starts == [1, 1]  # one job each, at the same time


def test_the_redis_rq_backend_runs_imports_too(tmp_path: Path, settings, start_worker) -> None:
    import redis

    redis_url = "redis://127.0.0.1:6379/15"
    redis.Redis.from_url(redis_url).flushdb()
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "django_rq", "django_tasks_rq"]
    settings.RQ_QUEUES = {"default": {"URL": redis_url}}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    job = _job(write_csv(tmp_path / "rq.csv", HEADER, _rows(range(1, 2001))))
    run_import_job.enqueue(job.pk)
    start_worker("rq", backend="rq", redis_url=redis_url, ready="Listening on")
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "succeeded", 60, "the RQ worker did not run the job")
    assert Customer.objects.count() == 2000


def _wait_until_stale(job_id: int, seconds: float = 1.5) -> None:
    heartbeat = ImportJob.objects.get(pk=job_id).heartbeat_at
    time.sleep(max(0.0, seconds - (timezone.now() - heartbeat).total_seconds()))


def test_a_job_that_kills_its_worker_is_tried_three_times_then_failed(
    tmp_path: Path, database_backend, start_worker, monkeypatch
) -> None:
    monkeypatch.setenv("IMPORT_MAX_RSS_MB", "200")  # the workers' RLIMIT_DATA: what they hold at start + 250 MB
    monkeypatch.setenv("IMPORT_MAX_ATTEMPTS", "3")
    poison = _job(write_far_ods(tmp_path / "poison.ods"))
    run_import_job.enqueue(poison.pk)
    for attempt in (1, 2, 3):
        worker = start_worker(f"victim-{attempt}", heartbeat_timeout=1)
        assert worker.wait(timeout=60) == -signal.SIGABRT
        assert ImportJob.objects.get(pk=poison.pk).attempts == attempt
        _wait_until_stale(poison.pk)  # the next worker's start-up sweep then requeues (or ends) the job
    survivor = start_worker("survivor", heartbeat_timeout=1)
    wait_for(lambda: ImportJob.objects.get(pk=poison.pk).status == "failed", 20, "the poison job was not ended")
    poison.refresh_from_db()
    assert (poison.error_code, poison.attempts) == ("worker_crashed", 3)
    good = _job(write_csv(tmp_path / "good.csv", HEADER, _rows(range(1, 301))))
    run_import_job.enqueue(good.pk)
    wait_for(lambda: ImportJob.objects.get(pk=good.pk).status == "succeeded", 30, "the queue did not move on")
    assert survivor.poll() is None  # the worker that ended the job is still running
    assert Customer.objects.count() == 300
    log = survivor.log_path.read_text()  # type: ignore[attr-defined]
    assert f"[IMPORT-FAIL] job={poison.pk} code=worker_crashed attempts=3" in log
