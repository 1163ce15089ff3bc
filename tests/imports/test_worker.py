"""Real workers (`manage.py import_worker` subprocesses) on PostgreSQL: they run queued jobs, share the queue, and a
job whose worker is killed with SIGKILL is resumed by another worker with exact counts and no duplicate customer."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from django.db import connection

from primepre.customers.models import Customer
from primepre.imports.jobs import create_job
from primepre.imports.models import ImportJob
from primepre.imports.services import store_file
from primepre.imports.tasks import run_import_job

from .helpers import HEADER, wait_for, write_csv, write_xlsx

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


def _child(worker: subprocess.Popen) -> psutil.Process:
    """The process running the worker's import (`manage.py run_import`)."""
    found: list[psutil.Process] = []

    def spawned() -> bool:
        found[:] = [p for p in psutil.Process(worker.pid).children() if "run_import" in " ".join(p.cmdline())]
        return bool(found)

    wait_for(spawned, 30, "the worker started no child for the job")
    return found[0]


def _frozen_while_reading(worker: subprocess.Popen, job_id: int) -> psutil.Process:
    """The job's child, stopped (SIGSTOP) after it claimed the job and before it wrote a batch: still reading."""
    child = _child(worker)
    wait_for(lambda: ImportJob.objects.get(pk=job_id).status == "running", 30, "the child never claimed the job")
    child.suspend()
    job = ImportJob.objects.get(pk=job_id)
    assert job.heartbeat_at == job.claimed_at, "the child wrote a batch before it could be frozen: use a bigger file"
    return child


def test_a_file_that_kills_its_reader_fails_its_job_at_once_and_the_worker_lives(
    tmp_path: Path, database_backend, start_worker
) -> None:
    """A reader that aborts (native code failing an allocation: SIGABRT) ends the child alone; the job fails
    `unreadable_file` after one run, naming the file, and the same worker runs the next job."""
    slow = _job(write_xlsx(tmp_path / "poison.xlsx", HEADER, _rows(range(1, 60_001))))
    worker = start_worker("survivor")
    run_import_job.enqueue(slow.pk)
    child = _frozen_while_reading(worker, slow.pk)
    child.send_signal(signal.SIGABRT)
    child.resume()
    wait_for(lambda: ImportJob.objects.get(pk=slow.pk).status == "failed", 20, "the job was not failed")
    slow.refresh_from_db()
    assert (slow.error_code, slow.attempts) == ("unreadable_file", 1)
    assert "“poison.xlsx”" in slow.error_message and "SIGABRT" in slow.error_message
    good = _job(write_csv(tmp_path / "good.csv", HEADER, _rows(range(1, 301))))
    run_import_job.enqueue(good.pk)
    wait_for(lambda: ImportJob.objects.get(pk=good.pk).status == "succeeded", 30, "the queue did not move on")
    assert worker.poll() is None and Customer.objects.count() == 300
    log = worker.log_path.read_text()  # type: ignore[attr-defined]
    assert f"[IMPORT-CHILD-DIED] job={slow.pk}" in log and "outcome=unreadable" in log


def test_a_child_killed_while_writing_is_resumed_at_once_with_exact_counts(
    tmp_path: Path, database_backend, start_worker
) -> None:
    job = _job(write_csv(tmp_path / "big.csv", HEADER, _rows(range(1, 120_001))))
    worker = start_worker("parent")
    run_import_job.enqueue(job.pk)
    child = _child(worker)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).rows_read >= 5000, 60, "the job never started writing")
    child.kill()  # as the kernel's memory killer would
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "succeeded", 90, "the job was not resumed")
    job.refresh_from_db()
    assert (job.rows_read, job.created, job.attempts) == (120_000, 120_000, 2)
    assert Customer.objects.count() == 120_000 and worker.poll() is None
    log = worker.log_path.read_text()  # type: ignore[attr-defined]
    assert "outcome=requeued" in log and f"[IMPORT-RESUME] job={job.pk}" in log


def test_a_stopping_worker_hands_back_a_job_its_child_is_still_reading(
    tmp_path: Path, database_backend, start_worker
) -> None:
    """SIGTERM (a deploy) while the child is opening the file, which it cannot leave between batches: the child is
    stopped, the job queued again with the run not counted, and the next worker imports it whole."""
    job = _job(write_xlsx(tmp_path / "slow.xlsx", HEADER, _rows(range(1, 60_001))))
    first = start_worker("first")
    run_import_job.enqueue(job.pk)
    child = _frozen_while_reading(first, job.pk)
    first.send_signal(signal.SIGTERM)
    assert first.wait(timeout=20) == 0
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("queued", 0)
    start_worker("second")
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == "succeeded", 90, "the job was not run again")
    assert Customer.objects.count() == 60_000
