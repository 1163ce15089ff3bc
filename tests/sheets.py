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
import struct
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

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


# --- hostile workbooks that made calamine allocate without bound (primepre/imports/bounds.py refuses them) ----------

FILES = Path(__file__).parent / "imports" / "files"
OOXML_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"


def write_shared_strings_xlsx(
    path: Path, count: int, *, unique_count: int | None = None, text: bytes = b"x", cells: int = 1
) -> Path:
    """An .xlsx of `count` shared strings (all `text`), written a block at a time so 8 million of them stay a few MB
    on disk, whose one sheet shows the first in column A of `cells` rows; `unique_count` is what the table declares
    (default: `count`)."""
    declared = count if unique_count is None else unique_count
    rels = f'<?xml version="1.0"?><Relationships xmlns="{PACKAGE_REL_NS}">{{}}</Relationships>'
    book_rels = rels.format(
        f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    )
    rels = rels.format(f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", rels)
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook xmlns="{OOXML_NS}" xmlns:r="{REL_NS}"><sheets>'
            '<sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        archive.writestr("xl/_rels/workbook.xml.rels", book_rels)
        rows = "".join(f'<row r="{row}"><c r="A{row}" t="s"><v>0</v></c></row>' for row in range(1, cells + 1))
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0"?><worksheet xmlns="{OOXML_NS}"><sheetData>{rows}</sheetData></worksheet>',
        )
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(
                f'<?xml version="1.0"?><sst xmlns="{OOXML_NS}" count="{count}" uniqueCount="{declared}">'.encode()
            )
            block = b"<si><t>" + text + b"</t></si>"
            for done in range(0, count, 10_000):
                part.write(block * min(10_000, count - done))
            part.write(b"</sst>")
    return path


def _biff(typ: int, data: bytes) -> bytes:
    return struct.pack("<HH", typ, len(data)) + data


def _sst(strings: list[str], references: int) -> bytes:
    """The SST record, its strings (one-byte characters) going on in CONTINUE records of up to 8,224 bytes, each
    cut between two strings (a cut inside one would need a flags byte)."""
    records, data = [], struct.pack("<II", references, len(strings))
    for text in strings:
        entry = struct.pack("<HB", len(text), 0) + text.encode("latin-1")
        if len(data) + len(entry) > 8224:
            records.append(data)
            data = b""
        data += entry
    records.append(data)
    return _biff(0x00FC, records[0]) + b"".join(_biff(0x003C, record) for record in records[1:])


def write_xls(path: Path, strings: list[str], cells: list[tuple[int, int, int]], *, dimensions: bytes = b"") -> Path:
    """A BIFF8 .xls (one sheet, "Customers") of `cells` (row, column, shared-string index), in a version-3 compound
    file, built from the records calamine reads; `dimensions` replaces the DIMENSIONS record's 14 bytes."""
    bof = struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0600)
    name = b"Customers"
    sheet_entry_size = 4 + 6 + 2 + len(name)
    globals_ = _biff(0x0809, bof) + _sst(strings, len(cells))
    position = len(globals_) + sheet_entry_size + 4  # the sheet follows the BoundSheet8 and EOF records
    globals_ += _biff(0x0085, struct.pack("<IBB", position, 0, 0) + bytes([len(name), 0]) + name) + _biff(0x000A, b"")
    rows = max((row for row, _column, _index in cells), default=0) + 1
    columns = max((column for _row, column, _index in cells), default=0) + 1
    sheet = _biff(0x0809, bof[:2] + struct.pack("<H", 0x0010) + bof[4:])
    sheet += _biff(0x0200, dimensions or struct.pack("<IIHHH", 0, rows, 0, columns, 0))
    sheet += b"".join(_biff(0x00FD, struct.pack("<HHHI", row, column, 15, index)) for row, column, index in cells)
    stream = globals_ + sheet + _biff(0x000A, b"")
    path.write_bytes(_compound_file(stream.ljust(4096, b"\x00")))
    return path


def _compound_file(stream: bytes) -> bytes:
    """A version-3 compound file (512-byte sectors) holding `stream` as "Workbook": FAT sectors first, then the
    directory, then the stream's sectors in order. Up to 109 FAT sectors (about 7 MB), so no DIFAT sector."""
    stream_sectors = -(-len(stream) // 512)
    fat_sectors = 1
    while fat_sectors * 128 < fat_sectors + 1 + stream_sectors:
        fat_sectors += 1
    assert fat_sectors <= 109, "too large for this writer"
    directory = fat_sectors
    fat = [0xFFFFFFFD] * fat_sectors + [0xFFFFFFFE]
    fat += [directory + 2 + index for index in range(stream_sectors - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (fat_sectors * 128 - len(fat))
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += bytes(10) + struct.pack("<IIIIIIII", fat_sectors, directory, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    header += struct.pack("<109I", *range(fat_sectors), *[0xFFFFFFFF] * (109 - fat_sectors))
    entries = _directory_entry("Root Entry", 5, 0xFFFFFFFE, 0, child=1)
    entries += _directory_entry("Workbook", 2, directory + 1, len(stream))
    entries += bytes(256)  # two unused entries fill the sector
    body = struct.pack(f"<{len(fat)}I", *fat) + entries + stream.ljust(stream_sectors * 512, b"\x00")
    return header + body


def _directory_entry(name: str, kind: int, start: int, size: int, *, child: int = 0xFFFFFFFF) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le")
    entry = encoded.ljust(64, b"\x00") + struct.pack("<HBBIII", len(encoded), kind, 1, 0xFFFFFFFF, 0xFFFFFFFF, child)
    return entry + bytes(16 + 4 + 16) + struct.pack("<III", start, size, 0)


def write_tall_dimensions_xls(path: Path) -> Path:
    """A 4 KB .xls whose DIMENSIONS record declares 65,536 rows x 256 columns (Excel 97's whole sheet): calamine
    reserves that many cells (40 bytes each, 671 MB) before reading any."""
    return write_xls(
        path,
        ["Shipping Mark", "PM1 KOFI"],
        [(0, 0, 0), (1, 0, 1)],
        dimensions=struct.pack("<IIHHH", 0, 65536, 0, 256, 0),
    )


def write_many_strings_xls(path: Path, count: int) -> Path:
    """An .xls whose SST holds `count` one-character strings, 4 bytes each on disk and about 56 in calamine."""
    return write_xls(path, ["x"] * count, [(0, 0, 0)])


def write_looping_xls(path: Path) -> Path:
    """A small .xls whose directory's chain of sectors points back to itself: calamine follows it for ever, growing
    a buffer until memory runs out."""
    data = bytearray(write_xls(path, ["Shipping Mark"], [(0, 0, 0)]).read_bytes())
    (directory,) = struct.unpack_from("<I", data, 48)
    struct.pack_into("<I", data, 512 + 4 * directory, directory)  # the FAT (sector 0) sends it to itself
    path.write_bytes(bytes(data))
    return path


def _xlsb_record(typ: int, data: bytes = b"") -> bytes:
    head = bytes([typ]) if typ < 0x80 else bytes([(typ & 0x7F) | 0x80, typ >> 7])
    size, length = len(data), b""
    while True:
        length += bytes([(size & 0x7F) | (0x80 if size > 0x7F else 0)])
        size >>= 7
        if not size:
            return head + length + data


def write_xlsb_with(path: Path, parts: dict[str, bytes]) -> Path:
    """tests/imports/files/basic.xlsb with some of its parts replaced by `parts` (zip member → bytes)."""
    with zipfile.ZipFile(FILES / "basic.xlsb") as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, parts.get(info.filename, source.read(info)))
    return path


def write_far_cell_xlsb(path: Path) -> Path:
    """An .xlsb whose sheet holds a number in A1 and one at row 1,000,000, column 16,000: calamine allocates the
    range between them whole, 16 billion cells."""

    def number(row: int, column: int) -> bytes:
        row_header = _xlsb_record(0x00, struct.pack("<I", row) + bytes(13))  # BrtRowHdr
        return row_header + _xlsb_record(0x05, struct.pack("<IId", column, 0, 1.0))  # BrtCellReal

    sheet = (
        _xlsb_record(0x81)  # BrtBeginSheet
        + _xlsb_record(0x94, struct.pack("<IIII", 0, 999_999, 0, 15_999))  # BrtWsDim
        + _xlsb_record(0x91)  # BrtBeginSheetData
        + number(0, 0)
        + number(999_999, 15_999)
        + _xlsb_record(0x92)  # BrtEndSheetData
        + _xlsb_record(0x82)  # BrtEndSheet
    )
    return write_xlsb_with(path, {"xl/worksheets/sheet1.bin": sheet})


def write_many_strings_xlsb(path: Path, count: int) -> Path:
    """basic.xlsb with `count` one-character strings added to its shared strings (calamine keeps each as a string;
    the sheet's own strings stay first, so its cells still find theirs)."""
    with zipfile.ZipFile(FILES / "basic.xlsb") as source:
        original = source.read("xl/sharedStrings.bin")
    assert original[:3] == b"\x9f\x01\x08" and original[-3:] == b"\xa0\x01\x00", "BrtBeginSst … BrtEndSst"
    total, unique = struct.unpack_from("<II", original, 3)
    item = _xlsb_record(0x13, b"\x00" + struct.pack("<I", 1) + "x".encode("utf-16-le"))  # BrtSSTItem
    strings = original[:3] + struct.pack("<II", total, unique + count) + original[11:-3] + item * count + original[-3:]
    return write_xlsb_with(path, {"xl/sharedStrings.bin": strings})


_ODS_CELL = '<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>'


def write_padded_ods(path: Path, rows: list[list[str]]) -> Path:
    """An .ods laid out as LibreOffice saves one: every row ends in a repeat of empty cells to column XFD, and the
    sheet in a repeat of empty rows to row 1,048,576."""
    body = "".join(
        "<table:table-row>"
        + "".join(_ODS_CELL.format(escape(value)) for value in row)
        + f'<table:table-cell table:number-columns-repeated="{16384 - len(row)}"/></table:table-row>'
        for row in rows
    )
    empty = '<table:table-cell table:number-columns-repeated="16384"/>'
    tail = f'<table:table-row table:number-rows-repeated="{1_048_576 - len(rows)}">{empty}</table:table-row>'
    columns = '<table:table-column table:number-columns-repeated="16384"/>'
    return write_ods(path, f'<table:table table:name="Customers">{columns}{body}{tail}</table:table>')


def write_spaces_ods(path: Path, spaces: int = 1_000_000_000) -> Path:
    """A 1 KB .ods whose one cell is `spaces` spaces written as `<text:s text:c=…/>`: calamine builds that string."""
    cell = _ODS_CELL.format(f'x<text:s text:c="{spaces}"/>')
    return write_ods(
        path, f'<table:table table:name="Customers"><table:table-row>{cell}</table:table-row></table:table>'
    )


def write_repeated_text_ods(path: Path, rows: int = 10_000, size: int = 100_000) -> Path:
    """An .ods of one `size`-character cell in a row repeated `rows` times: a few cells, but calamine copies the
    text into every repeated row (1 GB by default)."""
    cell = _ODS_CELL.format("x" * size)
    row = f'<table:table-row table:number-rows-repeated="{rows}">{cell}</table:table-row>'
    return write_ods(path, f'<table:table table:name="Customers">{row}</table:table>')


def write_wide_empty_rows_ods(path: Path, rows: int = 2_000) -> Path:
    """An .ods of `rows` rows that hold nothing but 16,000 empty cells followed by one more empty cell: calamine
    materialises the 16,000 of each row (56 bytes a cell) while reading, though no cell has a value."""
    cells = '<table:table-cell table:number-columns-repeated="16000"/><table:table-cell/>'
    row = f"<table:table-row>{cells}</table:table-row>"
    return write_ods(path, f'<table:table table:name="Customers">{row * rows}</table:table>')


def write_unclosed_ods(path: Path) -> Path:
    """An .ods whose content.xml stops inside its table, as a cut upload does: calamine reads on past the end for
    ever, looking for the table's end."""
    write_padded_ods(path, [["Shipping Mark"], ["PM1 KOFI"]])
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    content = parts["content.xml"]
    parts["content.xml"] = content[: content.index(b"</table:table>")]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr(zipfile.ZipInfo("mimetype"), parts.pop("mimetype"))  # stored, first
        for name, data in parts.items():
            target.writestr(name, data)
    return path
