"""The customer sheet's downloadable template: our headers, one example row, and an Instructions sheet with the real
limits."""

from __future__ import annotations

import io

import xlsxwriter
from django.conf import settings

from primepre.imports.errors import human_size

from .import_schema import SPECS
from .regions import Region

COLUMNS = ("shipping_mark", "first_name", "last_name", "phone", "email", "region", "company_name", "customer_type")
HEADERS = [SPECS[name].label for name in COLUMNS]
EXAMPLE = ["PM4 KOFI", "Kofi", "Mensah", "024 123 4567", "kofi@example.com", "Greater Accra", "", "individual"]


def template_workbook() -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    header = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = workbook.add_format({"num_format": "@"})  # Text: Excel keeps the phone's leading zero
    sheet = workbook.add_worksheet("Customers")
    sheet.freeze_panes(1, 0)
    for column, name in enumerate(HEADERS):
        sheet.write_string(0, column, name, header)
        sheet.set_column(column, column, 20, text)
    for column, value in enumerate(EXAMPLE):
        sheet.write_string(1, column, value, text)

    notes = workbook.add_worksheet("Instructions")
    notes.set_column(0, 0, 110)
    bold = workbook.add_format({"bold": True})
    lines = [
        ("How to fill this sheet", bold),
        ("One customer per row on the Customers sheet. Keep the header row; delete the example row.", None),
        ("Required: Shipping Mark, First Name, Last Name, Phone. Email, Region, Company and Customer Type are "
         "optional.", None),
        ("Phone: any usual format (0241234567, +233 24 123 4567, 233241234567). Numbers without a country code are "
         f"read as {settings.DEFAULT_PHONE_REGION} numbers. The column is formatted as Text so Excel keeps the "
         "zero.", None),
        ("Shipping Mark: as written on parcels. Case, spaces and punctuation do not make a new mark: PM4 KOFI and "
         "pm4-kofi are the same customer.", None),
        ("Region: one of " + ", ".join(Region.labels) + " (the code, e.g. AA, also works).", None),
        ("Customer Type: individual or business (a Company makes it business when left empty).", None),
        ("", None),
        ("Limits", bold),
        (f"File size: at most {human_size(settings.IMPORT_MAX_UPLOAD_BYTES)}.", None),
        (f"Rows: at most {settings.IMPORT_MAX_ROWS:,} per file.", None),
        ("Formats: .xlsx, .xls, .ods, .csv (UTF-8 or Windows), .json.", None),
        ("", None),
        ("What happens", bold),
        ("Preview first: you see which rows will be created, updated, left unchanged or fail, before anything is "
         "written. Failed rows come back in an error file with the reason next to them: fix them and upload it.", None),
        ("Every import can be undone: customers it created are removed, fields it changed are restored, and anything "
         "edited since is left alone.", None),
    ]  # fmt: skip
    for row, (line, style) in enumerate(lines):
        notes.write_string(row, 0, line, style) if style else notes.write_string(row, 0, line)
    workbook.close()
    return buffer.getvalue()
