"""Workbooks for the mapping tests: several sheets in .xlsx (xlsxwriter) and .ods (written by hand, as calamine reads
it), and the .xls made once with xlwt 1.3.0 (`files_mapping/instructions_customers.xls`: an "Instructions" sheet of
two text rows, then "Customers" with Shipping Mark, First Name, Last Name, Phone and the rows PM21 AMA and PM22 YAW)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import xlsxwriter

from ..sheets import write_ods

FILES = Path(__file__).parent / "files_mapping"
INSTRUCTIONS = [["How to fill in this workbook"], ["One customer per row on the Customers sheet."]]
CUSTOMERS = [
    ["Shipping Mark", "First Name", "Last Name", "Phone"],
    ["PM21 AMA", "Ama", "Owusu", "0241234567"],
    ["PM22 YAW", "Yaw", "Boateng", "0201234567"],
]
Sheets = Sequence[tuple[str, Sequence[Sequence[Any]]]]


def write_xlsx_sheets(path: Path, sheets: Sheets) -> Path:
    workbook = xlsxwriter.Workbook(path)
    for name, rows in sheets:
        sheet = workbook.add_worksheet(name)
        for index, row in enumerate(rows):
            for column, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(index, column, value)
                elif value is not None:
                    sheet.write(index, column, value)
    workbook.close()
    return path


def _ods_table(name: str, rows: Sequence[Sequence[Any]]) -> str:
    cell = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'
    body = "".join(
        "<table:table-row>" + "".join(cell.format(escape(str(value))) for value in row) + "</table:table-row>"
        for row in rows
    )
    return f'<table:table table:name="{escape(name)}">{body}</table:table>'


def write_ods_sheets(path: Path, sheets: Sheets) -> Path:
    return write_ods(path, "".join(_ods_table(name, rows) for name, rows in sheets))


def instructions_then_customers(tmp_path: Path, file_format: str) -> Path:
    """The workbook people send: an "Instructions" sheet first, the customers on the second."""
    sheets = [("Instructions", INSTRUCTIONS), ("Customers", CUSTOMERS)]
    if file_format == "ods":
        return write_ods_sheets(tmp_path / "customers.ods", sheets)
    if file_format == "xls":
        return FILES / "instructions_customers.xls"
    return write_xlsx_sheets(tmp_path / "customers.xlsx", sheets)
