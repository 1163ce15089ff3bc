"""The goods-received sheet's downloadable template: a note row of the limits, our headers in the order the importer
reads them (`cleaning.FIELD_LABELS`, the schema's fields), and one example line that imports as it is. The note sits
above the header because the importer skips title rows there, as warehouse sheets have them."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import xlsxwriter
from django.conf import settings

from primepre.imports.errors import human_size

from . import cleaning
from .warehouses import default_warehouse, warehouses

COLUMNS = tuple(cleaning.FIELD_LABELS)
HEADERS = [cleaning.FIELD_LABELS[name] for name in COLUMNS]
# The example line: dimensions and CBM agree (50×40×30 cm × 3 cartons = 0.18 CBM), so it imports cleanly as it is.
EXAMPLE: dict[str, Any] = {
    "shipping_mark": "PM4 KOFI",
    "received_on": dt.date(2026, 11, 28),
    "description": "Shoes",
    "cartons": 3,
    "dimensions": "50*40*30",
    "cbm": Decimal("0.18"),
    "weight_kg": Decimal("45.5"),
    "tracking_number": "SF1234567890",
    "method": "SEA",
    "notes": "Replace this example line with yours",
}
# Excel's number formats per column; every other column is Text, so a mark or a tracking number of digits keeps its
# leading zeros and all its digits (Excel rounds a number past 15 digits, which the importer then refuses).
DATE_FORMAT = "yyyy-mm-dd"  # shown unambiguously; Excel still reads what the clerk types in their own locale's order
NUMBER_FORMATS = {"received_on": DATE_FORMAT, "loaded_on": DATE_FORMAT, "cartons": "0", "cbm": "0.000",
                  "weight_kg": "0.00"}  # fmt: skip
DROPDOWN_ROWS = 10_000  # the rows the Method and Warehouse dropdowns cover; lines below them are typed freely
WIDTHS = {"shipping_mark": 22, "description": 28, "tracking_number": 24, "notes": 30}


def limits_note() -> str:
    """The note row: what a line needs and the limits the importer enforces, from the settings and the cleaners."""
    known = ", ".join(f"{code} = {name}" for code, name in warehouses().items())
    tolerance = f"{cleaning.CBM_TOLERANCE * 100:.0f}%"
    return "\n".join([
        f"Limits: at most {settings.IMPORT_MAX_ROWS:,} lines and {human_size(settings.IMPORT_MAX_UPLOAD_BYTES)} per "
        "file (.xlsx, .xls, .ods, .csv or .json). Keep this note and the header row; replace the example line with "
        "yours, one line per customer's goods.",
        f"Required: {cleaning.FIELD_LABELS['shipping_mark']} (one mark per cell), "
        f"{cleaning.FIELD_LABELS['received_on']} (a date, or 28/11/2026 day first, or 2026-11-28), "
        f"{cleaning.FIELD_LABELS['cartons']} (a whole number, 1 to {cleaning.CARTONS_MAX:,}), and CBM or "
        f"Specifications (one carton's L*W*H in cm, e.g. 50*40*30; given both, they must agree within {tolerance}).",
        f"At most: Description {cleaning.DESCRIPTION_MAX} characters, Supplier&Tracking No {cleaning.TRACKING_MAX} "
        f"(a number received before is refused), Specifications that are not dimensions "
        f"{cleaning.SPECIFICATION_MAX}, Notes {cleaning.NOTES_MAX:,}. KG is optional.",
        f"Method (SEA or AIR) and Warehouse ({known}) may be left empty: the choices made on the upload page apply. "
        "Date of Loading is read but not stored.",
    ])  # fmt: skip


def template_workbook() -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    )
    formats = {
        "header": workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
        "note": workbook.add_format({"text_wrap": True, "valign": "top", "bg_color": "#FFF7E0"}),
        "text": workbook.add_format({"num_format": "@"}),
        **{name: workbook.add_format({"num_format": shape}) for name, shape in NUMBER_FORMATS.items()},
    }
    sheet = workbook.add_worksheet("Goods received")
    sheet.merge_range(0, 0, 0, len(COLUMNS) - 1, limits_note(), formats["note"])
    sheet.set_row(0, 120)
    sheet.freeze_panes(2, 0)
    for column, name in enumerate(COLUMNS):
        sheet.set_column(column, column, WIDTHS.get(name, 14), formats.get(name, formats["text"]))
        sheet.write_string(1, column, HEADERS[column], formats["header"])
        _write_example(sheet, column, name, formats)
    _offer_choices(sheet)
    workbook.close()
    return buffer.getvalue()


def _write_example(sheet: Any, column: int, name: str, formats: dict[str, Any]) -> None:
    value = EXAMPLE.get(name, default_warehouse() if name == "warehouse" else "")
    if isinstance(value, dt.date):
        sheet.write_datetime(2, column, dt.datetime.combine(value, dt.time()), formats[name])
    elif isinstance(value, (int, Decimal)):
        sheet.write_number(2, column, float(value), formats[name])
    elif value:
        sheet.write_string(2, column, value, formats["text"])


def _offer_choices(sheet: Any) -> None:
    """Method and Warehouse as dropdowns in Excel; a typed value outside them is only warned about, since the
    importer also takes `by sea`, `Air freight` or a warehouse's name."""
    lists = {"method": ["SEA", "AIR"], "warehouse": list(warehouses())}
    for name, values in lists.items():
        if len(",".join(values)) > 255:  # Excel's limit for a list typed into the rule: leave the column free
            continue
        column = COLUMNS.index(name)
        rule = {"validate": "list", "source": values, "error_type": "warning"}
        sheet.data_validation(2, column, DROPDOWN_ROWS, column, rule)
