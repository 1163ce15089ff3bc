"""Run imports in tests through the same functions the CLI, the tasks and the API use."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from primepre.imports.jobs import create_job
from primepre.imports.models import ImportJob
from primepre.imports.services import execute_job, store_file

FILES = Path(__file__).parent / "files"


def run_import(
    path: Path, *, mode: str = "create", dry_run: bool = False, user: Any = None, **options: Any
) -> ImportJob:
    stored = store_file(path)
    job = create_job(stored, file_name=path.name, user=user, mode=mode, dry_run=dry_run, options=options)
    return execute_job(job, batch_size=options.pop("batch_size", None))


def assert_reconciles(job: ImportJob) -> None:
    job.refresh_from_db()
    assert job.rows_read == job.created + job.updated + job.unchanged + job.failed
    assert job.row_errors.count() == job.failed


def errors_by_row(job: ImportJob) -> dict[int, set[tuple[str, str]]]:
    """{row: {(field, code)}}"""
    return {
        error.row_number: {(item["field"], item["code"]) for item in error.errors} for error in job.row_errors.all()
    }


HEADER = ["Shipping Mark", "First Name", "Last Name", "Phone", "Email", "Region", "Company"]


def write_csv(path: Path, header: list[str] | None, rows: list[list[Any]]) -> Path:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str] | None, rows: list[list[Any]]) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Customers")
    offset = 0
    if header is not None:
        sheet.write_row(0, 0, header)
        offset = 1
    for index, row in enumerate(rows):
        for column, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(index + offset, column, value)
            elif value is not None:
                sheet.write(index + offset, column, value)
    workbook.close()
    return path


def wait_for(condition: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(message)
