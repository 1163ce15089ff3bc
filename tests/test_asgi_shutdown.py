"""A worker told to stop (a deploy: SIGTERM from the platform, passed on by bin/start) stops its import between two
batches and puts the job back in the queue, not counted as an attempt, so the next worker resumes it at once after
its checkpoint."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from primepre.customers.models import Customer
from primepre.imports import tasks
from primepre.imports.jobs import create_job
from primepre.imports.models import ImportJob, ImportStatus
from primepre.imports.services import store_file

from .imports.helpers import HEADER, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


class StopAfter:
    """Stands in for the worker's stop flag: set from the `calls`-th look on (the looks come between batches)."""

    def __init__(self, calls: int) -> None:
        self.calls, self.seen = calls, 0

    def is_set(self) -> bool:
        self.seen += 1
        return self.seen >= self.calls


def _job(tmp_path: Path, rows: int) -> ImportJob:
    lines = [[f"PM{n} X", "Ama", "Owusu", f"024{n:07d}", "", "", ""] for n in range(1, rows + 1)]
    path = write_csv(tmp_path / "customers.csv", HEADER, lines)
    return create_job(store_file(path), file_name=path.name, mode="create")


def test_a_stopping_worker_hands_the_job_back_after_a_checkpoint(tmp_path, settings, monkeypatch) -> None:
    settings.IMPORT_BATCH_SIZE = 2
    job = _job(tmp_path, 6)
    queued: list[int] = []
    task = tasks.run_import_job
    monkeypatch.setattr(tasks, "run_import_job", type("Queue", (), {"enqueue": staticmethod(queued.append)}))
    monkeypatch.setattr(tasks, "_stop_requested", StopAfter(calls=2))  # stop before the second batch

    task.call(job.pk)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.worker_token) == (ImportStatus.QUEUED, 0, "")
    assert job.checkpoint_row > 0 and Customer.objects.count() == 2
    assert queued == [job.pk]  # the next worker takes it at once

    monkeypatch.setattr(tasks, "_stop_requested", StopAfter(calls=10**9))
    task.call(job.pk)  # the next worker: resumes after the checkpoint
    job.refresh_from_db()
    assert (job.status, job.created, job.attempts) == (ImportStatus.SUCCEEDED, 6, 1)
    assert Customer.objects.count() == 6


def test_sigterm_during_an_import_reaches_the_workers_own_handler_too(monkeypatch) -> None:
    """django-tasks-db's handler (stop after the task) still runs; the import's flag is set on the way."""
    monkeypatch.setattr(tasks, "_stop_requested", flag := type(tasks._stop_requested)())
    received: list[int] = []

    def workers_handler(signum: int, frame: Any) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, workers_handler)
    try:
        with tasks._stop_between_batches_on_signal():
            os.kill(os.getpid(), signal.SIGTERM)
        assert flag.is_set() and received == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is workers_handler  # put back once the import is over
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_process_without_a_handler_of_its_own_is_left_alone(monkeypatch) -> None:
    monkeypatch.setattr(tasks, "_stop_requested", type(tasks._stop_requested)())
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with tasks._stop_between_batches_on_signal():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
