"""Bounds a workbook must keep before python-calamine (or the streaming .xlsx reader) is given it.

calamine (0.37, read with python-calamine 0.9) sizes several allocations from what a file declares or repeats rather
than from what it holds, and a failed allocation in native code aborts the whole process. What it allocates from:

* .xlsx shared strings: `uniqueCount` is reserved up front (24 bytes a slot, so a 300-byte file can ask for
  gigabytes), then every `<si>` becomes a string, and every cell showing one gets its own copy of the text (in
  .xlsb and .xls too: one long string in many cells is gigabytes from kilobytes);
* .xlsb: every BrtSSTItem becomes a string (the declared count is not reserved), every record's declared length is
  allocated before it is read; BrtWsDim, the declared range, reserves at most 100,000 cells, so is not a bound;
* .xls: the sheets of the whole workbook are parsed when it is opened; a sheet's DIMENSIONS record reserves rows x
  columns cells (40 bytes each), the SST becomes one string per entry, and the compound file's header and chains are
  followed as they say (a cyclic chain grows a buffer for ever);
* .ods: all tables are read when the file is opened; empty cells before a later cell of a row are materialised (up
  to 16,384 a row), rows repeated by `number-rows-repeated` between rows with content are copied into the range, and
  so is a repeated cell's text (`<text:s text:c="…"/>` makes that many spaces);
* every format: the range handed over is the bounding box of the cells with content, allocated whole, and
  python-calamine's row iterator then yields every row from row 1 as wide as that box.

Each check here reads only what it needs, in chunks (never a part whole: an .xls stream is a view of the file, or a
copy when its sectors are scattered, within the size an .xls may have), mirrors how calamine finds the parts it
reads, and refuses the file with a code and a message saying what to do. Per-item costs: bench/README.md.
"""

from __future__ import annotations

import mmap
import re
import struct
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO
from xml.parsers import expat

from django.conf import settings

from .errors import ImportFileError
from .xlsx_stream import XlsxStreamError, _Book

# A sheet whose cells, counted from A1 to the furthest cell with content, exceed this is not given to calamine: it
# allocates its range whole (bytes per cell: bench/README.md) and python-calamine's iterator walks it from row 1. A
# 100,000-row sheet of up to 26 columns fits; readers.py sends a larger .xlsx to the streaming reader.
CALAMINE_MAX_CELLS = 4_000_000
# Bytes a shared string costs beyond its text, which the part's unpacked size stands for: calamine's 24-byte slot
# and heap block (58 measured for strings of 1 to 24 characters); the streaming reader's 8-byte offset, its array's
# growth included (10.5 measured). The `per-string cost` command in bench/README.md measures both.
CALAMINE_STRING_BYTES = 58
STREAM_STRING_BYTES = 11
# calamine's per-cell costs (Rust type sizes): a range cell is 32 bytes; an .xls cell waiting to be placed 40; an
# .ods cell read before the range is built 56 (its value and its formula text).
RANGE_CELL_BYTES = 32
XLS_CELL_BYTES = 40
ODS_RAW_CELL_BYTES = 56
HEAP_BLOCK_BYTES = 32  # the least a non-empty string costs on the heap

CHUNK_BYTES = 1 << 20
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError)


def budget_bytes() -> int:
    """What one import may add to its process (IMPORT_MAX_RSS_MB)."""
    return settings.IMPORT_MAX_RSS_MB * 1024 * 1024


def strings_budget_bytes() -> int:
    """Half the budget for calamine's shared strings: the sheet's range (up to CALAMINE_MAX_CELLS x 32 bytes, 128 MB)
    comes on top, and the worker's RLIMIT_DATA leaves a quarter above the budget, no more."""
    return budget_bytes() // 2


def check_workbook(path: Path, file_format: str) -> None:
    """Refuse an .ods, .xls or .xlsb that would make calamine allocate past the budget (nothing for other formats)."""
    check = {"ods": check_ods, "xls": check_xls, "xlsb": check_xlsb}.get(file_format)
    if check is not None:
        check(path)


# --- the refusals --------------------------------------------------------------------------------------------------


SAVE_AS = "Open it in Excel or LibreOffice, save it as .xlsx or .csv (File → Save As) and upload that copy instead."


def sheet_too_large(file_format: str, sheet: str, rows: int, columns: int) -> ImportFileError:
    return ImportFileError(
        "sheet_too_large",
        f"Sheet {sheet!r} reaches row {rows:,} and column {columns:,}: {rows * columns:,} cells counted from A1, "
        f"more than the {CALAMINE_MAX_CELLS:,} a .{file_format} file may span. Delete the unused rows and columns "
        f"(or the stray cell far from the data), or: {SAVE_AS}",
        sheet=sheet,
        limit_cells=CALAMINE_MAX_CELLS,
    )


def too_many_cells(file_format: str, sheet: str, cells: int) -> ImportFileError:
    return ImportFileError(
        "sheet_too_large",
        f"Sheet {sheet!r} holds {cells:,} cell records, more than the {CALAMINE_MAX_CELLS:,} a .{file_format} file "
        f"may hold. {SAVE_AS}",
        sheet=sheet,
        limit_cells=CALAMINE_MAX_CELLS,
    )


def too_many_shared_strings(file_format: str, count: int, needed: int) -> ImportFileError:
    """`count`: the entries counted before the check could stop, or declared (the table may hold more)."""
    return ImportFileError(
        "too_many_shared_strings",
        f"The .{file_format} workbook's table of shared texts ({count:,} texts or more) is too large: reading it "
        f"would need more than {needed // 1048576:,} MB; an import may use {settings.IMPORT_MAX_RSS_MB:,} MB. "
        f"{SAVE_AS}",
        limit_mb=settings.IMPORT_MAX_RSS_MB,
    )


def over_budget(file_format: str, needed: int) -> ImportFileError:
    return ImportFileError(
        "file_too_large_for_format",
        f"This .{file_format} file would need about {needed // 1048576:,} MB to read (its cells, repeated rows and "
        f"texts); an import may use {settings.IMPORT_MAX_RSS_MB:,} MB. {SAVE_AS}",
        limit_mb=settings.IMPORT_MAX_RSS_MB,
    )


def damaged(file_format: str, what: str) -> ImportFileError:
    return ImportFileError(
        "corrupt_file",
        f"The spreadsheet cannot be read: it looks damaged ({what}). Open it in Excel or LibreOffice, save it again "
        f"(or as .csv), and upload the saved copy.",
        file_format=file_format,
    )


def _check_extent(file_format: str, sheet: str, rows: int, columns: int) -> None:
    if rows * columns > CALAMINE_MAX_CELLS:
        raise sheet_too_large(file_format, sheet, rows, columns)


# --- zip plumbing --------------------------------------------------------------------------------------------------


def _member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """The member calamine opens for `name`: the exact name, else the one equal to it ignoring case (and \\ for /)."""
    try:
        return archive.getinfo(name)
    except KeyError:
        wanted = name.lower()
        return next((i for i in archive.infolist() if i.filename.replace("\\", "/").lower() == wanted), None)


def _chunks(part: IO[bytes]) -> Iterator[bytes]:
    while chunk := part.read(CHUNK_BYTES):
        yield chunk


# --- .xlsx shared strings ------------------------------------------------------------------------------------------

_UNIQUE_COUNT = re.compile(rb"""<(?:[\w.-]+:)?sst\b[^>]*?\suniqueCount\s*=\s*["'](\d+)["']""")


def xlsx_strings_fit_calamine(path: Path, cells: int = 0) -> bool:
    """Whether calamine may load this .xlsx's shared strings (False: only the streaming reader, which keeps them on
    disk, may read it). Raises `too_many_shared_strings` when even the streaming reader could not hold them. With
    `cells` (the most cell tags of one worksheet, which readers.py counts), calamine's copies of the strings into the
    cells must fit too. A zip that cannot be read goes to the streaming reader, which says what is wrong with it."""
    try:
        with zipfile.ZipFile(path) as archive:
            try:
                stream_part = _Book(archive).shared_strings
            except XlsxStreamError:
                stream_part = None
            # calamine reads <workbook folder>/sharedStrings.xml ignoring case: whichever member that is, it ends so.
            # Every candidate is checked (no early return): the streaming reader's part must be, whatever the others.
            fits = [
                _xlsx_strings_fit(archive, info, stream=info.filename == stream_part, cells=cells)
                for info in archive.infolist()
                if info.filename.replace("\\", "/").lower().endswith("sharedstrings.xml")
                or info.filename == stream_part
            ]
    except (*_READ_ERRORS, expat.ExpatError):
        return False
    return all(fits)


# What calamine spends on a cell showing a shared string, beyond the text it copies into it: the cell while the sheet
# is read (40 bytes), its slot in the range (32), the slot once converted for Python (32) and the copy's heap block.
CALAMINE_COPY_BYTES = 40 + 32 + 32 + HEAP_BLOCK_BYTES


def _xlsx_strings_fit(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, stream: bool, cells: int) -> bool:
    """The shared strings of `info`. For calamine: count x CALAMINE_STRING_BYTES + the part's bytes (the declared
    uniqueCount is reserved), within half the budget, and with `cells` copies of the longest, within the budget. For
    the streaming reader, when it reads this part: count x STREAM_STRING_BYTES + the bytes it spills to disk and
    maps back. The part is counted only when bounds from its size cannot decide."""
    unpacked = info.file_size
    with archive.open(info) as part:
        head = part.read(64 * 1024)
        declared = _UNIQUE_COUNT.search(head)
        reserved = int(declared.group(1)) if declared else 0
        count, longest = unpacked // 5, unpacked  # `<si/>` is the shortest entry, the part the longest
        if not _strings_fit(count, reserved, longest, unpacked, stream=stream, cells=cells):
            enough = max((strings_budget_bytes() - unpacked) // CALAMINE_STRING_BYTES, 0)
            enough = max(enough, (budget_bytes() - unpacked) // STREAM_STRING_BYTES if stream else 0)
            count, longest = _scan_entries(head, part, enough)
    if stream and count * STREAM_STRING_BYTES + unpacked > budget_bytes():
        # The streaming reader reserves nothing for the declared count: only what the part holds counts for it.
        raise too_many_shared_strings("xlsx", max(count, reserved), count * STREAM_STRING_BYTES + unpacked)
    return _strings_fit(count, reserved, longest, unpacked, stream=False, cells=cells)


def _strings_fit(count: int, reserved: int, longest: int, unpacked: int, *, stream: bool, cells: int) -> bool:
    if stream and count * STREAM_STRING_BYTES + unpacked > budget_bytes():
        return False
    held = max(count, reserved) * CALAMINE_STRING_BYTES + unpacked
    return held <= strings_budget_bytes() and held + cells * (CALAMINE_COPY_BYTES + longest) <= budget_bytes()


def _scan_entries(head: bytes, part: IO[bytes], enough: int) -> tuple[int, int]:
    """(entries, bytes of the longest): `<si` starts, any prefix (calamine matches the local name), and the most
    bytes between two, a chunk at a time in C; stops once past `enough` entries. A `:si` in a text counts as an
    entry and a prefixed entry's bytes join the one before: both err on the safe side."""
    count = longest = open_length = 0  # open_length: bytes of the entry still open, before `tail`
    tail = b""
    for chunk in _prepend(head, part):
        data = tail + chunk
        pieces = data.split(b"<si")
        count += len(pieces) - 1 + data.count(b":si")
        if len(pieces) > 1:
            longest = max(longest, open_length + len(pieces[0]), *map(len, pieces[1:-1]))
            open_length = 0
        tail = pieces[-1][-2:]  # a `<si` cut by the chunk boundary is completed by the next chunk
        open_length += len(pieces[-1]) - len(tail)
        if count > enough:
            break
    return count, max(longest, open_length + len(tail))


def _prepend(head: bytes, part: IO[bytes]) -> Iterator[bytes]:
    yield head
    yield from _chunks(part)


# --- .xlsb ---------------------------------------------------------------------------------------------------------

# The longest record calamine is let read: each is allocated at its declared length before it is read. A cell's
# text (32,767 characters) or a shared string with its runs needs well under this.
XLSB_MAX_RECORD = 1 << 20
_XLSB_CELLS = frozenset(range(2, 11))  # BrtCellRk … BrtFmlaBool: the records calamine turns into cells
_XLSB_ROW_LIMIT = 0x100000  # calamine stops reading a sheet at a row header past this


def _xlsb_records(part: IO[bytes], name: str, *, heads: bool = False) -> Iterator[tuple[int, bytes | int]]:
    """(type, payload) of each record of an .xlsb part, read a chunk at a time; with `heads`, (type, the payload's
    first 4 bytes as a number, or -1) instead, which is all a sheet's walk needs and spares a copy a record. A
    truncated record ends the walk (calamine reports it); one longer than XLSB_MAX_RECORD is refused unread."""
    buffer, at, end = b"", 0, 0
    while True:
        if end - at < 6:
            buffer, at = buffer[at:] + part.read(CHUNK_BYTES), 0
            end = len(buffer)
            if end < 2:
                return
        typ = buffer[at]  # one byte, or two of seven bits (calamine ignores the second's high bit)
        if typ < 0x80:
            at += 1
        else:
            typ = (typ & 0x7F) | ((buffer[at + 1] & 0x7F) << 7)
            at += 2
        length = buffer[at] if at < end else 0  # up to four bytes of seven bits
        at += 1
        if length >= 0x80:
            length, at = _xlsb_length(buffer, at - 1, name)
        if at + length > end:
            buffer, at = buffer[at:] + part.read(max(CHUNK_BYTES, length)), 0
            end = len(buffer)
            if length > end:
                return
        if heads:
            yield typ, int.from_bytes(buffer[at : at + 4], "little") if length >= 4 else -1
        else:
            yield typ, buffer[at : at + length]
        at += length


def _xlsb_length(buffer: bytes, start: int, name: str) -> tuple[int, int]:
    """A record's length of two to four bytes at `start`, and where its payload begins."""
    length = shift = 0
    at = start
    while at < min(start + 4, len(buffer)):
        byte = buffer[at]
        at += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    if length > XLSB_MAX_RECORD:
        raise damaged("xlsb", f"part {name} holds a record of {length:,} bytes")
    return length, at


def check_xlsb(path: Path) -> None:
    """An .xlsb's shared strings, the records of the parts calamine reads when opening it, and each sheet's cells."""
    try:
        with zipfile.ZipFile(path) as archive:
            for name in ("xl/styles.bin", "xl/workbook.bin"):
                info = _member(archive, name)
                if info is not None:
                    with archive.open(info) as part:
                        for _record in _xlsb_records(part, name):
                            pass
            held, longest = _check_xlsb_strings(archive)
            for sheet, name in _xlsb_sheets(archive):
                info = _member(archive, name)
                if info is not None:
                    with archive.open(info) as part:
                        cells = _check_xlsb_sheet(part, name, sheet)
                    # calamine copies a shared string's text into every cell that shows it
                    if held + cells * (CALAMINE_COPY_BYTES + longest) > budget_bytes():
                        raise over_budget("xlsb", held + cells * (CALAMINE_COPY_BYTES + longest))
    except (*_READ_ERRORS, expat.ExpatError, struct.error, IndexError) as exc:
        # Not left to calamine: what this check cannot read, calamine's more lenient readers might.
        raise damaged("xlsb", str(exc)[:80]) from exc


def _check_xlsb_strings(archive: zipfile.ZipFile) -> tuple[int, int]:
    """What calamine holds for the shared strings (refused past half the budget), and the most UTF-8 bytes one of
    them can take (its UTF-16 payload x 1.5)."""
    info = _member(archive, "xl/sharedStrings.bin")
    if info is None:
        return 0, 0
    limit = (strings_budget_bytes() - info.file_size) // CALAMINE_STRING_BYTES
    count = longest = 0
    with archive.open(info) as part:
        for typ, payload in _xlsb_records(part, info.filename):
            if typ == 0x0013:  # BrtSSTItem
                count += 1
                longest = max(longest, len(payload))
                if count > limit:
                    raise too_many_shared_strings("xlsb", count, count * CALAMINE_STRING_BYTES + info.file_size)
    return count * CALAMINE_STRING_BYTES + info.file_size, longest * 3 // 2


def _xlsb_sheets(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """(name, zip member) of each sheet, as calamine finds them: BrtBundleSh's relationship id in xl/workbook.bin,
    its target in xl/_rels/workbook.bin.rels, under xl/."""
    targets: dict[str, str] = {}
    if "xl/_rels/workbook.bin.rels" in archive.namelist():

        def start(name: str, attrs: dict[str, str]) -> None:
            if name.rpartition(":")[2] == "Relationship" and "Id" in attrs and "Target" in attrs:
                targets[attrs["Id"]] = attrs["Target"]

        _parse_xml(archive, archive.getinfo("xl/_rels/workbook.bin.rels"), start)
    info = _member(archive, "xl/workbook.bin")
    sheets = []
    if info is not None:
        with archive.open(info) as part:
            for typ, payload in _xlsb_records(part, info.filename):
                if typ == 0x009C and len(payload) >= 12:  # BrtBundleSh
                    (rel_len,) = struct.unpack_from("<I", payload, 8)
                    if rel_len != 0xFFFFFFFF:
                        rel_id = payload[12 : 12 + rel_len * 2].decode("utf-16-le", "replace")
                        name = _xlsb_sheet_name(payload, 12 + rel_len * 2)
                        if rel_id in targets:
                            sheets.append((name, f"xl/{targets[rel_id]}"))
    return sheets


def _xlsb_sheet_name(payload: bytes, at: int) -> str:
    if len(payload) < at + 4:
        return "?"
    (length,) = struct.unpack_from("<I", payload, at)
    return payload[at + 4 : at + 4 + 2 * min(length, 255)].decode("utf-16-le", "replace")


def _check_xlsb_sheet(part: IO[bytes], name: str, sheet: str) -> int:
    """The furthest cell calamine would place, and how many cells it would hold (returned). BrtWsDim (the declared
    range) is not the bound: calamine reserves at most 100,000 cells for it."""
    row = rows = columns = cells = 0
    for typ, head in _xlsb_records(part, name, heads=True):
        if typ in _XLSB_CELLS and head >= 0:
            cells += 1
            if row >= rows or head >= columns:  # only a new furthest cell can break the bound
                rows, columns = max(rows, row + 1), max(columns, head + 1)
                _check_extent("xlsb", sheet, rows, columns)
        elif typ == 0x0000 and head >= 0:  # BrtRowHdr
            row = head
            if row > _XLSB_ROW_LIMIT:
                break
        elif typ == 0x0092:  # BrtEndSheetData
            break
    if cells > CALAMINE_MAX_CELLS:
        raise too_many_cells("xlsb", sheet, cells)
    return cells


def _parse_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, start: Callable[[str, dict[str, str]], None]) -> None:
    """Stream a small XML part through `start` (element starts only), refusing a DOCTYPE as the xlsx reader does."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.StartElementHandler = start
    with archive.open(info) as part:
        for chunk in _chunks(part):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


def _refuse_doctype(*_args: object) -> None:
    raise ValueError("a document type declaration")  # entity expansion starts here; no OOXML or ODF part has one


# --- .xls: the compound file ---------------------------------------------------------------------------------------

_END_OF_CHAIN = 0xFFFFFFFE
_SPECIAL_SECTORS = 0xFFFFFFFA  # this and above are not sector numbers
_DIFAT_SECTOR = 0xFFFFFFFC
_WORKBOOK_STREAMS = ("Workbook", "Book", "WORKBOOK", "BOOK")  # the names calamine tries, in its order
_MINI_STREAM_CUTOFF = 4096


class _Cfb:
    """The compound (OLE) file around an .xls, followed the way calamine follows it: a chain that loops, a header
    that asks for more than the file could hold, or a sector past the end is refused as damage."""

    def __init__(self, data: mmap.mmap) -> None:
        if len(data) < 512:
            raise damaged("xls", "it is shorter than its header")
        shift, fat_sectors, directory, mini_start = (
            *struct.unpack_from("<H", data, 30),
            *struct.unpack_from("<IIxxxxxxxxI", data, 44),
        )
        if shift not in (9, 12):
            raise damaged("xls", "its sector size is not 512 or 4096")
        self.data, self.size = data, 1 << shift
        self.version4 = shift == 12
        self.max_id = len(data) // self.size
        # calamine reserves the FAT at its declared length, and a DIFAT at the number bytes 62-65 make (a misread
        # of the header, harmless for a real file): 4 bytes each.
        (reserved,) = struct.unpack_from("<I", data, 62)
        (mini_sectors,) = struct.unpack_from("<I", data, 64)
        if 4 * (fat_sectors + reserved) > budget_bytes():
            raise damaged("xls", "its header declares more sectors than the file holds")
        self.fat = self._read_fat(struct.unpack_from("<109I", data, 76), struct.unpack_from("<I", data, 68)[0])
        self.entries = self._directory(directory)
        self.mini: bytes | None = None
        if mini_sectors:
            root_start, root_length = self.entries[0][1:] if self.entries else (_END_OF_CHAIN, 0)
            self.mini = bytes(self._stream(root_start, root_length))
            fat_bytes = self._stream(mini_start, mini_sectors * self.size)
            self.mini_fat = array("I", bytes(fat_bytes[: len(fat_bytes) // 4 * 4]))

    def sector(self, number: int) -> memoryview:
        if number > self.max_id:
            raise damaged("xls", f"sector {number:,} lies past the end of the file")
        start = (number + 1) * self.size
        return memoryview(self.data)[start : start + self.size]

    def _read_fat(self, header: tuple[int, ...], next_difat: int) -> array:
        difat, seen = list(header), set()
        while next_difat < _SPECIAL_SECTORS:
            if next_difat in seen:
                raise damaged("xls", "its sector table loops")
            seen.add(next_difat)
            difat.extend(
                struct.unpack(f"<{self.size // 4}I", self.sector(next_difat).tobytes().ljust(self.size, b"\xff"))
            )
            next_difat = difat.pop()
        numbers = [number for number in difat if number < _DIFAT_SECTOR]
        if len(numbers) > self.max_id + 1:
            raise damaged("xls", "its sector table is longer than the file")
        fat = array("I")
        for number in numbers:
            fat.frombytes(self.sector(number).tobytes().ljust(self.size, b"\xff"))
        return fat

    def chain(self, start: int, length: int, fat: array, size: int) -> list[int]:
        """The sectors of a stream of `length` bytes from `start` (calamine stops at the end mark or the length)."""
        numbers, seen = [], set()
        number = start
        while number != _END_OF_CHAIN and len(numbers) * size < length:
            if number in seen:
                raise damaged("xls", "a chain of sectors loops")
            if number >= len(fat):
                raise damaged("xls", f"sector {number:,} is not in the sector table")
            seen.add(number)
            numbers.append(number)
            number = fat[number]
        return numbers

    def _stream(self, start: int, length: int) -> memoryview | bytearray:
        """A stream in big sectors: a view of the file when its sectors follow each other (as writers lay them
        out), else a copy, which the threshold on an .xls file's size bounds."""
        numbers = self.chain(start, length, self.fat, self.size)
        if not numbers:
            return bytearray()
        if numbers == list(range(numbers[0], numbers[0] + len(numbers))):
            begin = (numbers[0] + 1) * self.size
            return memoryview(self.data)[begin : min(begin + length, begin + len(numbers) * self.size)]
        return bytearray(b"".join(self.sector(number) for number in numbers)[:length])

    def _directory(self, start: int) -> list[tuple[str, int, int]]:
        """(name, first sector, length) of every entry, in the order calamine searches them."""
        raw = self._stream(start, 1 << 62)
        entries = []
        for at in range(0, len(raw) - 127, 128):
            name = bytes(raw[at : at + 64]).decode("utf-16-le", "replace").split("\x00", 1)[0]
            first, length = struct.unpack_from("<IQ" if self.version4 else "<II", raw, at + 116)
            entries.append((name, first, length))
        return entries

    def workbook(self) -> memoryview | bytearray | None:
        """The Workbook stream calamine parses: the first entry of the first of its names that exists."""
        for wanted in _WORKBOOK_STREAMS:
            for name, first, length in self.entries:
                if name == wanted:
                    if length >= _MINI_STREAM_CUTOFF:
                        return self._stream(first, length)
                    return self._mini_stream(first, length)
        return None

    def _mini_stream(self, start: int, length: int) -> bytes:
        if self.mini is None:
            raise damaged("xls", "a small stream has no mini stream to live in")
        numbers = self.chain(start, length, self.mini_fat, 64)
        if any((number + 1) * 64 > len(self.mini) for number in numbers):
            raise damaged("xls", "a small stream lies past the mini stream")
        return b"".join(self.mini[number * 64 : number * 64 + 64] for number in numbers)[:length]


# --- .xls: the BIFF records ----------------------------------------------------------------------------------------

_CONTINUE = 0x003C
# CONTINUE records calamine gathers after one record (it takes them off the front of a list, one at a time, so a
# long run costs time squared). An SST in the largest .xls calamine is given needs about 6,000.
XLS_MAX_CONTINUES = 20_000
_XLS_CELLS = frozenset({0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006})  # row, column first
_XLS_MUL_RK, _XLS_STRING, _XLS_DIMENSIONS, _XLS_LABEL_SST, _XLS_BOF, _XLS_EOF = 0xBD, 0x207, 0x200, 0xFD, 0x809, 0xA


def _biff_records(stream: memoryview | bytes, position: int) -> Iterator[tuple[int, int, int, list[tuple[int, int]]]]:
    """(type, data offset, data length, CONTINUE records that follow as (offset, length)) from `position` until the
    stream ends or a record is cut short (calamine stops there with an error)."""
    unpack, end = struct.unpack_from, len(stream)
    while position + 4 <= end:
        typ, length = unpack("<HH", stream, position)
        start, position = position + 4, position + 4 + length
        if position > end:
            return
        continues: list[tuple[int, int]] = []
        while position + 4 <= end and unpack("<H", stream, position)[0] == _CONTINUE:
            (more,) = unpack("<H", stream, position + 2)
            if position + 4 + more > end:
                return
            continues.append((position + 4, more))
            position += 4 + more
            if len(continues) > XLS_MAX_CONTINUES:
                raise damaged("xls", f"a record is continued more than {XLS_MAX_CONTINUES:,} times")
        yield typ, start, length, continues


class _XlsSheet:
    """What calamine would make of one sheet's records."""

    def __init__(self) -> None:
        self.rows = self.columns = self.cells = self.declared = 0
        self.declared_shape = (0, 0)
        self.cloned = 0  # bytes of shared strings copied into cells (calamine copies the text into each)

    def place(self, row: int, column: int, count: int = 1) -> None:
        if row >= self.rows:
            self.rows = row + 1
        if column >= self.columns:
            self.columns = column + 1
        self.cells += count

    def dimensions(self, data: memoryview | bytes) -> None:
        """DIMENSIONS: calamine reserves (last row - first row + 1) x (last column - first column + 1) cells, with
        its unsigned 32-bit wrap-around, and a first column past 255 (or past the last) taken as 0."""
        if len(data) == 14:
            first_row, last_row, first_column, last_column = struct.unpack_from("<IIHH", data)
        elif len(data) == 10:
            first_row, last_row, first_column, last_column = struct.unpack_from("<HHHH", data)
        else:
            return
        if first_column > 0xFF or last_column < first_column:
            first_column = 0
        if last_row >= 1 and last_column >= 1:
            rows = (last_row - 1 - first_row + 1) % (1 << 32)
            columns = (last_column - 1 - first_column + 1) % (1 << 32)
            if rows * columns > self.declared:
                self.declared, self.declared_shape = rows * columns, (rows, columns)


def _walk_xls_sheet(stream: memoryview | bytes, position: int, lengths: array) -> _XlsSheet:
    """One sheet's substream as calamine walks it: until its EOF, skipping embedded substreams (charts). One loop,
    with no generator between it and the records: it runs once a cell."""
    sheet, depth, seen_bof, unpack, end = _XlsSheet(), 0, False, struct.unpack_from, len(stream)
    formula, run, strings = (0, 0), 0, len(lengths)
    rows = columns = cells = cloned = 0
    while position + 4 <= end:
        typ, length = unpack("<HH", stream, position)
        start, position = position + 4, position + 4 + length
        if position > end:
            break
        run = run + 1 if typ == _CONTINUE else 0
        if run > XLS_MAX_CONTINUES:
            raise damaged("xls", f"a record is continued more than {XLS_MAX_CONTINUES:,} times")
        if depth:
            depth += 1 if typ == _XLS_BOF else -1 if typ == _XLS_EOF else 0
        elif typ == _XLS_LABEL_SST and length >= 10:  # the commonest cell: placed here, not through place()
            row, column, _format, index = unpack("<HHHI", stream, start)
            rows, columns = (row + 1 if row >= rows else rows), (column + 1 if column >= columns else columns)
            cells += 1
            cloned += lengths[index] + HEAP_BLOCK_BYTES if index < strings else 0
        elif typ in _XLS_CELLS and length >= 4:
            row, column = unpack("<HH", stream, start)
            sheet.place(row, column)
            if typ == 0x0006:
                formula = (row, column)
        elif typ == _XLS_BOF:
            depth, seen_bof = (1, seen_bof) if seen_bof else (0, True)
        elif typ == _XLS_EOF:
            break
        elif typ == _XLS_STRING:
            sheet.place(*formula)
        elif typ == _XLS_MUL_RK and length >= 6:
            row, first = unpack("<HH", stream, start)
            (last,) = unpack("<H", stream, start + length - 2)
            if last >= first and length == 6 + 6 * (last - first + 1):
                sheet.place(row, last, last - first + 1)
        elif typ == _XLS_DIMENSIONS:
            sheet.dimensions(stream[start : start + length])
    sheet.place(rows - 1, columns - 1, cells)
    sheet.cloned += cloned
    return sheet


class _SstReader:
    """The SST's strings as calamine reads them (MS-XLS 2.5.293): a header in one record, characters that may go on
    in the next CONTINUE (which then starts with its own flags byte), formatting runs and extra bytes skipped."""

    def __init__(self, segments: list[memoryview | bytes]) -> None:
        self.segments, self.index, self.data, self.at = segments, 0, segments[0], 0

    def next_segment(self) -> bool:
        if self.index + 1 >= len(self.segments):
            return False
        self.index += 1
        self.data, self.at = self.segments[self.index], 0
        return True

    def string(self) -> int | None:
        """The next string's size in UTF-8 bytes at most, or None where calamine would stop with an error."""
        data, at = self.data, self.at
        if at == len(data):
            return 0  # calamine reads an empty CONTINUE as an empty string
        if len(data) - at < 3:
            return None
        characters, flags = struct.unpack_from("<HB", data, at)
        at += 3
        if not flags & 0xC:  # no formatting runs and no extra block: the common string, read here at once
            end = at + (characters << (flags & 0x1))
            if end <= len(data):
                self.at = end
                return characters * (3 if flags & 0x1 else 2)
        runs = extra = 0
        if flags & 0x8:
            if len(data) - at < 2:
                return None
            (runs,) = struct.unpack_from("<H", data, at)
            at += 2
        if flags & 0x4:
            if len(data) - at < 4:
                return None
            (extra,) = struct.unpack_from("<i", data, at)
            at += 4
        self.at = at
        size = self._characters(characters, flags & 0x1)
        return None if size is None or extra < 0 or not self._skip(runs * 4 + extra) else size

    def _characters(self, left: int, wide: int) -> int | None:
        size = 0
        while True:
            width = 2 if wide else 1
            taken = min(left, (len(self.data) - self.at) // width)
            self.at += taken * width
            size += taken * (3 if wide else 2)  # a UTF-16 unit is at most 3 UTF-8 bytes, a Latin-1 one 2
            left -= taken
            if not left:
                return size
            if not self.next_segment() or not len(self.data):
                return None
            wide, self.at = self.data[0] & 0x1, 1

    def _skip(self, count: int) -> bool:
        while count:
            if self.at == len(self.data) and not self.next_segment():
                return False
            step = min(count, len(self.data) - self.at)
            self.at += step
            count -= step
        return True


def _sst_lengths(stream: memoryview | bytes, start: int, length: int, continues: list[tuple[int, int]]) -> array:
    """Each SST string's size in bytes, refusing the table once calamine's copy of it would pass its budget."""
    lengths = array("I")
    if length < 8:
        return lengths
    segments = [stream[start + 8 : start + length], *(stream[at : at + size] for at, size in continues)]
    reader, limit, total = _SstReader(segments), strings_budget_bytes(), 0
    while reader.at < len(reader.data) or reader.next_segment():
        size = reader.string()
        if size is None:
            break
        lengths.append(size)
        total += size + CALAMINE_STRING_BYTES
        if total > limit:
            raise too_many_shared_strings("xls", len(lengths), total)
    return lengths


def _xls_globals(stream: memoryview | bytes) -> tuple[list[tuple[int, str]], array] | None:
    """The sheets (offset, name) and the SST string sizes, from the records before the first EOF; None for an
    encrypted workbook (calamine refuses it before reading any sheet)."""
    sheets: list[tuple[int, str]] = []
    lengths = array("I")
    for typ, start, length, continues in _biff_records(stream, 0):
        if typ == 0x002F and length >= 2 and struct.unpack_from("<H", stream, start)[0]:  # FilePass
            return None
        if typ == 0x0085 and length >= 8:  # BoundSheet8
            (position,) = struct.unpack_from("<I", stream, start)
            sheets.append((position, _xls_sheet_name(bytes(stream[start + 6 : start + length]))))
        elif typ == 0x00FC:  # SST
            lengths = _sst_lengths(stream, start, length, continues)
        elif typ == _XLS_EOF:
            break
    return sheets, lengths


def _xls_sheet_name(data: bytes) -> str:
    count, flags = data[0], data[1] if len(data) > 1 else 0
    if flags & 0x1:
        return data[2 : 2 + 2 * count].decode("utf-16-le", "replace")
    return data[2 : 2 + count].decode("latin-1")


def check_xls(path: Path) -> None:
    """The compound file's structure, then each sheet's declared (DIMENSIONS) and actual extent, its cell count,
    the SST, and what calamine would hold for the whole workbook (it parses every sheet when opening it)."""
    try:
        with open(path, "rb") as handle:
            # Not closed by hand: views of it live on in a refusal's traceback, and closing it under them fails.
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        _check_xls_workbook(data)
    except (struct.error, IndexError, ValueError, OSError) as exc:
        raise damaged("xls", str(exc)[:80]) from exc


def _check_xls_workbook(data: mmap.mmap) -> None:
    cfb = _Cfb(data)
    stream = cfb.workbook()
    if stream is None:
        return  # calamine says the workbook stream is missing
    found = _xls_globals(stream)
    if found is None:
        return
    sheets, lengths = found
    needed = len(stream) + sum(lengths) + len(lengths) * CALAMINE_STRING_BYTES
    walked: dict[int, _XlsSheet] = {}
    for position, name in sheets:
        if position not in walked:  # sheets may share an offset; calamine parses each, and holds each range
            walked[position] = _check_xls_sheet(stream, position, name, lengths)
        sheet = walked[position]
        needed += sheet.rows * sheet.columns * RANGE_CELL_BYTES + sheet.cloned
    biggest = max((max(s.declared, s.cells) for s in walked.values()), default=0)
    needed += biggest * XLS_CELL_BYTES  # the cells of the sheet being parsed, before they become its range
    if needed > budget_bytes():
        raise over_budget("xls", needed)


def _check_xls_sheet(stream: memoryview | bytes, position: int, name: str, lengths: array) -> _XlsSheet:
    sheet = _walk_xls_sheet(stream, position, lengths) if position < len(stream) else _XlsSheet()
    if sheet.declared > CALAMINE_MAX_CELLS:
        raise sheet_too_large("xls", name, *sheet.declared_shape)
    _check_extent("xls", name, sheet.rows, sheet.columns)
    if sheet.cells > CALAMINE_MAX_CELLS:
        raise too_many_cells("xls", name, sheet.cells)
    return sheet


# --- .ods ----------------------------------------------------------------------------------------------------------

# calamine's own caps: rows repeated past 1,048,576 and cells past 16,384 in a row are dropped.
ODS_MAX_ROWS, ODS_MAX_COLUMNS = 1_048_576, 16_384
# content.xml is read as text, not parsed: a parser (even expat at C speed) takes twice calamine's time. The tags
# that matter outside the rows' bodies: a table's start, its end, and a row's start, each taken only where no tag
# before it is still open (so never inside an attribute's value); a row's body (its cells) is then taken whole up
# to its end tag, and must end where calamine ends the row (_ods_cells). A start tag's attributes are matched from
# where it starts (anchored, so in linear time) as XML quotes them, a `>` inside a value included, and a tag longer
# than _ODS_MAX_TAG is refused.
_ATTRIBUTES = rb"""([^>"']*(?:(?:"[^"]*"|'[^']*')[^>"']*)*)>"""
_ODS_START = re.compile(rb"<(table:table-row|table:table)(?=[\s/>])|</table:table>")
_ODS_TAG_REST = re.compile(_ATTRIBUTES)
_ODS_CELL_START = re.compile(rb"<table:(?:covered-)?table-cell(?=[\s/>])")
# A row's start tag matched where the previous row ended (rows follow each other), its attributes the group.
_ODS_ROW_START = re.compile(rb"<table:table-row(?=[\s/>])" + _ATTRIBUTES)
# The most XML one row may hold: its end must come within this (LibreOffice writes well under 1 KB a row).
ODS_MAX_ROW_BYTES = 32 * 1024 * 1024
_ODS_MAX_TAG = 64 * 1024
_ODS_CELL_ENDS = (b"</table:table-cell>", b"</table:covered-table-cell>")
# Comments, CDATA and processing instructions may hold what looks like a tag (an end of row, say) where calamine
# sees none; no spreadsheet program writes them in content.xml, so a file that has them is refused.
_ODS_OPAQUE = re.compile(rb"<!--|<!\[CDATA\[|<!DOCTYPE|<\?(?!xml[\s?])")
_ODS_ROW_END = b"</table:table-row>"
_ODS_REPEATED = re.compile(rb'number-(?:rows|columns)-repeated\s*=\s*["\']([^"\']*)')
_ODS_NAME = re.compile(rb'table:name\s*=\s*"([^"]*)"|table:name\s*=\s*\'([^\']*)\'')
_ODS_SPACES = re.compile(rb'text:c\s*=\s*["\']([0-9]+)')


class _OdsTable:
    """One table as calamine reads it: the cells it materialises while reading (every cell of a row but a last empty
    one), and the range it then builds over the cells with content, repeated rows copied in."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0  # rows so far, repeats counted (as calamine caps them)
        self.extent_rows = 0  # rows up to the last with content
        self.first_row: int | None = None  # rows before the first with content
        self.first_column, self.last_column = ODS_MAX_COLUMNS, -1
        self.read_cells = 0  # cells materialised while reading
        self.text = 0  # bytes of text while reading and once copied into the range

    def row(self, tag: bytes, body: bytes) -> None:
        repeats = min(_repeats(tag), ODS_MAX_ROWS - self.rows)
        self.rows += repeats
        width, first, last, copies = _ods_cells(body)
        self.read_cells += width
        if first < 0:
            return
        self.extent_rows = self.rows
        if self.first_row is None:
            self.first_row = self.rows - repeats
        self.first_column, self.last_column = min(self.first_column, first), max(self.last_column, last)
        # An upper bound on the row's text: all of its XML (values, formulas, markup), the spaces its `<text:s>`
        # stand for, and a heap block a cell; times the copies of its most repeated cell, and of the row.
        spaces = sum(int(count) for count in _ODS_SPACES.findall(body)) if b"text:c" in body else 0
        text = (len(body) + spaces + width * HEAP_BLOCK_BYTES) * copies
        self.text += text * (1 + repeats)

    def needed(self) -> int:
        box = (self.extent_rows - (self.first_row or 0)) * (self.last_column - self.first_column + 1)
        cells = max(box, 0) * RANGE_CELL_BYTES * 2  # the values and, as large, the formulas' range
        return cells + self.read_cells * ODS_RAW_CELL_BYTES + self.text


def _repeats(tag: bytes) -> int:
    """A row's or cell's repeat count as calamine parses it (an unsigned integer; one it cannot parse stops it)."""
    if b"repeated" not in tag:
        return 1
    found = _ODS_REPEATED.search(tag)
    return int(found.group(1)) if found and found.group(1).isdigit() else 1


def _ods_cells(body: bytes) -> tuple[int, int, int, int]:
    """A row's cells as calamine places them: (cells materialised, first and last column with content or -1, the
    most copies of one cell with content). An empty cell is materialised only when another cell follows it; one
    with any value, value type or formula attribute counts as content (calamine may find some of those empty).

    The row must end where calamine ends it: every cell closed (by its end tag, or by itself) and the last right
    before the row's end tag. Else a `</table:table-row>` inside a cell, which calamine skips, could hide the rest."""
    last_cell = body.rfind(b"<table:")  # each test below is a pass in C: this runs once a row
    if last_cell < 0:
        return 0, -1, -1, 0  # no cell (calamine stops at anything else in a row)
    name = _ODS_CELL_START.match(body, last_cell)
    if name is None:
        raise damaged("ods", "a row's last element is not a cell")
    tail, tail_end = _ods_tag_rest(body, name.end())
    closes_itself = tail.endswith(b"/")
    if not (tail_end == len(body) if closes_itself else body.endswith(_ODS_CELL_ENDS)):
        raise damaged("ods", "a row ends inside a cell")
    if body.find(b"repeated", 0, last_cell) < 0:
        # Start and end tags of cells together, and end tags of the table namespace (cells' alone in a row):
        # when every start but the last has its end, the row is plain. Anything else is counted cell by cell.
        both, ends = body.count(b"table-cell"), body.count(b"</table:")
        if both - ends == ends + closes_itself:
            return _ods_plain_cells(body, both - ends, tail)
    return _ods_each_cell(body)


def _ods_each_cell(body: bytes) -> tuple[int, int, int, int]:
    """_ods_cells a cell at a time, for a row with cells repeated before its last or closing themselves."""
    width = pending = copies = closed = starts = 0
    first = last = -1
    for attributes in _ods_cell_tags(body):  # the loop runs once a cell: the calls are inlined
        starts += 1
        closed += attributes.endswith(b"/")
        width = width + pending if width + pending < ODS_MAX_COLUMNS else ODS_MAX_COLUMNS
        repeats = _repeats(attributes) if b"repeated" in attributes else 1
        if repeats > ODS_MAX_COLUMNS - width:
            repeats = ODS_MAX_COLUMNS - width
        if b"value" in attributes or b"formula" in attributes:
            if first < 0:
                first = width
            width += repeats
            last, pending = width - 1, 0
            if repeats > copies:
                copies = repeats
        else:
            pending = repeats
    if starts != body.count(b"</table:table-cell>") + body.count(b"</table:covered-table-cell>") + closed:
        raise damaged("ods", "a row's cells do not close")
    return width, first, last, copies


def _ods_cell_tags(body: bytes) -> Iterator[bytes]:
    """The attributes of each cell's start tag in a row's body, each matched where it starts."""
    position = 0
    while found := _ODS_CELL_START.search(body, position):
        attributes, position = _ods_tag_rest(body, found.end())
        yield attributes


def _ods_tag_rest(data: bytes, position: int) -> tuple[bytes, int]:
    """The attributes of the start tag whose name ends at `position`, and where the tag ends (refused when it does
    not close within _ODS_MAX_TAG)."""
    rest = _ODS_TAG_REST.match(data, position, position + _ODS_MAX_TAG)
    if rest is None:
        raise damaged("ods", "a tag does not close")
    return rest.group(1), rest.end()


def _ods_plain_cells(body: bytes, cells: int, tail: bytes) -> tuple[int, int, int, int]:
    """_ods_cells for the row LibreOffice writes: no cell repeated but the last (its trailing empty cells), counted
    in C; `tail` is the last cell's attributes. The columns with content are bounded by the row's ends, which only
    errs on the safe side."""
    before = min(cells - 1, ODS_MAX_COLUMNS)
    if b"value" in tail or b"formula" in tail:  # the last cell has content: all its copies are placed
        copies = min(_repeats(tail), ODS_MAX_COLUMNS - before)
        return before + copies, 0, before + copies - 1, copies
    has_content = b"value" in body or b"formula" in body
    return (before, 0, before - 1, 1) if has_content and before else (before, -1, -1, 0)


def _ods_tables(part: IO[bytes]) -> list[_OdsTable]:
    """The named tables of content.xml, read a chunk at a time; a row is read whole once its end tag is in."""
    tables: list[_OdsTable] = []
    table: _OdsTable | None = None
    buffer = previous = b""
    for chunk in _prepend(b"", part):
        if _ODS_OPAQUE.search(previous + chunk):
            raise damaged("ods", "content.xml holds comments, CDATA, a DOCTYPE or processing instructions")
        previous = chunk[-8:]
        buffer, table = _ods_scan(buffer + chunk, tables, table)
        if len(buffer) > ODS_MAX_ROW_BYTES:  # what is left is one row (or tag) without its end
            raise over_budget("ods", len(buffer))
    if table is not None:  # calamine would read past the end for ever, looking for the table's end
        raise damaged("ods", f"sheet {table.name!r} has no end")
    return tables


def _ods_scan(buffer: bytes, tables: list[_OdsTable], table: _OdsTable | None) -> tuple[bytes, _OdsTable | None]:
    """Read the complete tags and rows of `buffer`; what is left (a tag or row cut by the chunk) and the open table."""
    position = 0
    while found := _ODS_START.search(buffer, position):
        resume = _ods_gap(buffer, position, found.start())
        if resume < 0:
            return buffer[-resume - 1 :], table  # a tag before it is cut by the chunk: read on
        if resume > found.start():
            position = resume  # inside a tag's attribute value: not a tag
            continue
        if found.group(1) is None:  # </table:table>
            if table is not None:
                tables.append(table)
            table, position = None, found.end()
            continue
        rest = _ODS_TAG_REST.match(buffer, found.end(), found.end() + _ODS_MAX_TAG)
        if rest is None:
            if len(buffer) - found.end() >= _ODS_MAX_TAG:
                raise damaged("ods", "a tag does not close")
            return buffer[found.start() :], table  # cut by the chunk: read on
        if found.group(1) == b"table:table":
            table = table or _ods_table(rest.group(1))  # calamine reads named tables, and no table in a table
            position = rest.end()
            continue
        position = _ods_row(buffer, rest, table)
        while position > 0 and (rest := _ODS_ROW_START.match(buffer, position)):  # the rows that follow it
            after = _ods_row(buffer, rest, table)
            if after < 0:
                return buffer[position:], table  # its end is in a later chunk
            position = after
        if position < 0:
            return buffer[found.start() :], table  # its end is in a later chunk
    resume = _ods_gap(buffer, position, len(buffer))
    return (buffer[-resume - 1 :] if resume < 0 else b""), table


def _ods_gap(buffer: bytes, start: int, end: int) -> int:
    """Whether the tags between `start` and a tag found at `end` all close before it: `end` if so; the end of the
    one still open at `end` (the tag found lies in its attribute value); or -(position + 1) of one cut by the chunk."""
    at = buffer.find(b"<", start, end)
    while at >= 0:
        rest = _ODS_TAG_REST.match(buffer, at + 1, at + 1 + _ODS_MAX_TAG)
        if rest is None:
            if len(buffer) - at > _ODS_MAX_TAG:
                raise damaged("ods", "a tag does not close")
            return -at - 1
        if rest.end() > end:
            return rest.end()
        at = buffer.find(b"<", rest.end(), end)
    return end


def _ods_table(attributes: bytes) -> _OdsTable | None:
    named = _ODS_NAME.search(attributes)
    if named is None:
        return None
    return _OdsTable(_unescape((named.group(1) or named.group(2) or b"").decode("utf-8", "replace")))


def _ods_row(buffer: bytes, rest: re.Match[bytes], table: _OdsTable | None) -> int:
    """Read the row whose start tag ends at `rest`; where it ends, or -1 when its end tag is not in `buffer` yet."""
    attributes = rest.group(1)
    closed = attributes.endswith(b"/")
    body_end = rest.end() if closed else buffer.find(_ODS_ROW_END, rest.end())
    if body_end < 0:
        return -1
    body = buffer[rest.end() : body_end]
    if b"<table:table-row" in body:
        raise damaged("ods", "a row inside a cell")
    if table is not None:
        table.row(attributes, body)
    return body_end if closed else body_end + len(_ODS_ROW_END)


def _unescape(name: str) -> str:
    """A sheet name as people typed it (XML's five escapes undone)."""
    for escaped, plain in (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&amp;", "&")):
        name = name.replace(escaped, plain)
    return name


def check_ods(path: Path) -> None:
    """Each table's extent (rows x columns up to its furthest cell with content, repeats counted) and what calamine
    would hold for the whole workbook, which it reads whole when opening it."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = _member(archive, "content.xml")
            if info is None:
                return  # calamine says content.xml is missing
            with archive.open(info) as part:
                tables = _ods_tables(part)
    except (*_READ_ERRORS, expat.ExpatError) as exc:
        # Not left to calamine: what this check cannot read, calamine's own zip reader might.
        raise damaged("ods", f"content.xml cannot be read: {str(exc)[:80]}") from exc
    needed = 0
    for table in tables:
        _check_extent("ods", table.name, table.extent_rows, table.last_column + 1)
        needed += table.needed()
    if needed > budget_bytes():
        raise over_budget("ods", needed)
