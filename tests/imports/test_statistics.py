"""The planner's statistics after a large import (primepre/imports/statistics.py): autovacuum's rule, applied at once,
to the columns the lists filter and sort on."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from primepre.customers.models import Customer
from primepre.imports.statistics import SAMPLE_STATISTICS_TARGET, needs_analyze, refresh_statistics

from .helpers import HEADER, run_import, write_csv

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("written", "rows_before", "expected"),
    [
        (0, -1, False),  # nothing written: nothing to learn
        (1, -1, True),  # never analysed: any write is news
        (51, 0, True),  # an empty table filled: autovacuum's 50-row threshold
        (50, 0, False),
        (10_051, 100_000, True),  # 50 + 10% of the table
        (10_050, 100_000, False),
    ],
)
def test_autovacuums_rule(written: int, rows_before: float, expected: bool) -> None:
    assert needs_analyze(written, rows_before) is expected


def _analysed_columns(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT attname FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s", [table])
        return {name for (name,) in cursor.fetchall()}


def _rows(first: int, count: int) -> list[list[str]]:
    return [
        [f"PM{n}", "Kofi", f"Mensah{n}", f"024{n:07d}", "", "AA" if n % 3 else "AH", ""] for n in range(first, count)
    ]


def test_a_large_import_is_analysed_at_once_on_postgresql(tmp_path: Path) -> None:
    """The import's own columns only (region, type, dates, last name), never the search text: the sample of those
    would cost several times as much and plans nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite plans these lists from its indexes; nothing is analysed there")
    table = Customer._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")  # the empty table, analysed: reltuples 0, statistics of no column
    assert _analysed_columns(table) == set()

    job = run_import(write_csv(tmp_path / "many.csv", HEADER, _rows(1, 200)))

    assert job.created == 199
    assert _analysed_columns(table) == {"region", "customer_type", "created_at", "last_name", "import_job_id"}
    with connection.cursor() as cursor:  # a first estimate: the small sample's histogram (11 bounds), not 101
        cursor.execute(
            "SELECT cardinality(histogram_bounds::text::text[]) FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = %s AND attname = 'last_name'",
            [table],
        )
        assert cursor.fetchone()[0] == SAMPLE_STATISTICS_TARGET + 1


def test_a_small_write_into_a_large_table_is_left_to_autovacuum(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    run_import(write_csv(tmp_path / "many.csv", HEADER, _rows(1, 600)))  # analysed: 599 rows
    assert refresh_statistics(Customer, ("region",), written=59) is False  # ≤ 50 + 10% of 599
    assert refresh_statistics(Customer, ("region",), written=110) is True


def test_nothing_is_analysed_on_sqlite() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    assert refresh_statistics(Customer, ("region",), written=1_000_000) is False
