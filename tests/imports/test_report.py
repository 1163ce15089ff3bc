"""The error file: the failed rows as they were, the failing cells marked, fix-and-reupload works."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import python_calamine
import xlsxwriter

from primepre.common.csvsafe import needs_guard
from primepre.customers.models import Customer
from primepre.imports.report import write_error_report

from .helpers import FILES, HEADER, run_import, write_csv

pytestmark = pytest.mark.django_db


def _read_xlsx(path: Path) -> list[list]:
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    return [list(row) for row in workbook.get_sheet_by_name("Errors").iter_rows()]


def test_the_xlsx_report_holds_exactly_the_failed_rows(tmp_path: Path) -> None:
    job = run_import(FILES / "basic.xlsx")
    report = tmp_path / "errors.xlsx"
    write_error_report(job, report)
    rows = _read_xlsx(report)
    assert rows[0] == [
        "Shipping Mark",
        "First Name",
        "Last Name",
        "Email",
        "Phone",
        "Region",
        "Company",
        "Errors",
        "Original row",
    ]
    assert [row[:7] for row in rows[1:]] == [
        ["PM8 KWAME", "Kwame", "", "", "0551234567", "Volta", ""],
        ["PM9 ESI", "Esi", "Addo", "not-an-email", "12345", "Lagos", ""],
    ]
    assert rows[1][7] == "Last Name: Last name is missing."
    assert "Region: 'Lagos' is not one of Ghana's 16 regions." in rows[2][7]
    assert [row[8] for row in rows[1:]] == [6, 7]


def test_fix_the_error_file_and_import_it_again(tmp_path: Path) -> None:
    first = run_import(FILES / "basic.xlsx")
    report = tmp_path / "errors.xlsx"
    write_error_report(first, report)
    rows = _read_xlsx(report)
    # What a user does in Excel: fix the cells the report marks.
    rows[1][2] = "Amoah"
    rows[2][3], rows[2][4], rows[2][5] = "esi@example.com", "0577123456", "Central"
    fixed = tmp_path / "fixed.xlsx"
    workbook = xlsxwriter.Workbook(fixed)
    sheet = workbook.add_worksheet()
    for index, row in enumerate(rows):
        sheet.write_row(index, 0, row)
    workbook.close()
    second = run_import(fixed)
    assert (second.status, second.created, second.failed, second.unknown_columns) == ("succeeded", 2, 0, [])
    assert Customer.objects.count() == 6
    assert Customer.objects.get(shipping_mark="PM9 ESI").phone == "+233577123456"


def test_csv_report_neutralises_formulas_and_round_trips(tmp_path: Path) -> None:
    source = write_csv(
        tmp_path / "in.csv",
        HEADER,
        [["=cmd|' /C calc'!A0", "Ama", "", "+233241234567", "", "", "@SUM(1)"], ["PM2", "-Yaw", "B", "1", "", "", ""]],
    )
    job = run_import(source)
    report = tmp_path / "errors.csv"
    write_error_report(job, report)
    with open(report, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][:7] == ["'=cmd|' /C calc'!A0", "Ama", "", "'+233241234567", "", "", "'@SUM(1)"]
    assert rows[2][1] == "'-Yaw"
    # Fix the missing last name and the bad phone; the apostrophes come off again on import.
    rows[1][2] = "Owusu"
    rows[2][3] = "0209876543"
    with open(tmp_path / "fixed.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    again = run_import(tmp_path / "fixed.csv")
    assert (again.created, again.failed) == (2, 0)
    assert set(Customer.objects.values_list("shipping_mark", "first_name", "company_name")) == {
        ("=cmd|' /C calc'!A0", "Ama", "@SUM(1)"),
        ("PM2", "-Yaw", ""),
    }


def test_xlsx_report_writes_formula_like_cells_as_text(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", HEADER, [["=1+1", "Ama", "", "0241234567", "", "", ""]])
    job = run_import(source)
    report = tmp_path / "errors.xlsx"
    write_error_report(job, report)
    import zipfile

    sheet_xml = zipfile.ZipFile(report).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml  # no formula anywhere
    assert _read_xlsx(report)[1][0] == "=1+1"
    assert 'quotePrefix="1"' in zipfile.ZipFile(report).read("xl/styles.xml").decode()


def test_legacy_template_report_gets_a_header(tmp_path: Path) -> None:
    source = tmp_path / "legacy.csv"
    source.write_text("PM1 A,Ama,Owusu,,0241234567\nPM2 B,Yaw,,,0241234568\n")
    job = run_import(source)
    assert job.failed == 1
    report = tmp_path / "errors.xlsx"
    write_error_report(job, report)
    assert _read_xlsx(report)[0][:5] == ["Shipping Mark", "First Name", "Last Name", "Email", "Phone"]


def _csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_errors_csv_guards_the_header_row_and_formulas_behind_any_separator(tmp_path: Path, admin_api) -> None:
    evil_header = '=HYPERLINK("http://evil.example","hdr")'
    source = write_csv(
        tmp_path / "in.csv",
        [*HEADER, evil_header],
        [["PM1 AMA", "Ama", "", "0241234567", "", "", "x;=1+1", "a|@SUM(1)"]],  # no last name: the row fails
    )
    job = run_import(source)
    rows = _csv_rows(admin_api.get(f"/api/v1/imports/{job.pk}/errors.csv"))
    assert rows[0][7] == "'" + evil_header
    assert rows[1][6:8] == ["'x;'=1+1", "'a|'@SUM(1)"]
    for row in rows:  # every text cell is safe in any separator locale
        assert all(not needs_guard(cell) or cell.startswith("'") for cell in row), row
    # Fixed and uploaded again, the guards come off.
    rows[1][2] = "Owusu"
    with open(tmp_path / "fixed.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    again = run_import(tmp_path / "fixed.csv")
    assert (again.created, again.failed) == (1, 0)
    assert Customer.objects.get().company_name == "x;=1+1"


def test_a_guarded_tab_or_line_break_round_trips(tmp_path: Path) -> None:
    source = write_csv(tmp_path / "in.csv", HEADER, [["PM1 AMA", "Ama", "", "0241234567", "", "", "Kofi\n-Ltd"]])
    job = run_import(source)
    report = tmp_path / "errors.csv"
    write_error_report(job, report)
    with open(report, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][6] == "'Kofi\n'-Ltd"
    rows[1][2] = "Owusu"
    with open(tmp_path / "fixed.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    assert run_import(tmp_path / "fixed.csv").created == 1
    assert Customer.objects.get().company_name == "Kofi -Ltd"  # tidied as any cell is, without the apostrophe
