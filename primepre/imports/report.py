"""The fixable error file: the failed rows with their original columns, the failing cells marked, and an `Errors`
column saying what is wrong. Fix the cells, upload the file again, and the fixed rows import (the extra columns are
recognised and ignored).

Cells that a spreadsheet would run as a formula are neutralised: in .xlsx every text cell is a string (never a
formula) and one starting with = + - @ also gets Excel's quote prefix (the value is unchanged); in .csv every text
cell, the header row included, goes through the shared guard (`primepre.common.csvsafe`), which the importer removes
again.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import xlsxwriter

from primepre.common.csvsafe import FORMULA_STARTS, guard

from .models import ImportJob
from .schema import get_schema

ERRORS_HEADER = "Errors"
ROW_HEADER = "Original row"


def report_headers(job: ImportJob) -> list[str]:
    mapping = job.column_mapping or {}
    headers = list(mapping.get("headers") or [])
    if not headers:  # the old positional layout had no header: give the file one, so the fixed file maps by name
        schema = get_schema(job.schema)
        by_index = {index: schema.labels[name] for name, index in schema.legacy_layout.items()}
        headers = [by_index.get(index, "") for index in range(max(by_index, default=-1) + 1)]
    return headers


def _rows(job: ImportJob, width: int) -> Iterator[tuple[int, list[Any], list[dict[str, str]]]]:
    for error in job.row_errors.order_by("row_number").iterator(chunk_size=2000):
        values = list(error.values)[:width]
        values += [""] * (width - len(values))
        yield error.row_number, values, error.errors


def _error_text(errors: list[dict[str, str]]) -> str:
    return "; ".join(f"{error['column']}: {error['message']}" for error in errors)


def _csv_safe(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return guard(value)


def iter_csv_report_rows(job: ImportJob) -> Iterator[list[Any]]:
    """The CSV error report row by row (header first), for writing to a file or streaming over HTTP."""
    headers = report_headers(job)
    # The header row is the uploaded file's own: as untrusted as any cell.
    yield [*(_csv_safe(header) for header in headers), ERRORS_HEADER, ROW_HEADER]
    for row_number, values, errors in _rows(job, len(headers)):
        yield [*(_csv_safe(value) for value in values), _csv_safe(_error_text(errors)), row_number]


def write_csv_report(job: ImportJob, target: IO[str]) -> None:
    csv.writer(target).writerows(iter_csv_report_rows(job))


def write_xlsx_report(job: ImportJob, target: str | Path | IO[bytes]) -> None:
    headers = report_headers(job)
    failing_columns = {header: index for index, header in enumerate(headers)}
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False})
    try:
        bold = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        text = workbook.add_format({})
        quoted = workbook.add_format({"quote_prefix": True})
        bad = workbook.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        bad_quoted = workbook.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006", "quote_prefix": True})
        wrap = workbook.add_format({"text_wrap": True, "font_color": "#9C0006"})
        sheet = workbook.add_worksheet("Errors")
        sheet.freeze_panes(1, 0)
        for column, header in enumerate([*headers, ERRORS_HEADER, ROW_HEADER]):
            sheet.write_string(0, column, header, bold)
            sheet.set_column(column, column, 60 if header == ERRORS_HEADER else 18)
        line = 1
        for row_number, values, errors in _rows(job, len(headers)):
            failing = {failing_columns[e["column"]] for e in errors if e.get("column") in failing_columns}
            for column, value in enumerate(values):
                is_bad = column in failing
                if isinstance(value, bool):
                    sheet.write_boolean(line, column, value, bad if is_bad else text)
                elif isinstance(value, (int, float)):
                    sheet.write_number(line, column, value, bad if is_bad else text)
                else:
                    value = "" if value is None else str(value)
                    risky = value.startswith(FORMULA_STARTS)
                    cell_format = (bad_quoted if risky else bad) if is_bad else (quoted if risky else text)
                    sheet.write_string(line, column, value, cell_format)
            sheet.write_string(line, len(headers), _error_text(errors), wrap)
            sheet.write_number(line, len(headers) + 1, row_number)
            line += 1
    finally:
        workbook.close()


def write_error_report(job: ImportJob, target: Path) -> None:
    if target.suffix.lower() == ".csv":
        with open(target, "w", newline="", encoding="utf-8-sig") as handle:
            write_csv_report(job, handle)
    else:
        write_xlsx_report(job, target)
