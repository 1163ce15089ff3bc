"""The fixture sheets tell the truth: every planted bad row fails, every other row imports, the same seed writes the
same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from primepre.customers.models import Customer

from .imports.helpers import errors_by_row, run_import
from .sheets import customer_rows, write_customer_sheet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_planted_bad_rows_are_exactly_the_failed_rows(tmp_path: Path, suffix: str) -> None:
    sheet = write_customer_sheet(tmp_path / f"customers{suffix}", 600, seed=5, bad_fraction=0.05)
    assert sheet.bad_rows > 10 and set(sheet.bad) == {
        "invalid_phone", "missing_last_name", "invalid_email", "duplicate_phone", "duplicate_mark", "bad_region",
    }  # fmt: skip
    job = run_import(sheet.path)
    assert (job.status, job.rows_read, job.failed) == ("succeeded", 600, sheet.bad_rows)
    assert Customer.objects.count() == 600 - sheet.bad_rows
    assert all(len(codes) == 1 for codes in errors_by_row(job).values())  # one defect each


def test_the_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    first = write_customer_sheet(tmp_path / "a.xlsx", 200, seed=3).path.read_bytes()
    assert write_customer_sheet(tmp_path / "b.xlsx", 200, seed=3).path.read_bytes() == first
    assert customer_rows(50, seed=3) != customer_rows(50, seed=4)
