"""File → rows. Every reader yields `(row_number, values)` where row_number is the row the user sees in Excel (or the
item number in a JSON array) and values are the cells from column A; blank rows are skipped and cost nothing.

The format is decided by content, never by the file name: zip members for xlsx/xlsm/xlsb/ods, the OLE signature for
xls, and text otherwise (JSON when it starts with `[` or `{`, CSV/TSV else). Readers stream: memory is bounded by one
row, except python-calamine, which holds a sheet and is therefore used only below a size threshold (the streaming
xlsx reader takes over above it, and for a sheet whose cells lie far apart; the other calamine-only formats are refused
above it with a way out).

No row may be wider than IMPORT_MAX_COLUMNS (blank cells past the last value aside): a wider one is a file-level error,
`too_many_columns`, so what a job stores and shows (its headers, a failing row's cells) is bounded whatever the file
held. JSON may nest no deeper than its shape needs (`too_deeply_nested`), checked in one linear pass.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import re
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import ijson
import python_calamine
from django.conf import settings

from primepre.common.jsonlimits import JsonTooDeep, json_error_text

from .bounds import CALAMINE_MAX_CELLS, check_workbook, xlsx_strings_fit_calamine
from .errors import ImportFileError
from .xlsx_stream import XlsxStreamError, XlsxTooWide, iter_xlsx_rows, xlsx_sheets

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"
SPREADSHEET_FORMATS = {"xlsx", "xlsm", "xlsb", "xls", "ods"}
TEXT_SNIFF_BYTES = 64 * 1024
csv.field_size_limit(1024 * 1024)  # one cell may be large, not unbounded
# Delimiters one CSV record may hold before it is refused unread: Excel's column count. Counted on the raw lines, so
# a record of a million empty cells never becomes a list of a million strings.
CSV_MAX_DELIMITERS = 16_384
# `[{...}]` is 2 levels and `{"rows": [{...}]}` 3; one more lets a cell hold a list or an object (kept as text).
JSON_MAX_DEPTH = 4


Row = tuple[int, tuple[Any, ...]]


@dataclass
class SheetRows:
    """An opened table: its rows (an iterator, consumed once) and what we know about it up front."""

    file_format: str
    rows: Iterator[Row]
    sheet_name: str = ""
    last_row: int | None = None  # the row number of the last row, when the format tells us cheaply
    reader: str = ""

    def close(self) -> None:
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()


def detect_format(path: Path) -> str:
    """The file's real format from its bytes: xlsx, xlsm, xlsb, ods, xls, json or csv."""
    with open(path, "rb") as handle:
        head = handle.read(TEXT_SNIFF_BYTES)
    if not head.strip():
        raise ImportFileError("empty_file", "The file is empty.")
    if head.startswith(OLE_SIGNATURE):
        if _is_encrypted_package(path):
            raise _password_protected()
        return "xls"
    if head.startswith(ZIP_SIGNATURE):
        return _zip_format(path)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(
            "unsupported_format",
            "This is not a spreadsheet we can read. Upload .xlsx, .xls, .ods, .csv or .json.",
        )
    text = _decode_sample(head).lstrip("\ufeff \t\r\n")
    if not text and len(head) < TEXT_SNIFF_BYTES:
        raise ImportFileError("empty_file", "The file is empty.")  # a byte-order mark and blank lines, no more
    return "json" if text[:1] and text[:1] in "[{" else "csv"


def _zip_format(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
            content_types = archive.read("[Content_Types].xml")[:100_000] if "[Content_Types].xml" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportFileError("corrupt_file", "The file is damaged (it is not a complete zip archive).") from exc
    # Two parts of one name (ignoring case, as calamine looks some up) would let a check read one and calamine the
    # other; no spreadsheet program writes them.
    names_seen = {info.filename.replace("\\", "/").lower() for info in infos}
    if len(names_seen) != len(infos):
        raise ImportFileError("corrupt_file", "The file is damaged: it holds two parts of the same name.")
    limit = settings.IMPORT_MAX_UNCOMPRESSED_BYTES
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limit or len(infos) > 10_000:
        raise ImportFileError(
            "file_too_large",
            f"The file unpacks to {unpacked // 1_000_000:,} MB, more than the {limit // 1_000_000:,} MB allowed.",
            limit_bytes=limit,
        )
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "xl/workbook.xml" in names:
        macro_enabled = "xl/vbaProject.bin" in names or b"macroEnabled" in content_types
        return "xlsm" if macro_enabled else "xlsx"
    if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "ods"
    raise ImportFileError(
        "unsupported_format", "This zip file is not a spreadsheet. Upload .xlsx, .xls, .ods, .csv or .json."
    )


def _decode_sample(head: bytes) -> str:
    encoding = _bom_encoding(head) or "utf-8"
    try:
        return head.decode(encoding)
    except UnicodeDecodeError:
        return head.decode("utf-8", errors="ignore") if encoding == "utf-8" else head.decode("cp1252", "replace")


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    return None


def open_rows(path: Path, sheet: str | None = None, file_format: str | None = None) -> SheetRows:
    """Open `path` for reading rows. `sheet` names a worksheet; by default the first visible one."""
    file_format = file_format or detect_format(path)
    if file_format == "csv":
        return _open_csv(path)
    if file_format == "json":
        return _open_json(path)
    if file_format in {"xlsx", "xlsm"} and not _xlsx_fits_calamine(path):
        return _open_xlsx_streaming(path, sheet, file_format)
    return _open_calamine(path, sheet, file_format)


def _xlsx_fits_calamine(path: Path) -> bool:
    """Whether calamine may read this .xlsx: its shared strings, its largest sheet, the sheets' extents, and the
    strings' copies into the cells all fit. The shared strings go first: they refuse a file neither reader can hold."""
    if not xlsx_strings_fit_calamine(path):
        return False
    if _largest_sheet_part(path) > settings.IMPORT_STREAMING_THRESHOLD_BYTES:
        return False
    shared = _has_shared_strings(path)  # the cells are counted only for copies of shared strings
    cells = _sheet_cells(path, count=shared)
    return cells is not None and (not shared or xlsx_strings_fit_calamine(path, cells))


def _has_shared_strings(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(info.filename.lower().endswith("sharedstrings.xml") for info in archive.infolist())


# --- row width -----------------------------------------------------------------------------------------------------


def too_many_columns(row: int, what: str, limit: int) -> ImportFileError:
    """`what` the row has: "100,000 columns", "a value past column 200" …"""
    return ImportFileError(
        "too_many_columns",
        f"Row {row} has {what}; an import reads at most {limit:,} columns. Keep only the columns to import (copy them "
        "to a new sheet, or delete the others) and upload the file again.",
        limit_columns=limit,
        row=row,
    )


def _fit(row: int, cells: Sequence[Any], limit: int) -> Sequence[Any]:
    """`cells` cut to `limit` when only blanks lie past it (trailing empty cells cost nothing); a value past the
    limit refuses the file. Called only for rows longer than the limit, so the usual row pays one len()."""
    extra = cells[limit:]
    if extra.count("") + extra.count(None) != len(extra):
        width = len(cells)
        while width and cells[width - 1] in ("", None):
            width -= 1
        raise too_many_columns(row, f"{width:,} columns", limit)
    return cells[:limit]


# --- spreadsheets --------------------------------------------------------------------------------------------------


def _largest_sheet_part(path: Path) -> int:
    """Uncompressed size of the largest worksheet part: cheap to read, and a fair proxy for calamine's memory."""
    with zipfile.ZipFile(path) as archive:
        sizes = [
            info.file_size
            for info in archive.infolist()
            if info.filename.startswith("xl/worksheets/") or info.filename == "content.xml"
        ]
    return max(sizes, default=0)


# How much bigger than an .xlsx sheet part the same rows are in each calamine-only format, to compare with the
# threshold: ODS XML is wordier, XLSB records are compact, XLS (not zipped) is judged by its file size.
_SIZE_FACTOR = {"ods": 2.0, "xlsb": 0.5, "xls": 1.0}


def _password_protected() -> ImportFileError:
    return ImportFileError(
        "password_protected",
        "The workbook is protected with a password, so it cannot be read. Open it in Excel, remove the password "
        "(File → Info → Protect Workbook → Encrypt with Password, then clear it), save, and upload it again.",
    )


# An .xlsx saved with a password is an OLE container holding the encrypted workbook in a stream of this name (its
# directory entry spells it in UTF-16): it would otherwise be read as an .xls and reported as damaged.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def _is_encrypted_package(path: Path) -> bool:
    with open(path, "rb") as handle:
        data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            return data.find(_ENCRYPTED_PACKAGE) != -1
        finally:
            data.close()


def _calamine_error(exc: Exception) -> ImportFileError:
    if isinstance(exc, python_calamine.PasswordError):
        return _password_protected()
    # The library's own words name its internals; people get what to do.
    return ImportFileError(
        "corrupt_file",
        "The spreadsheet cannot be read: it looks damaged. Open it in Excel or LibreOffice, save it again (or as "
        ".csv), and upload the saved copy.",
    )


def _is_panic(exc: BaseException) -> bool:
    """A panic in calamine (an index past a table's end in a damaged file, say) reaches Python as pyo3's
    PanicException: a BaseException, which `except Exception` lets through, and which no module exports."""
    return type(exc).__name__ == "PanicException"


def _too_large_for_calamine(path: Path, file_format: str) -> bool:
    if file_format not in _SIZE_FACTOR:
        return False
    size = path.stat().st_size if file_format == "xls" else _largest_sheet_part(path)
    return size > settings.IMPORT_STREAMING_THRESHOLD_BYTES * _SIZE_FACTOR[file_format]


def list_sheets(path: Path, file_format: str) -> list[dict[str, Any]]:
    """A workbook's worksheets in order, `{"name", "visible"}` each, for the review's choice of sheet; [] for csv and
    json, and for a workbook that cannot be read (opening it for the rows says what is wrong). Cheap: the streaming
    reader's workbook part for .xlsx, calamine's metadata otherwise (within the size calamine is given at all)."""
    if file_format in {"xlsx", "xlsm"}:
        try:
            return [{"name": name, "visible": visible} for name, visible in xlsx_sheets(path)]
        except XlsxStreamError:
            return []
    if file_format not in SPREADSHEET_FORMATS or _too_large_for_calamine(path, file_format):
        return []
    try:
        check_workbook(path, file_format)  # calamine parses an .xls or .ods whole when opening it
    except ImportFileError:
        return []
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            metadata = workbook.sheets_metadata
        finally:
            workbook.close()
    except Exception:  # noqa: BLE001 - calamine raises several unrelated types for broken files; the run reports them
        return []
    except BaseException as exc:  # a calamine panic alone; anything else goes on
        if not _is_panic(exc):
            raise
        return []
    return [
        {"name": m.name, "visible": m.visible == python_calamine.SheetVisibleEnum.Visible}
        for m in metadata
        if m.typ == python_calamine.SheetTypeEnum.WorkSheet
    ]


def _open_calamine(path: Path, sheet: str | None, file_format: str) -> SheetRows:
    if _too_large_for_calamine(path, file_format):
        raise ImportFileError(
            "file_too_large_for_format",
            f"A .{file_format} file this large cannot be read within the memory budget. Save it as .xlsx or .csv "
            "(File → Save As) and upload that.",
        )
    check_workbook(path, file_format)  # before calamine allocates what the file declares
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        metadata = [m for m in workbook.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
        names = [m.name for m in metadata]
        visible = [m.name for m in metadata if m.visible == python_calamine.SheetVisibleEnum.Visible]
        name = _choose_sheet(names, visible, sheet)
        table = workbook.get_sheet_by_name(name)
        if not sheet:
            # The first visible sheet that has something in it (a blank "Sheet1" before the data is common).
            for candidate in visible[visible.index(name) + 1 :]:
                if table.height:
                    break
                name, table = candidate, workbook.get_sheet_by_name(candidate)
    except ImportFileError:
        raise
    except Exception as exc:  # calamine raises several unrelated types for broken files
        raise _calamine_error(exc) from exc
    except BaseException as exc:
        if not _is_panic(exc):
            raise
        raise _calamine_error(exc) from exc
    first_column = table.start[1] if table.height else 0
    return SheetRows(
        file_format=file_format,
        rows=_calamine_rows(workbook, table, first_column),
        sheet_name=name,
        last_row=table.end[0] + 1 if table.height else 0,
        reader="calamine",
    )


def _calamine_rows(workbook: Any, table: Any, first_column: int) -> Iterator[Row]:
    """calamine's iter_rows starts at row 1 (blank rows included) but at the first used column: pad to column A."""
    padding = ("",) * first_column
    limit = settings.IMPORT_MAX_COLUMNS
    try:
        for index, cells in enumerate(table.iter_rows(), start=1):
            if cells.count("") != len(cells):  # not a blank row (any cell other than ""), in C
                row = padding + tuple(cells) if first_column else tuple(cells)
                yield index, row if len(row) <= limit else _fit(index, row, limit)
    finally:
        workbook.close()


# A cell or row reference past column Z or row 99,999, or one that is not plain letters and digits (an entity hiding
# a far one): only these can make calamine's range, which it allocates whole (rows x columns, used or not), large.
# Attributes are matched with the single space writers put before them; other spacing goes unseen, and is left to
# the worker's memory limit.
_FAR_REFERENCE = re.compile(rb' r="([A-Za-z]{2}[A-Za-z0-9]*|[A-Za-z]?[0-9]{6}[0-9]*|[A-Za-z0-9]*[^"A-Za-z0-9])')
_PLAIN_REFERENCE = re.compile(rb"([A-Za-z]{0,3})([0-9]{1,7})")
# calamine allocates every cell of a sheet's range, so the range, not the file, sizes its memory: CALAMINE_MAX_CELLS
# (bounds.py) caps it. Cells of an .xlsx scattered wider or further (a 5 KB file can name cell XFD1048576) go to the
# streaming reader.
_MAX_TAG_BYTES = 64 * 1024


def _compact_for_calamine(path: Path) -> bool:
    """Whether every worksheet's cells fit in CALAMINE_MAX_CELLS (see _sheet_cells)."""
    return _sheet_cells(path, count=False) is not None


def _sheet_cells(path: Path, *, count: bool) -> int | None:
    """The most cell tags in one worksheet part, or None when some worksheet's cells do not fit in
    CALAMINE_MAX_CELLS, from the references in its XML: one regular expression over the inflated bytes, a fraction of
    what calamine itself spends reading the sheet. A part that cannot be read is left to the streaming reader, which
    says what is wrong with it. The tags are counted as `<c` and `:c` (other tags so named count too: an upper bound
    of the cells that may copy a shared string; 0 without `count`)."""
    most = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                name = info.filename.lower()
                if "worksheets/" in name and name.endswith(".xml") and "_rels" not in name:
                    with archive.open(info) as part:
                        cells = _part_is_compact(part, count=count)
                    if cells is None:
                        return None
                    most = max(most, cells)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError):
        return None
    return most


def _part_is_compact(part: IO[bytes], *, count: bool) -> int | None:
    """The part's cell tags (with `count`; else 0), or None when its references reach past CALAMINE_MAX_CELLS."""
    rows, columns, cells = 99_999, 26, 0  # the furthest a sheet without far references can reach
    tail = b""
    while True:
        chunk = part.read(1 << 20)
        data = tail + chunk
        start = data.rfind(b"<")
        # A tag cut by the chunk boundary is carried to the next chunk; a closed one is complete here.
        cut = start if chunk and start >= 0 and data.find(b">", start) < 0 else len(data)
        if count:
            cells += data.count(b"<c", 0, cut) + data.count(b":c", 0, cut)
        for reference in _FAR_REFERENCE.findall(data, 0, cut):
            plain = _PLAIN_REFERENCE.fullmatch(reference)
            if plain is None:
                return None
            letters, digits = plain.groups()
            column = 0
            for letter in letters.upper():
                column = column * 26 + letter - 64
            rows, columns = max(rows, int(digits)), max(columns, column)
            if rows * columns > CALAMINE_MAX_CELLS:
                return None
        tail = data[cut:]
        if not chunk:
            return cells
        if len(tail) > _MAX_TAG_BYTES:
            return None


def _choose_sheet(names: list[str], visible: list[str], wanted: str | None) -> str:
    if wanted:
        if wanted in names:
            return wanted
        folded = {name.casefold().strip(): name for name in names}
        if wanted.casefold().strip() in folded:
            return folded[wanted.casefold().strip()]
        raise ImportFileError(
            "unknown_sheet",
            f"There is no sheet named {wanted!r}. Sheets in this file: {', '.join(names)}.",
            sheets=names,
        )
    if not visible:
        hidden = f" (its sheets {', '.join(names)} are hidden: name one to import it)" if names else ""
        raise ImportFileError("empty_file", f"The workbook has no visible worksheet{hidden}.", sheets=names)
    return visible[0]


def _open_xlsx_streaming(path: Path, sheet: str | None, file_format: str) -> SheetRows:
    try:
        sheets = xlsx_sheets(path)
        names = [name for name, _ in sheets]
        name = _choose_sheet(names, [name for name, visible in sheets if visible], sheet)
        rows = iter_xlsx_rows(path, name, max_columns=settings.IMPORT_MAX_COLUMNS)
    except XlsxStreamError as exc:
        raise ImportFileError("corrupt_file", str(exc)) from exc
    return SheetRows(
        file_format=file_format,
        rows=_guard_stream(rows),
        sheet_name=name,
        reader="xlsx-stream",
    )


def _guard_stream(rows: Iterator[Row]) -> Iterator[Row]:
    """Damage found mid-file is a file-level error with a readable message, like damage found up front."""
    try:
        yield from rows
    except XlsxTooWide as exc:
        raise too_many_columns(exc.row, f"a value past column {exc.limit:,}", exc.limit) from exc
    except XlsxStreamError as exc:
        raise ImportFileError("corrupt_file", str(exc)) from exc
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


# --- CSV / TSV -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvScan:
    """What one pass over a CSV file's bytes finds before any row is read."""

    encoding: str
    lines: int
    # Whether a record could hold more than CSV_MAX_DELIMITERS delimiters: only if some physical line is that long
    # (a line's bytes bound its characters), or a quote could join lines into one record.
    needs_guard: bool


def _scan_csv(path: Path) -> CsvScan:
    """UTF-8 (with or without BOM) or UTF-16 by BOM when the bytes say so, Windows-1252 otherwise; the line count; and
    whether the rows need the per-record delimiter guard. One pass, in C."""
    with open(path, "rb") as handle:
        head = handle.read(4)
        bom = _bom_encoding(head)
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(bom or "utf-8")()
        is_utf8, lines, last, quoted, longest, carried = True, 0, b"", False, 0, 0
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-2:]
            quoted = quoted or b'"' in chunk
            if longest < CSV_MAX_DELIMITERS:
                parts = chunk.split(b"\n")
                longest = max(longest, carried + len(parts[0]), *map(len, parts[1:]))
                carried = len(parts[-1]) if len(parts) > 1 else carried + len(parts[0])
            if is_utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    if bom:
                        raise ImportFileError(
                            "bad_encoding", f"The file says it is {bom} but contains bytes that are not."
                        ) from None
                    is_utf8 = False
    if not last.endswith((b"\n", b"\n\x00")):
        lines += 1  # a last line without a line break
    encoding = bom or ("utf-8" if is_utf8 else "cp1252")
    return CsvScan(encoding, lines, needs_guard=quoted or longest >= CSV_MAX_DELIMITERS)


def _sniff_delimiter(sample: str) -> str:
    """The delimiter of the first non-empty line: whichever of , ; tab | it holds most of (outside quotes)."""
    for line in sample.splitlines():
        if line.strip():
            unquoted = "".join(part for index, part in enumerate(line.split('"')) if index % 2 == 0)
            counts = {delimiter: unquoted.count(delimiter) for delimiter in (",", ";", "\t", "|")}
            best = max(counts, key=lambda delimiter: counts[delimiter])
            return best if counts[best] else ","
    return ","


def _open_csv(path: Path) -> SheetRows:
    scan = _scan_csv(path)
    handle = open(path, encoding=scan.encoding, newline="", errors="strict")  # the generator closes it
    delimiter = _sniff_delimiter(handle.read(TEXT_SNIFF_BYTES))
    handle.seek(0)
    rows = _csv_rows(handle, delimiter, guarded=scan.needs_guard)
    return SheetRows(file_format="csv", rows=rows, last_row=scan.lines, reader=f"csv/{scan.encoding}")


def _counted_lines(handle: io.TextIOWrapper, delimiter: str, record: list[int]) -> Iterator[str]:
    """The file's lines, adding each line's delimiters to `record[1]`, the count of the record being read (the
    reader resets it). A record can span lines (quoted line breaks), so the count is per record, not per line."""
    for line in handle:
        record[1] += line.count(delimiter)
        if record[1] > CSV_MAX_DELIMITERS:
            raise too_many_columns(
                record[0] + 1, f"more than {CSV_MAX_DELIMITERS:,} columns", settings.IMPORT_MAX_COLUMNS
            )
        yield line


def _csv_rows(handle: io.TextIOWrapper, delimiter: str, *, guarded: bool = True) -> Iterator[Row]:
    """The file's records; `guarded`: each record's delimiters are counted as its lines are read (a Python step per
    line), which a file whose scan found no quote and no long line does not need."""
    limit = settings.IMPORT_MAX_COLUMNS
    record = [0, 0]  # the number of the last record read, and the delimiters of the one being read
    try:
        lines = _counted_lines(handle, delimiter, record) if guarded else handle
        reader = csv.reader(lines, delimiter=delimiter, strict=False)
        for number, cells in enumerate(reader, start=1):
            record[0], record[1] = number, 0
            if len(cells) > limit:
                cells = _fit(number, cells, limit)
            if "".join(cells).strip():  # not a blank row (a cell with more than whitespace), in C
                yield number, tuple(cells)
    except csv.Error as exc:
        raise ImportFileError("corrupt_file", f"The CSV file cannot be read: {exc}.") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError("bad_encoding", "The file mixes text encodings; save it as UTF-8 CSV.") from exc
    finally:
        handle.close()


# --- JSON ----------------------------------------------------------------------------------------------------------


# The key of a JSON body's rows beside its options: `rows`, or `customers` as the first frontend sent them.
ROW_KEYS = ("rows", "customers")


def _json_shape(path: Path) -> tuple[str, tuple[str, ...], int]:
    """One linear pass, keeping no row: where the rows are (`item` for a bare array, `rows.item` for
    `{"rows": [...], "mode": ...}`, `customers.item` for the first frontend's name of that key), the union of their
    keys (objects may omit empty fields) and their count. Refuses nesting deeper than JSON_MAX_DEPTH and more keys
    than IMPORT_MAX_COLUMNS as soon as they appear.

    The depth is tracked here rather than through `iter_json_events`: this loop sees every event of the file, and a
    generator between it and ijson costs as much again as the parsing."""
    try:
        return _scan_json(path, settings.IMPORT_MAX_COLUMNS)
    except JsonTooDeep as exc:
        raise ImportFileError(
            "too_deeply_nested",
            f"The JSON file is refused: {exc}. A file of rows is an array of objects (or "
            '{"rows": [...]}) whose values are text, numbers or short lists.',
            limit_depth=JSON_MAX_DEPTH,
        ) from None
    except ijson.JSONError as exc:
        raise ImportFileError("corrupt_file", f"The JSON is not valid: {json_error_text(exc)}.") from None


def _scan_json(path: Path, limit: int) -> tuple[str, tuple[str, ...], int]:
    keys: dict[str, None] = {}
    depth = count = items = 0  # nesting; rows seen; the depth of the array holding them while inside it
    prefix, top_key = "", None
    with open(path, "rb") as handle:
        for event, value in ijson.basic_parse(handle, use_float=True):
            if event == "map_key":
                if items and depth == items + 1:
                    if value not in keys:
                        keys[value] = None
                        if len(keys) > limit:
                            raise _too_many_keys(limit)
                elif depth == 1:
                    top_key = value
            elif event == "start_map" or event == "start_array":
                depth += 1
                if depth > JSON_MAX_DEPTH:
                    raise JsonTooDeep(JSON_MAX_DEPTH)
                if items and depth == items + 1:
                    if event == "start_array":
                        raise _not_objects()
                    count += 1
                elif not items and event == "start_array" and (depth == 1 or (depth == 2 and top_key in ROW_KEYS)):
                    items, prefix = depth, "item" if depth == 1 else f"{top_key}.item"
            elif event == "end_map" or event == "end_array":
                if depth == items:
                    items = 0
                depth -= 1
            elif items and depth == items:
                raise _not_objects()  # a scalar item
    if not prefix:
        raise ImportFileError(
            "unsupported_format", 'JSON must be an array of row objects, or {"rows": [...]} (or "customers").'
        )
    return prefix, tuple(keys), count


def _not_objects() -> ImportFileError:
    return ImportFileError("unsupported_format", "Every item of the JSON array must be an object.")


def _too_many_keys(limit: int) -> ImportFileError:
    return ImportFileError(
        "too_many_columns",
        f"The JSON objects have more than {limit:,} different keys; an import reads at most {limit:,} columns. Keep "
        "only the fields to import and upload the file again.",
        limit_columns=limit,
    )


def _open_json(path: Path) -> SheetRows:
    prefix, header, count = _json_shape(path)
    return SheetRows(file_format="json", rows=_json_rows(path, prefix, header), last_row=count, reader="json")


def _json_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return str(value)
    return value


def _json_rows(path: Path, prefix: str, header: tuple[str, ...]) -> Iterator[Row]:
    """The keys as a header row (row 0: JSON has no visible header), then item N as row N."""
    yield 0, header
    with open(path, "rb") as handle:
        try:
            for number, item in enumerate(ijson.items(handle, prefix, use_float=True), start=1):
                values = tuple(_json_cell(item.get(key)) for key in header)
                if any(value != "" for value in values):
                    yield number, values
        except ijson.JSONError as exc:
            raise ImportFileError("corrupt_file", f"The JSON is not valid: {json_error_text(exc)}.") from exc
