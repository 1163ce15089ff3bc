"""Two imports of overlapping files at the same time: no duplicate customer, no crash, every row accounted for."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection

from primepre.customers.models import Customer
from primepre.imports.jobs import create_job
from primepre.imports.models import ImportJob
from primepre.imports.services import execute_job, store_file

from .helpers import HEADER, write_csv

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite serialises writers; the race exists on PostgreSQL"
    ),
]


def _rows(numbers: range) -> list[list[str]]:
    return [[f"PM{n} X", "Ama", f"Owusu{n}", f"020{n:07d}", f"c{n}@example.com", "", ""] for n in numbers]


@pytest.mark.parametrize("mode", ["create", "upsert"])
def test_overlapping_imports_in_parallel(tmp_path: Path, mode: str) -> None:
    first = write_csv(tmp_path / "a.csv", HEADER, _rows(range(1, 3001)))
    second = write_csv(tmp_path / "b.csv", HEADER, list(reversed(_rows(range(1501, 4501)))))
    jobs = [create_job(store_file(path), file_name=path.name, mode=mode) for path in (first, second)]
    barrier = threading.Barrier(2)
    crashes: list[BaseException] = []

    def run(job: ImportJob) -> None:
        try:
            barrier.wait()
            execute_job(job, batch_size=250)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            crashes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert crashes == []
    for job in jobs:
        job.refresh_from_db()
        assert job.status == "succeeded"
        assert job.rows_read == 3000
        assert job.rows_read == job.created + job.updated + job.unchanged + job.failed
    assert Customer.objects.count() == 4500
    assert sum(job.created for job in jobs) == 4500
    overlap_outcomes = sum(job.failed + job.updated + job.unchanged for job in jobs)
    assert overlap_outcomes == 1500  # each of the 1,500 shared rows was created once, and met once as existing
    assert Customer.objects.values("phone").distinct().count() == 4500
