"""Customer export, streamed: CSV row by row, .xlsx written to a temporary file in constant memory. No row cap (the
old export stopped silently at 5,000) and memory that does not grow with the number of customers."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Any

import xlsxwriter
from django.db.models import QuerySet

from primepre.common.csvsafe import guard
from primepre.common.csvstream import csv_lines

HEADERS = [
    "Shipping Mark",
    "First Name",
    "Last Name",
    "Phone",
    "Email",
    "Region",
    "Company",
    "Customer Type",
    "Created",
]
FIELDS = ["shipping_mark", "first_name", "last_name", "phone", "email", "region", "company_name", "customer_type"]


def export_rows(queryset: QuerySet) -> Iterator[list[Any]]:
    """Header, then one list per customer, read from the database in chunks."""
    yield HEADERS
    for values in queryset.values_list(*FIELDS, "created_at").iterator(chunk_size=2000):
        *fields, created_at = values
        yield [*("" if value is None else value for value in fields), created_at.strftime("%Y-%m-%d %H:%M")]


def iter_csv(queryset: QuerySet) -> Iterator[str]:
    # Phones start with "+" and names are typed by anyone: every cell goes through the formula guard.
    return csv_lines([guard(value) for value in row] for row in export_rows(queryset))


def write_xlsx(queryset: QuerySet) -> IO[bytes]:
    """The export as an .xlsx in a temporary file (constant memory while writing), rewound for reading."""
    target = tempfile.TemporaryFile(suffix=".xlsx")  # the response closes it
    # strings_to_formulas off: a cell holding "=…" is written as the text it is, never as a formula.
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False})
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet("Customers")
    sheet.freeze_panes(1, 0)
    for line, row in enumerate(export_rows(queryset)):
        for column, value in enumerate(row):
            sheet.write_string(line, column, str(value), bold if line == 0 else None)
    workbook.close()
    target.seek(0)
    return target
