"""Regenerate (and check) the customer-import fixture files in this directory.

Run from the repository root (nothing in CI runs this; the generated files are committed):

    .venv/bin/python tests/imports/files/make_fixtures.py           # rewrite the Python-made files
    .venv/bin/python tests/imports/files/make_fixtures.py --check   # read EVERY fixture back and verify it

Writing covers every fixture that needs only Python libraries (xlsxwriter, csv, json, zipfile). The
output is byte-for-byte reproducible: workbook properties carry a fixed date and xlsxwriter stamps
zip members with a fixed timestamp. --check reads all fixtures (including the ones below) with
python-calamine / csv / json and asserts exact values and Python types.

Files NOT regenerated here (they need other tools; see MANIFEST.md). Made with LibreOffice 7.4.7.2
on Debian bookworm (``apt-get install -y --no-install-recommends libreoffice-calc python3-uno``),
run inside this directory after this script:

    soffice --headless --convert-to xls:"MS Excel 97" basic.xlsx      # -> basic.xls (BIFF8)
    soffice --headless --convert-to ods basic.xlsx                    # -> basic.ods
    soffice --headless --convert-to ods multi_sheet.xlsx              # -> multi_sheet.ods (hidden sheet kept)
    /usr/bin/python3 make_padded_lo.py                                # -> padded.ods, padded.xlsx

XLSB: LibreOffice cannot write it (``--convert-to xlsb:"Calc MS Excel 2007 Binary"`` prints
"no export filter ... found, aborting" and still exits 0). The .xlsb files were written with SheetJS
(npm ``xlsx@0.18.5``, node 20), outside the repo:

    mkdir /tmp/sheetjs && cd /tmp/sheetjs && npm init -y && npm install xlsx@0.18.5
    # basic.xlsb: SheetJS with its "short" cell records (BrtShort*, record types 12-18) switched off,
    # so every cell is a full BrtCellIsst/BrtCellReal record (python-calamine skips BrtShort* records)
    sed 's/if(last_seen) write_record(ba, 0x00/if(false) write_record(ba, 0x00/' \
        node_modules/xlsx/xlsx.js > node_modules/xlsx/xlsx_full_records.js
    cd <repo>/tests/imports/files
    NODE_PATH=/tmp/sheetjs/node_modules node -e "const X=require('xlsx/xlsx_full_records.js'); \
        X.writeFile(X.readFile('basic.xlsx'),'basic.xlsb',{bookType:'xlsb',compression:true,bookSST:true})"
    # basic_short_records.xlsb: stock SheetJS output (uses BrtShortIsst for 2nd+ adjacent cells)
    NODE_PATH=/tmp/sheetjs/node_modules node -e "const X=require('xlsx'); \
        X.writeFile(X.readFile('basic.xlsx'),'basic_short_records.xlsb',{bookType:'xlsb',compression:true,bookSST:true})"
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import sys
import zipfile
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent

FIXED_DATE = dt.datetime(2025, 3, 1, 12, 0, 0)  # naive on purpose: docProps dates, not a timezone

HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone", "Region", "Company"]


class Num(int):
    """Marks a phone that a spreadsheet stores as a NUMBER cell (leading zero lost)."""


# None = cell left empty (not even an empty string is written to spreadsheets).
BASIC_ROWS: list[list[str | Num | None]] = [
    ["PM4 KOFI", "Kofi", "Mensah", "kofi@example.com", "0241234567", "Greater Accra", "Kente Ltd"],
    ["PM5 AMA", "Ama", "Owusu", None, Num(241234568), "Ashanti", None],
    ["pm6 yaw", "Yaw", "Boateng", "YAW@Example.com", "+233 20 123 4567", "GH-TV", None],
    ["PM7 ÉFUA", "Éfua", "Asante-Nkrumah", None, Num(233501234567), None, "Asante & Sons"],
    # bad row: missing last name
    ["PM8 KWAME", "Kwame", None, None, "0551234567", "Volta", None],
    # bad row: bad email, bad phone (stored as TEXT "12345"), region not in Ghana
    ["PM9 ESI", "Esi", "Addo", "not-an-email", "12345", "Lagos", None],
]

OTHER_ROWS: list[list[str | Num | None]] = [
    ["PM10 ABENA", "Abena", "Darko", None, "0261234567", "Central", None],
]

TEMPLATE_ROWS: list[list[str | Num | None]] = [  # old A-E template, no header row
    ["PM11 KOJO", "Kojo", "Antwi", "kojo@example.com", "0241111111"],
    ["PM12 AKUA", "Akua", "Mensah", None, Num(241111112)],
    ["PM13 KOFI", "Kofi", "Ofori", None, "0241111113"],
]

SNAKE_KEYS = {
    "Shipping Mark": "shipping_mark",
    "First Name": "first_name",
    "Last Name": "last_name",
    "Email": "email",
    "Phone": "phone",
    "Region": "region",
    "Company": "company_name",
}


def as_text(value: str | Num | None) -> str:
    """Value as it appears in a text format (CSV/TSV/JSON): numbers become digit strings."""
    if value is None:
        return ""
    return str(int(value)) if isinstance(value, Num) else value


def text_rows(rows: list[list[str | Num | None]]) -> list[list[str]]:
    return [[as_text(v) for v in row] for row in rows]


# ---------------------------------------------------------------- spreadsheets (xlsxwriter)


def new_workbook(target: str | io.BytesIO) -> xlsxwriter.Workbook:
    wb = xlsxwriter.Workbook(target, {"in_memory": True})
    wb.set_properties({"author": "PrimePre fixtures", "created": FIXED_DATE})
    return wb


def write_rows(ws: xlsxwriter.worksheet.Worksheet, first_row0: int, rows: list[list[str | Num | None]]) -> None:
    """Write rows starting at 0-based row ``first_row0``; Num -> number cell, str -> text cell."""
    for r, row in enumerate(rows, start=first_row0):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, Num):
                ws.write_number(r, c, int(value))
            else:
                ws.write_string(r, c, value)


def make_basic_xlsx(path: Path) -> None:
    wb = new_workbook(str(path))
    ws = wb.add_worksheet("Customers")
    write_rows(ws, 0, [HEADER, *BASIC_ROWS])
    wb.close()


def make_basic_xlsm(path: Path) -> None:
    """A macro-enabled workbook (.xlsm content type) without a VBA project part.

    Excel accepts an .xlsm whose workbook part has the macroEnabled content type even when it holds
    no vbaProject.bin ("macro-enabled workbook that currently has no macros"). We deliberately do
    not ship a third-party vbaProject.bin blob.
    """
    buf = io.BytesIO()
    wb = new_workbook(buf)
    ws = wb.add_worksheet("Customers")
    write_rows(ws, 0, [HEADER, *BASIC_ROWS])
    wb.close()

    xlsx_ct = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    xlsm_ct = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                assert data.count(xlsx_ct) == 1, "unexpected [Content_Types].xml"
                data = data.replace(xlsx_ct, xlsm_ct)
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())


def make_multi_sheet_xlsx(path: Path) -> None:
    wb = new_workbook(str(path))
    notes = wb.add_worksheet("Notes")
    notes.write_string(0, 0, "internal notes - do not import")
    notes.write_string(1, 0, "asdf;lkj 1234 ### TODO call Kofi")
    notes.write_string(2, 1, "junk")
    customers = wb.add_worksheet("Customers")
    write_rows(customers, 0, [HEADER, *BASIC_ROWS])
    other = wb.add_worksheet("Other")
    write_rows(other, 0, [HEADER, *OTHER_ROWS])
    customers.activate()  # a hidden sheet cannot be the active one
    customers.set_first_sheet()
    notes.hide()
    wb.close()


def make_template_no_header_xlsx(path: Path) -> None:
    wb = new_workbook(str(path))
    ws = wb.add_worksheet("Sheet1")
    write_rows(ws, 0, TEMPLATE_ROWS)
    wb.close()


def make_header_row3_xlsx(path: Path) -> None:
    wb = new_workbook(str(path))
    ws = wb.add_worksheet("Customers")
    ws.write_string(0, 0, "PrimePre customers – March")  # en dash
    # row 2 (index 1) left blank
    write_rows(ws, 2, [HEADER, *BASIC_ROWS[:3]])
    wb.close()


def make_empty_xlsx(path: Path) -> None:
    wb = new_workbook(str(path))
    wb.add_worksheet("Sheet1")
    wb.close()


# ---------------------------------------------------------------- text formats


def write_delimited(path: Path, rows: list[list[str]], *, encoding: str, delimiter: str, bom: bool = False) -> None:
    """CSV with Excel-style CRLF line endings, minimal quoting."""
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buf.getvalue().encode(encoding)
    if bom:
        data = {"utf-8": codecs.BOM_UTF8, "utf-16-le": codecs.BOM_UTF16_LE}[encoding] + data
    path.write_bytes(data)


def make_text_files(d: Path) -> None:
    table = [HEADER, *text_rows(BASIC_ROWS)]
    write_delimited(d / "basic_utf8.csv", table, encoding="utf-8", delimiter=",")
    write_delimited(d / "basic_utf8_bom.csv", table, encoding="utf-8", delimiter=",", bom=True)
    write_delimited(d / "basic_utf16.tsv", table, encoding="utf-16-le", delimiter="\t", bom=True)
    write_delimited(d / "basic_cp1252.csv", table, encoding="cp1252", delimiter=",")
    write_delimited(d / "basic_semicolon.csv", table, encoding="utf-8", delimiter=";")
    write_delimited(d / "basic.tsv", table, encoding="utf-8", delimiter="\t")
    write_delimited(d / "header_only.csv", [HEADER], encoding="utf-8", delimiter=",")

    records = [dict(zip(HEADER, row, strict=True)) for row in text_rows(BASIC_ROWS)]
    (d / "basic_array.json").write_text(json.dumps(records, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    customers = [{SNAKE_KEYS[k]: v for k, v in rec.items()} for rec in records]
    (d / "basic_customers.json").write_text(
        json.dumps({"customers": customers}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


# ---------------------------------------------------------------- hostile / broken


def make_hostile_files(d: Path) -> None:
    (d / "not_really.xlsx").write_text(
        "Shipping Mark,First Name,Last Name\nPM4 KOFI,Kofi,Mensah\n(this is a text file renamed to .xlsx)\n",
        encoding="utf-8",
    )
    data = (d / "basic.xlsx").read_bytes()
    (d / "truncated.xlsx").write_bytes(data[: int(len(data) * 0.6)])


# ---------------------------------------------------------------- read-back verification (--check)

Cell = str | float
SheetRows = list[list[Cell]]


def as_cell(value: str | Num | None, *, rk_ints: bool = False) -> Cell:
    """What python-calamine returns for a fixture value: numbers -> float, empty -> ''.

    Exception (rk_ints=True, .xls; also any .xlsb using BrtCellRk): an integer small enough for an RK record
    (30-bit signed, |n| < 2**29) comes back as a Python int; larger ones are NUMBER records -> float.
    """
    if value is None:
        return ""
    if isinstance(value, Num):
        return int(value) if rk_ints and -(2**29) <= value < 2**29 else float(value)
    return value


def cells(rows: list[list[str | Num | None]], *, rk_ints: bool = False) -> SheetRows:
    return [[as_cell(v, rk_ints=rk_ints) for v in row] for row in rows]


BASIC_SHEET = cells([HEADER, *BASIC_ROWS])
BASIC_SHEET_XLS = cells([HEADER, *BASIC_ROWS], rk_ints=True)  # PM5's phone is int 241234568 here
NOTES_SHEET: SheetRows = [
    ["internal notes - do not import", ""],
    ["asdf;lkj 1234 ### TODO call Kofi", ""],
    ["", "junk"],
]
# What python-calamine 0.9.1 returns for basic_short_records.xlsb: only cells written as full records
# (column A, numbers, and a cell right after an empty one) survive; BrtShortIsst cells read as ''.
SHORT_RECORDS_SEEN: SheetRows = [
    ["Shipping Mark", "", "", "", "", "", ""],
    ["PM4 KOFI", "", "", "", "", "", ""],
    ["PM5 AMA", "", "", "", 241234568.0, "", ""],
    ["pm6 yaw", "", "", "", "", "", ""],
    ["PM7 ÉFUA", "", "", "", 233501234567.0, "", "Asante & Sons"],
    ["PM8 KWAME", "", "", "", "0551234567", "", ""],
    ["PM9 ESI", "", "", "", "", "", ""],
]

# file -> [(sheet name, visible?, expected rows exactly as iter_rows() yields them)]
SPREADSHEETS: dict[str, list[tuple[str, bool, SheetRows]]] = {
    "basic.xlsx": [("Customers", True, BASIC_SHEET)],
    "basic.xlsm": [("Customers", True, BASIC_SHEET)],
    "basic.xls": [("Customers", True, BASIC_SHEET_XLS)],
    "basic.ods": [("Customers", True, BASIC_SHEET)],
    "basic.xlsb": [("Customers", True, BASIC_SHEET)],
    "basic_short_records.xlsb": [("Customers", True, SHORT_RECORDS_SEEN)],
    "multi_sheet.xlsx": [
        ("Notes", False, NOTES_SHEET),
        ("Customers", True, BASIC_SHEET),
        ("Other", True, cells([HEADER, *OTHER_ROWS])),
    ],
    "multi_sheet.ods": [
        ("Notes", False, NOTES_SHEET),
        ("Customers", True, BASIC_SHEET),
        ("Other", True, cells([HEADER, *OTHER_ROWS])),
    ],
    "template_no_header.xlsx": [("Sheet1", True, cells(TEMPLATE_ROWS))],
    "header_row3.xlsx": [
        (
            "Customers",
            True,
            [
                ["PrimePre customers – March", "", "", "", "", "", ""],
                ["", "", "", "", "", "", ""],
                *cells([HEADER, *BASIC_ROWS[:3]]),
            ],
        )
    ],
    "padded.ods": [("Customers", True, BASIC_SHEET)],
    "padded.xlsx": [("Customers", True, BASIC_SHEET)],
    "empty.xlsx": [("Sheet1", True, [])],
}

TEXT_FILES: dict[str, tuple[str, str]] = {  # file -> (encoding for open(), delimiter)
    "basic_utf8.csv": ("utf-8", ","),
    "basic_utf8_bom.csv": ("utf-8-sig", ","),
    "basic_utf16.tsv": ("utf-16", "\t"),
    "basic_cp1252.csv": ("cp1252", ","),
    "basic_semicolon.csv": ("utf-8", ";"),
    "basic.tsv": ("utf-8", "\t"),
}


def check(d: Path) -> None:
    import python_calamine as pc  # only --check needs it

    for name, sheets in SPREADSHEETS.items():
        wb = pc.CalamineWorkbook.from_path(str(d / name))
        meta = wb.sheets_metadata
        assert [m.name for m in meta] == [s[0] for s in sheets], (name, meta)
        for m, (sheet_name, visible, expected) in zip(meta, sheets, strict=True):
            assert (m.visible == pc.SheetVisibleEnum.Visible) is visible, (name, m)
            got = list(wb.get_sheet_by_name(sheet_name).iter_rows())
            assert got == expected, (name, sheet_name, got)
            # == would accept 241234568 == 241234568.0 (and True == 1.0): compare exact types as well
            types = [[type(v) for v in row] for row in got]
            assert types == [[type(v) for v in row] for row in expected], (name, sheet_name, types)
        print(f"ok  {name}: {[(s[0], len(s[2])) for s in sheets]}")

    text_table = [HEADER, *text_rows(BASIC_ROWS)]
    for name, (encoding, delimiter) in TEXT_FILES.items():
        with open(d / name, encoding=encoding, newline="") as f:
            rows = list(csv.reader(f, delimiter=delimiter))
        assert rows == text_table, (name, rows)
        print(f"ok  {name}: {len(rows)} rows incl. header")
    raw = (d / "basic_utf16.tsv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE) and raw[2:4] == b"S\x00", "basic_utf16.tsv must be UTF-16 LE + BOM"
    assert (d / "basic_utf8_bom.csv").read_bytes().startswith(codecs.BOM_UTF8)
    assert b"PM7 \xc9FUA" in (d / "basic_cp1252.csv").read_bytes(), "cp1252: É must be byte 0xC9"
    assert not (d / "basic_utf8.csv").read_bytes().startswith(codecs.BOM_UTF8)
    with open(d / "header_only.csv", encoding="utf-8", newline="") as f:
        assert list(csv.reader(f)) == [HEADER]
    print("ok  header_only.csv, BOMs, cp1252 byte 0xC9")

    records = json.loads((d / "basic_array.json").read_text(encoding="utf-8"))
    assert records == [dict(zip(HEADER, row, strict=True)) for row in text_rows(BASIC_ROWS)], records
    customers = json.loads((d / "basic_customers.json").read_text(encoding="utf-8"))
    assert list(customers) == ["customers"]
    assert customers["customers"] == [{SNAKE_KEYS[k]: v for k, v in r.items()} for r in records]
    print("ok  basic_array.json, basic_customers.json")

    with zipfile.ZipFile(d / "basic.xlsm") as z:
        assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in z.read("[Content_Types].xml")
    for name in ("not_really.xlsx", "truncated.xlsx"):
        try:
            pc.CalamineWorkbook.from_path(str(d / name))
        except pc.CalamineError as exc:  # ZipError subclasses CalamineError
            print(f"ok  {name}: {type(exc).__name__}: {exc}")
        else:
            raise AssertionError(f"{name} opened")
    whole = (d / "basic.xlsx").read_bytes()
    assert (d / "truncated.xlsx").read_bytes() == whole[: int(len(whole) * 0.6)]
    print("all fixtures verified")


def main() -> None:
    d = HERE
    if sys.argv[1:] == ["--check"]:
        check(d)
        return
    make_basic_xlsx(d / "basic.xlsx")
    make_basic_xlsm(d / "basic.xlsm")
    make_multi_sheet_xlsx(d / "multi_sheet.xlsx")
    make_template_no_header_xlsx(d / "template_no_header.xlsx")
    make_header_row3_xlsx(d / "header_row3.xlsx")
    make_empty_xlsx(d / "empty.xlsx")
    make_text_files(d)
    make_hostile_files(d)  # after basic.xlsx (truncated.xlsx is cut from it)
    print(f"fixtures written to {d}")


if __name__ == "__main__":
    main()
