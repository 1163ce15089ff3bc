"""Workbooks of several sheets: the first sheet whose header maps is imported without asking, the review lists the
sheets to choose another, and a file-level error about a sheet names the workbook's sheets."""

from __future__ import annotations

from pathlib import Path

import pytest

from primepre.customers.models import Customer
from primepre.imports import jobs
from primepre.imports.readers import list_sheets

from .helpers import FILES, run_import
from .mapping_helpers import CUSTOMERS, INSTRUCTIONS, instructions_then_customers, write_ods_sheets, write_xlsx_sheets

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("file_format", ["xlsx", "xlsx-stream", "ods", "xls"])
def test_the_customer_sheet_is_imported_without_asking(tmp_path: Path, settings, file_format: str) -> None:
    if file_format == "xlsx-stream":
        settings.IMPORT_STREAMING_THRESHOLD_BYTES = 0
    path = instructions_then_customers(tmp_path, file_format.removesuffix("-stream"))
    job = run_import(path)
    assert (job.status, job.sheet_name, job.created, job.failed) == ("succeeded", "Customers", 2, 0), job.error_message
    assert job.options["sheet_auto"] is True
    assert [sheet["name"] for sheet in job.column_mapping["sheets"]] == ["Instructions", "Customers"]
    assert set(Customer.objects.values_list("shipping_mark", flat=True)) == {"PM21 AMA", "PM22 YAW"}


def test_the_sheet_picked_is_kept_for_the_confirm(tmp_path: Path, admin_user, django_capture_on_commit_callbacks):
    path = instructions_then_customers(tmp_path, "xlsx")
    job = run_import(path, dry_run=True, user=admin_user)
    assert (job.status, job.sheet_name, job.options["sheet"]) == ("previewed", "Customers", "Customers")
    with django_capture_on_commit_callbacks(execute=True):  # the run is queued when the transaction commits
        jobs.confirm(job, admin_user)
    job.refresh_from_db()
    assert (job.status, job.sheet_name, job.created) == ("succeeded", "Customers", 2)


def test_a_first_sheet_that_maps_is_still_the_one_imported(tmp_path: Path) -> None:
    other = [["Mark", "First Name", "Last Name", "Phone"], ["PM30 KOFI", "Kofi", "Mensah", "0241111111"]]
    path = write_xlsx_sheets(tmp_path / "two.xlsx", [("Customers", CUSTOMERS), ("More", other)])
    job = run_import(path)
    assert (job.sheet_name, job.created, "sheet_auto" in job.options) == ("Customers", 2, False)


def test_an_empty_first_sheet_is_passed_over_by_the_streaming_reader_too(tmp_path: Path, settings) -> None:
    settings.IMPORT_STREAMING_THRESHOLD_BYTES = 0
    path = write_xlsx_sheets(tmp_path / "blank.xlsx", [("Sheet1", []), ("Clients", CUSTOMERS)])
    job = run_import(path)
    assert (job.status, job.sheet_name, job.created) == ("succeeded", "Clients", 2)


def test_a_sheet_the_user_named_is_never_swapped(tmp_path: Path) -> None:
    path = instructions_then_customers(tmp_path, "xlsx")
    job = run_import(path, sheet="Instructions")
    assert (job.status, job.sheet_name) == ("needs_mapping", "Instructions")
    assert "sheets: Instructions, Customers" in job.error_message


@pytest.mark.parametrize("file_format", ["xlsx", "ods"])
def test_when_no_sheet_maps_the_message_names_them_and_the_first_is_offered(tmp_path: Path, file_format: str) -> None:
    notes = [["Notes"], ["Nothing to import here"]]
    sheets = [("Instructions", INSTRUCTIONS), ("Notes", notes)]
    writer = write_ods_sheets if file_format == "ods" else write_xlsx_sheets
    job = run_import(writer(tmp_path / f"none.{file_format}", sheets))
    assert (job.status, job.error_code, job.sheet_name) == ("needs_mapping", "missing_columns", "Instructions")
    assert "No sheet of this workbook has a header we recognise" in job.error_message
    assert "its sheets: Instructions, Notes" in job.error_message
    assert "sheet_auto" not in job.options


def test_no_rows_names_the_sheet_and_the_others(tmp_path: Path) -> None:
    path = write_xlsx_sheets(tmp_path / "empty.xlsx", [("Customers", CUSTOMERS[:1]), ("Other", INSTRUCTIONS)])
    job = run_import(path)
    assert (job.status, job.error_code) == ("failed", "no_rows")
    assert "This is sheet 'Customers'; the workbook's sheets: Customers, Other." in job.error_message


def test_an_unknown_sheet_leaves_the_sheets_to_choose_from(admin_user, django_capture_on_commit_callbacks) -> None:
    job = run_import(FILES / "multi_sheet.xlsx", sheet="Clients", dry_run=True, user=admin_user)
    assert (job.status, job.error_code) == ("failed", "unknown_sheet")
    assert job.column_mapping["sheets"] == [
        {"name": "Notes", "visible": False},
        {"name": "Customers", "visible": True},
        {"name": "Other", "visible": True},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        jobs.remap(job, admin_user, {}, "other")  # the review's select; case as typed
    job.refresh_from_db()
    assert (job.status, job.sheet_name, job.created) == ("previewed", "Other", 1)


def test_list_sheets_per_format(tmp_path: Path) -> None:
    assert [s["name"] for s in list_sheets(instructions_then_customers(tmp_path, "ods"), "ods")] == [
        "Instructions",
        "Customers",
    ]
    assert [s["name"] for s in list_sheets(FILES / "multi_sheet.xlsx", "xlsx")] == ["Notes", "Customers", "Other"]
    assert list_sheets(FILES / "basic_utf8.csv", "csv") == []
    assert list_sheets(FILES / "truncated.xlsx", "xlsx") == []  # the run says what is wrong with it
