"""Customer export, streamed: CSV row by row, .xlsx written to a temporary file in constant memory. No row cap (the
old export stopped silently at 5,000) and memory that does not grow with the number of customers.

The file is for people first and for the importer second: regions and customer types are written as their names
(`Greater Accra`, `Individual`), which the customer import reads back (`regions.parse_region`, its type aliases), so an
exported file can be edited and imported again as an update."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import xlsxwriter
from django.db.models import QuerySet

from primepre.common.csvsafe import guard
from primepre.common.csvstream import csv_lines

from .models import CustomerType
from .regions import Region

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
PHONE_COLUMN = FIELDS.index("phone")
_REGION_NAMES = dict(Region.choices)
_TYPE_NAMES = dict(CustomerType.choices)
# A phone as stored: `+` and digits only. A spreadsheet reads it as a number (the `+` is a unary plus), never as a
# formula: nothing in it can call a function, reference a cell or reach another program, which is what OWASP's CSV
# injection guard is for. The guard's apostrophe would only show up in the cell (`'+233…`, a CSV has no quote
# prefix) and spoil the number for whoever copies it, so these cells go out as they are.
_E164 = re.compile(r"\+[0-9]{1,15}")


def export_rows(queryset: QuerySet) -> Iterator[list[Any]]:
    """Header, then one list per customer, read from the database in chunks."""
    yield HEADERS
    for values in queryset.values_list(*FIELDS, "created_at").iterator(chunk_size=2000):
        mark, first, last, phone, email, region, company, kind, created_at = values
        region_name = _REGION_NAMES.get(region, region)  # "" (no region) stays empty
        kind_name = _TYPE_NAMES.get(kind, kind)
        yield [mark, first, last, phone, email or "", region_name, company, kind_name, f"{created_at:%Y-%m-%d %H:%M}"]


def csv_cells(row: list[Any]) -> list[Any]:
    """A row made safe for CSV: every cell typed by someone goes through the formula guard; a stored phone that is
    `+` and digits only is left as it is (see `_E164`), anything else in that column is guarded like the rest."""
    cells = [guard(value) for value in row]
    phone = row[PHONE_COLUMN]
    if isinstance(phone, str) and _E164.fullmatch(phone):
        cells[PHONE_COLUMN] = phone
    return cells


def iter_csv(queryset: QuerySet) -> Iterator[str]:
    return csv_lines(csv_cells(row) for row in export_rows(queryset))


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
