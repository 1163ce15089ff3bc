"""Real-looking customer sheets for the tests that need a whole file (the browser wizard, the HTTP end-to-end story).

What staff upload: Ghanaian names, `PM12 KOFI` marks, phones typed the ways people and Excel type them (numeric cells
in .xlsx), region names in mixed spellings, emails for most rows, a company now and then; and a share of bad rows, one
defect each, of the kinds the importer must catch. Deterministic for a seed, written in-process (no subprocess). The
benchmark's generator (`bench/generate.py`) makes the large files; this one makes the few thousand rows a test needs.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xlsxwriter

HEADER = ["Shipping Mark", "First Name", "Last Name", "Phone Number", "Email Address", "Region", "Company"]
FIRST_NAMES = [
    "Kwasi", "Kojo", "Kwabena", "Kwaku", "Yaw", "Kofi", "Kwame", "Ekow", "Akosua", "Adwoa", "Abena", "Akua", "Yaa",
    "Afua", "Efua", "Ama", "Esi", "Emmanuel", "Samuel", "Grace", "Mercy", "Comfort", "Selorm", "Edem", "Ibrahim",
    "Fatima", "Amina", "Nana",
]  # fmt: skip
SURNAMES = [
    "Mensah", "Owusu", "Boateng", "Asante", "Osei", "Agyei", "Addo", "Appiah", "Ofori", "Adjei", "Darko", "Tetteh",
    "Quartey", "Annan", "Aidoo", "Arthur", "Yeboah", "Bonsu", "Agbeko", "Mahama", "Iddrisu", "Owusu-Ansah",
]  # fmt: skip
REGIONS = ["Greater Accra", "accra", "GH-AA", "Ashanti", "Kumasi", "Ashanti Region", "Central", "Volta", "Bono", ""]
BAD_REGIONS = ["Lagos", "Greater Acra", "Region 17"]
COMPANIES = ["Enterprise", "Ventures", "Trading Ltd", "& Sons", "Imports"]
# Mobile prefixes whose every 7-digit subscriber number is valid in Ghana's numbering plan. Not 55: tests that fix an
# error file give the fixed rows 055 9… numbers, which must not collide with these.
PREFIXES = ["24", "54", "20", "50", "26", "27"]
BAD_KINDS = ["invalid_phone", "missing_last_name", "invalid_email", "duplicate_phone", "duplicate_mark", "bad_region"]
BAD_PHONES = ["N/A", "0000000000", "2.33241E+11", "024 123", "call office"]


class Number(int):
    """A phone Excel turned into a number (the leading 0 or the + lost): a numeric cell in .xlsx, digits in .csv."""


@dataclass
class CustomerSheet:
    """What was written: the file, its data rows, and the planted bad rows by kind (each fails exactly once)."""

    path: Path
    rows: int
    bad: Counter[str] = field(default_factory=Counter)

    @property
    def bad_rows(self) -> int:
        return sum(self.bad.values())


def _phone(rng: random.Random, national: str) -> str | Number:
    """`241234567` written one of the ways it arrives."""
    return rng.choice(
        [
            "0" + national,
            "+233" + national,
            f"0{national[:2]} {national[2:5]} {national[5:]}",
            f"0{national[:2]}-{national[2:5]}-{national[5:]}",
            f"233 {national[:2]} {national[2:5]} {national[5:]}",
            Number(national),
            Number("233" + national),
        ]
    )


def _good_row(rng: random.Random, index: int, national: str) -> list[Any]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    email = f"{first}.{last}{index}@gmail.com".lower() if rng.random() < 0.6 else ""
    company = f"{last} {rng.choice(COMPANIES)}" if rng.random() < 0.2 else ""
    name = first if rng.random() > 0.05 else f" {first.upper()} "
    return [f"PM{index} {first.upper()}", name, last, _phone(rng, national), email, rng.choice(REGIONS), company]


def _spoil(rng: random.Random, row: list[Any], kind: str, earlier: list[list[Any]]) -> None:
    """One defect, of the kind named: the row fails with it and nothing else."""
    if kind == "invalid_phone":
        row[3] = rng.choice(BAD_PHONES)
    elif kind == "missing_last_name":
        row[2] = rng.choice(["", "  "])
    elif kind == "invalid_email":
        row[4] = rng.choice(["ama@@gmail.com", "kofi.mensah@gmail", "yaw boateng@yahoo.com"])
    elif kind == "duplicate_phone":
        row[3] = _phone(rng, _national(rng.choice(earlier)[3]))  # the same number, likely typed differently
    elif kind == "duplicate_mark":
        row[0] = rng.choice(earlier)[0].lower().replace(" ", "-")  # `pm12-kofi` is `PM12 KOFI`
    else:
        row[5] = rng.choice(BAD_REGIONS)


def _national(phone: str | Number) -> str:
    digits = "".join(character for character in str(phone) if character.isdigit())
    return digits[-9:]


def customer_rows(rows: int, *, seed: int = 1, bad_fraction: float = 0.02) -> tuple[list[list[Any]], Counter[str]]:
    """The data rows (header excluded) and the planted bad rows by kind. Phones, marks and emails are unique except
    where a duplicate is planted; a duplicate always repeats an earlier good row, so it is the later row that fails."""
    rng = random.Random(seed)  # test data, not a secret
    offsets = {prefix: rng.randrange(10**7) for prefix in PREFIXES}
    data: list[list[Any]] = []
    good: list[list[Any]] = []
    bad: Counter[str] = Counter()
    for index in range(1, rows + 1):
        prefix = PREFIXES[index % len(PREFIXES)]
        national = prefix + f"{(index * 7_919 + offsets[prefix]) % 10**7:07d}"  # 7,919 is coprime with 10**7
        row = _good_row(rng, index, national)
        kind = rng.choice(BAD_KINDS) if good and rng.random() < bad_fraction else None
        if kind:
            _spoil(rng, row, kind, good)
            bad[kind] += 1
        else:
            good.append(row)
        data.append(row)
    return data, bad


def write_customer_sheet(path: Path, rows: int, *, seed: int = 1, bad_fraction: float = 0.02) -> CustomerSheet:
    """Write `rows` customers to `path`, as .xlsx or .csv by its suffix."""
    data, bad = customer_rows(rows, seed=seed, bad_fraction=bad_fraction)
    if path.suffix == ".xlsx":
        _write_xlsx(path, data)
    elif path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(data)
    else:
        raise ValueError(f"write .xlsx or .csv, not {path.suffix!r}")
    return CustomerSheet(path=path, rows=rows, bad=bad)


def _write_xlsx(path: Path, data: list[list[Any]]) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": dt.datetime(2025, 1, 1)})  # else the file carries the time it was made
    sheet = workbook.add_worksheet("Customers")
    sheet.write_row(0, 0, HEADER, workbook.add_format({"bold": True}))
    for line, row in enumerate(data, start=1):
        for column, value in enumerate(row):
            if isinstance(value, Number):
                sheet.write_number(line, column, int(value))
            elif value:
                sheet.write_string(line, column, value)
    workbook.close()


def write_ods(path: Path, tables: str) -> Path:
    """An .ods whose spreadsheet holds `tables` (`<table:table>` elements), written as LibreOffice lays it out."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
        f"<office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")  # stored
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", manifest)
    return path


def write_far_ods(path: Path) -> Path:
    """A hostile .ods of under 1 KB whose one value sits at row 5,003, column 16,001: calamine (the only reader of .ods)
    allocates that whole range at once. Under the worker's RLIMIT_DATA the allocation fails in native code, which
    aborts the process (tests/imports/test_worker.py; bench/probe.py measures it)."""
    cell = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'
    return write_ods(
        path,
        '<table:table table:name="Customers">'
        f"<table:table-row>{cell.format('Shipping Mark')}</table:table-row>"
        '<table:table-row table:number-rows-repeated="5000"><table:table-cell/></table:table-row>'
        f'<table:table-row><table:table-cell table:number-columns-repeated="16000"/>{cell.format("x")}'
        "</table:table-row></table:table>",
    )
