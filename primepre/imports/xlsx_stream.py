"""Streaming reader for .xlsx/.xlsm worksheets whose memory stays flat however many rows a sheet has.

python-calamine loads a whole sheet into memory (about 0.65 KB a row) and openpyxl's read-only mode is slow and keeps
every shared string in a Python list, so the customer-import engine uses this reader for big workbooks. It uses only
the standard library: each XML part is inflated from the zip in 64 KiB chunks and fed to expat, so neither the
compressed file nor any XML part is ever held whole. Big shared-string tables are spilled to an anonymous temporary
file (UTF-8 bytes, read back through mmap) with one 8-byte offset per string kept in memory.

Values are shaped like python-calamine's so the engine sees the same thing whichever reader ran: text is ``str``,
every number is ``float``, booleans are ``bool`` and empty or error cells are ``""``.
"""

from __future__ import annotations

import mmap
import os
import posixpath
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from typing import IO
from xml.parsers import expat

__all__ = ["XlsxStreamError", "XlsxTooWide", "iter_xlsx_rows", "xlsx_sheets"]

CHUNK_SIZE = 64 * 1024  # bytes of inflated XML handed to expat at a time
SHARED_STRINGS_IN_MEMORY = 50_000  # above this many shared strings they go to a temporary file
MAX_COLUMNS = 16_384  # Excel's limit (column XFD); a larger reference is corrupt, and would cost memory
MAX_TEXT_CHARS = 1 << 20  # Excel caps a cell at 32,767 characters; a run of text 32 times that is hostile
MAX_SHARED_STRINGS = 1 << 24  # 16.7 million (128 MB of offsets): real files stay far below, a zip bomb would not
MAX_SHEETS = 10_000  # no real workbook comes close; bounds what a hostile workbook.xml can make us keep

_DIGITS = "0123456789"
_HIDDEN_STATES = frozenset({"hidden", "veryHidden"})
_WORKSHEET_REL = "/worksheet"  # Type URIs differ between transitional and strict OOXML but end the same way
_SHARED_STRINGS_REL = "/sharedStrings"
_OFFICE_DOCUMENT_REL = "/officeDocument"
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError)


class XlsxStreamError(Exception):
    """File is not a readable xlsx (message is human-readable, safe to show a user)."""


class XlsxTooWide(XlsxStreamError):
    """A row has a value past the caller's column limit (``max_columns``); raised before that row is built."""

    def __init__(self, row: int, limit: int) -> None:
        super().__init__(f"Row {row} has a value past column {limit:,}, the most this reader was asked to read.")
        self.row = row
        self.limit = limit


# ---------------------------------------------------------------------------------------------------------------
# zip and XML plumbing


def _open_zip(path: str | os.PathLike) -> zipfile.ZipFile:
    """Open the workbook, turning "this is not a zip" into a message a user can act on."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise XlsxStreamError(
            "This file is not an .xlsx workbook (it may be an old .xls file, a CSV, or password-protected)."
        ) from exc


def _member_name(zf: zipfile.ZipFile, name: str) -> str | None:
    """Return the zip member called ``name``, tolerating the case differences some writers produce."""
    try:
        zf.getinfo(name)
        return name
    except KeyError:
        pass
    wanted = name.lower()
    for info in zf.infolist():
        if info.filename.lower() == wanted:
            return info.filename
    return None


def _reject_doctype(*_args: object) -> None:
    """A DOCTYPE is how entity-expansion attacks start (billion laughs); OOXML parts never carry one."""
    raise XlsxStreamError(
        "This workbook is corrupt: it contains an XML document type declaration, which is not allowed."
    )


def _new_parser() -> expat.XMLParserType:
    """An expat parser that refuses DTDs, batches text and does no namespace processing (we match prefixes)."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _reject_doctype
    parser.EntityDeclHandler = _reject_doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.buffer_size = CHUNK_SIZE
    return parser


def _corrupt(member: str, detail: object) -> XlsxStreamError:
    return XlsxStreamError(f"This workbook is corrupt: part {member} could not be read ({detail}).")


def _open_member(zf: zipfile.ZipFile, member: str) -> IO[bytes]:
    try:
        return zf.open(member)
    except _READ_ERRORS as exc:
        raise _corrupt(member, exc) from exc


def _feed(parser: expat.XMLParserType, member: str, fh: IO[bytes], *texts: list[str]) -> Iterator[None]:
    """Inflate ``member`` chunk by chunk into ``parser``, yielding after each chunk so callers can drain results.

    ``texts`` are the parser's lists of pending text pieces; they are checked between chunks so that a hostile run of
    text (or of rich-text runs) cannot grow without bound. The handlers cannot check: text reaches them through a
    C-level ``list.append``, for speed.
    """
    try:
        while True:
            chunk = fh.read(CHUNK_SIZE)
            if not chunk:
                parser.Parse(b"", True)
                break
            parser.Parse(chunk, False)
            for pieces in texts:
                if len(pieces) > 8 and sum(map(len, pieces)) > MAX_TEXT_CHARS:
                    raise XlsxStreamError(
                        f"This workbook is corrupt: part {member} holds a text of over {MAX_TEXT_CHARS:,} characters."
                    )
            yield
    except expat.ExpatError as exc:
        raise _corrupt(member, f"XML error: {expat.ErrorString(exc.code)} at line {exc.lineno}") from exc
    except _READ_ERRORS as exc:  # zlib/CRC errors while inflating, or a bad number/index in a handler
        raise _corrupt(member, exc) from exc
    except (IndexError, OverflowError) as exc:
        raise _corrupt(member, exc) from exc
    yield


def _parse_small(zf: zipfile.ZipFile, member: str, start: Callable[[str, dict[str, str]], None]) -> None:
    """Stream a small part (workbook.xml, .rels) through ``start``; only element starts matter for those parts."""
    parser = _new_parser()
    parser.StartElementHandler = start
    with _open_member(zf, member) as fh:
        for _ in _feed(parser, member, fh):
            pass


def _local(name: str) -> str:
    return name.rpartition(":")[2]


def _rels_path(part: str) -> str:
    folder, base = posixpath.split(part)
    return posixpath.join(folder, "_rels", base + ".rels")


def _read_rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, zip member) for ``part``; targets may be absolute or relative to the part."""
    rels_member = _member_name(zf, _rels_path(part))
    rels: dict[str, tuple[str, str]] = {}
    if rels_member is None:
        return rels
    folder = posixpath.dirname(part)

    def start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) != "Relationship" or attrs.get("TargetMode") == "External":
            return
        target = attrs.get("Target", "").replace("\\", "/")
        if not target:
            return
        if len(rels) >= MAX_SHEETS * 4:
            raise XlsxStreamError("This workbook is corrupt: it declares an unreasonable number of parts.")
        resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        rels[attrs.get("Id", "")] = (attrs.get("Type", ""), posixpath.normpath(resolved))

    _parse_small(zf, rels_member, start)
    return rels


class _Book:
    """What we need from workbook.xml: the worksheets in order and where the shared strings live."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        workbook = self._workbook_part(zf)
        rels = _read_rels(zf, workbook)
        self.sheets: list[tuple[str, bool, str]] = []  # (name, visible, zip member)

        def start(name: str, attrs: dict[str, str]) -> None:
            if _local(name) != "sheet":
                return
            rel_id = next((v for k, v in attrs.items() if ":" in k and _local(k) == "id"), None)
            rel_type, target = rels.get(rel_id or "", ("", ""))
            if not rel_type.endswith(_WORKSHEET_REL):  # chartsheets, dialog and macro sheets hold no rows
                return
            if len(self.sheets) >= MAX_SHEETS:
                raise XlsxStreamError("This workbook is corrupt: it declares an unreasonable number of sheets.")
            self.sheets.append((attrs.get("name", ""), attrs.get("state") not in _HIDDEN_STATES, target))

        _parse_small(zf, workbook, start)
        shared = next((target for rel_type, target in rels.values() if rel_type.endswith(_SHARED_STRINGS_REL)), None)
        self.shared_strings = _member_name(zf, shared or "xl/sharedStrings.xml")

    @staticmethod
    def _workbook_part(zf: zipfile.ZipFile) -> str:
        """The main part named by _rels/.rels (usually xl/workbook.xml)."""
        member = None
        for rel_type, target in _read_rels(zf, "").values():
            if rel_type.endswith(_OFFICE_DOCUMENT_REL):
                member = _member_name(zf, target)
                if member is not None:
                    break
        member = member or _member_name(zf, "xl/workbook.xml") or _member_name(zf, "xl/workbook.bin")
        if member is None:
            raise XlsxStreamError("This file is not an .xlsx workbook: it has no xl/workbook.xml.")
        if member.lower().endswith(".bin"):
            raise XlsxStreamError(
                "This is a binary .xlsb workbook, which this reader does not support; save it as .xlsx."
            )
        return member

    def pick(self, sheet: str | None) -> tuple[str, str]:
        """(name, zip member) of the requested sheet, or of the first visible one when ``sheet`` is None."""
        if not self.sheets:
            raise XlsxStreamError("This workbook has no worksheets.")
        if sheet is None:
            name, _visible, member = next((s for s in self.sheets if s[1]), self.sheets[0])
            return name, member
        for name, _visible, member in self.sheets:
            if name == sheet:
                return name, member
        known = ", ".join(repr(s[0]) for s in self.sheets)
        raise XlsxStreamError(f"This workbook has no sheet named {sheet!r}; its sheets are: {known}.")


# ---------------------------------------------------------------------------------------------------------------
# shared strings


class _SharedStrings:
    """The shared-string table: a list while small, a temporary file of UTF-8 bytes plus an offset array when big.

    A million unique names and e-mails would cost ~100 MB as Python strings; on disk they cost 8 bytes each (the
    offset) plus the page cache the OS can drop. ``lookup`` is a plain callable (``list.__getitem__`` or a closure
    over the mmap) so the sheet parser pays one call per shared-string cell and nothing more.
    """

    def __init__(self) -> None:
        self.strings: list[str] = []
        self.file: IO[bytes] | None = None
        self.map: mmap.mmap | None = None
        self.offsets = array("q", [0])  # string i is bytes offsets[i]:offsets[i + 1] of the file
        self.lookup: Callable[[int], str] = self.strings.__getitem__

    def load(self, zf: zipfile.ZipFile, member: str) -> None:
        """Parse the table, spilling to disk once it is (or declares itself) bigger than SHARED_STRINGS_IN_MEMORY."""
        loader = _SharedStringsLoader(self)
        offsets = self.offsets
        with _open_member(zf, member) as fh:
            for _ in _feed(loader.parser, member, fh, loader.parts, loader.runs):
                if len(offsets) > MAX_SHARED_STRINGS:
                    raise XlsxStreamError(
                        f"This workbook has more than {MAX_SHARED_STRINGS:,} different texts, which is not supported."
                    )
        loader.finish()
        self._ready()

    def _ready(self) -> None:
        """Point ``lookup`` at the list, or map the file now that it is complete."""
        if self.file is None:
            self.lookup = self.strings.__getitem__
            return
        self.file.flush()
        offsets = self.offsets
        if offsets[-1] == 0:  # every string is empty, and mmap cannot map an empty file
            count = len(offsets) - 1

            def lookup_empty(index: int) -> str:
                if index >= count:
                    raise IndexError(f"shared string {index} does not exist")
                return ""

            self.lookup = lookup_empty
            return
        self.map = mapped = mmap.mmap(self.file.fileno(), 0, access=mmap.ACCESS_READ)

        def lookup(index: int) -> str:
            return mapped[offsets[index] : offsets[index + 1]].decode()

        self.lookup = lookup

    def close(self) -> None:
        if self.map is not None:
            self.map.close()
            self.map = None
        if self.file is not None:
            self.file.close()
            self.file = None
        self.strings = []


class _SharedStringsLoader:
    """The expat handlers that fill a ``_SharedStrings`` table from sharedStrings.xml.

    Same event strategy as the sheet parser: only starts are listened to, a string is stored when the next ``<si>``
    starts (or at the end), and an end handler is installed just for the inside of each ``<t>``. Slots, because
    every handler reads several of these attributes and it runs once per element.
    """

    __slots__ = (
        "clear_parts", "end_text", "in_phonetic", "offsets", "open_item", "parser", "parts", "rph", "runs", "si",
        "size", "strings", "t", "table", "write",
    )  # fmt: skip

    def __init__(self, table: _SharedStrings) -> None:
        self.table = table
        self.strings = table.strings
        self.offsets = table.offsets
        self.parts: list[str] = []  # text since the last start tag
        self.clear_parts = self.parts.clear
        self.runs: list[str] = []  # finished <t> texts of the current <si>
        self.write: Callable[[bytes], object] | None = None  # the temporary file's, once spilled
        self.size = 0  # bytes written to the file
        self.open_item = False  # an <si> has started and is not stored yet
        self.in_phonetic = False
        self.si = self.t = self.rph = ""
        self.end_text = self._end_text  # one bound method, not a new one per <t>
        self.parser = parser = _new_parser()
        parser.StartElementHandler = self._root
        parser.CharacterDataHandler = self.parts.append

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        """Learn the namespace prefix, and spill at once when the table says it is big."""
        prefix = name[: name.index(":") + 1] if ":" in name else ""
        self.si, self.t, self.rph = prefix + "si", prefix + "t", prefix + "rPh"
        declared = attrs.get("uniqueCount") or attrs.get("count") or ""
        if declared.isdigit() and int(declared) >= SHARED_STRINGS_IN_MEMORY:
            self._spill()
        self.parser.StartElementHandler = self._start

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if name == self.t:
            self.clear_parts()
            if not self.in_phonetic:
                self.parser.EndElementHandler = self.end_text
        elif name == self.si:
            if self.open_item:
                self._store()
            self.open_item = True
            self.in_phonetic = False
            self.clear_parts()
        elif name == self.rph:
            self.in_phonetic = True
        else:
            self.clear_parts()

    def _end_text(self, name: str) -> None:
        self.parser.EndElementHandler = None
        self.runs.append("".join(self.parts))

    def _store(self) -> None:
        """Append the finished ``<si>`` to the list, or to the file once spilled."""
        runs = self.runs
        text = "".join(runs)
        runs.clear()
        write = self.write
        if write is None:
            strings = self.strings
            strings.append(text)
            if len(strings) >= SHARED_STRINGS_IN_MEMORY:
                self._spill()
        else:
            data = text.encode()
            write(data)
            self.size = size = self.size + len(data)
            self.offsets.append(size)

    def _spill(self) -> None:
        """Move the strings so far to a temporary file; from now on each is written there as it ends."""
        self.table.file = file = tempfile.TemporaryFile(buffering=256 * 1024)  # closed by _SharedStrings.close()
        self.write = write = file.write
        size = self.size
        offsets = self.offsets
        for text in self.strings:
            data = text.encode()
            write(data)
            size += len(data)
            offsets.append(size)
        self.size = size
        del self.strings[:]

    def finish(self) -> None:
        """Store the last string (after the last chunk)."""
        if self.open_item:
            self._store()


# ---------------------------------------------------------------------------------------------------------------
# worksheet


def _column_index(letters: str) -> int:
    """0-based column of "A", "AB", "XFD"; a reference past Excel's last column is corrupt."""
    index = 0
    for char in letters.upper():
        code = ord(char) - 64
        if not 1 <= code <= 26:
            raise XlsxStreamError(f"This workbook is corrupt: {letters!r} is not a column reference.")
        index = index * 26 + code
        if index > MAX_COLUMNS:
            raise XlsxStreamError(f"This workbook is corrupt: column {letters!r} is beyond Excel's last column.")
    return index - 1


def _blank_or_corrupt(text: str, problem: str) -> None:
    """A <v> that is only whitespace is an empty cell; anything else that failed to convert is corruption."""
    if text.strip():
        raise XlsxStreamError(f"This workbook is corrupt: cell value {text[:40]!r} {problem}.")


class _SheetParser:
    """The expat handlers for a worksheet part; each row with a value is appended to ``out`` as (row_number, values).

    This is the hot loop (a million rows of eight cells is tens of millions of expat events), and the cost is
    dominated by the number of Python callbacks, so the parser mostly listens to element *starts* only:

    * text goes straight into ``parts`` through the C-level ``list.append``, and expat (``buffer_text``) hands it
      over in one piece before the next start tag;
    * a cell's value is therefore completed lazily, when the next cell, row or other element starts (or at the end
      of the part) - for numbers, shared-string indexes, booleans and errors surrounding whitespace does not matter;
    * where whitespace does matter (the text of a ``<t>`` or of a formula-string ``<v>``) an end handler is
      installed for just that element and removed again when it fires.

    A value past ``max_columns`` raises XlsxTooWide before the row is padded out to it: one 64 KiB chunk can hold
    thousands of rows, each naming a cell far to the right, and they are all built before the first is yielded.
    The state lives in slots because every handler reads several of these attributes, once per element.
    """

    __slots__ = (
        "c", "cell_type", "clear_parts", "column", "columns", "end_exact", "in_phonetic", "is_", "lookup",
        "max_columns", "next_column", "out", "parser", "parts", "pending", "row", "row_number", "rph", "runs", "t",
        "v", "values",
    )  # fmt: skip

    def __init__(self, lookup: Callable[[int], str], max_columns: int = MAX_COLUMNS) -> None:
        self.lookup = lookup
        self.max_columns = max_columns
        self.out: list[tuple[int, tuple]] = []
        self.parts: list[str] = []  # text pieces since the last start tag
        self.clear_parts = self.parts.clear
        self.runs: list[str] = []  # finished <t> texts of the current inline string
        self.values: list = []  # the current row, column A first
        self.columns: dict[str, int] = {}  # "AB" -> 27, filled as met
        self.row_number = 0
        self.column = 0  # column of the current cell
        self.next_column = 0  # where a cell without r= goes
        self.cell_type: str | None = None
        self.pending = False  # a <v> was opened whose text (in parts) is still to be turned into a value
        self.in_phonetic = False  # inside <rPh>: phonetic guide text, not part of the value
        self.c = self.v = self.t = self.is_ = self.row = self.rph = ""
        self.end_exact = self._end_exact  # one bound method, not a new one per <t>
        self.parser = parser = _new_parser()
        parser.StartElementHandler = self._root
        parser.CharacterDataHandler = self.parts.append

    def _root(self, name: str, attrs: dict[str, str]) -> None:
        """Learn the prefix the part uses for the spreadsheetml namespace (usually none, "x:" from some tools)."""
        prefix = name[: name.index(":") + 1] if ":" in name else ""
        self.c, self.v, self.t, self.is_, self.row, self.rph = (
            prefix + local for local in ("c", "v", "t", "is", "row", "rPh")
        )
        self.parser.StartElementHandler = self._start

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if name == self.c:
            if self.pending or self.runs:
                self._finish_cell()
            self.cell_type = attrs.get("t")
            ref = attrs.get("r")
            if ref is None:
                column = self.next_column
                if column >= MAX_COLUMNS:
                    raise XlsxStreamError("This workbook is corrupt: a row has more cells than Excel allows.")
            else:
                letters = ref.rstrip(_DIGITS)
                column = self.columns.get(letters)
                if column is None:
                    column = _column_index(letters) if letters else self.next_column
                    if letters:
                        self.columns[letters] = column
            self.column = column
            self.next_column = column + 1
            self.in_phonetic = False
        elif name == self.v:
            self.clear_parts()
            cell_type = self.cell_type
            if cell_type is None or cell_type == "s" or cell_type == "n" or cell_type == "b" or cell_type == "e":
                self.pending = True
            else:  # "str" (formula result), "inlineStr" written as <v>, "d" (ISO date): text as is
                self.parser.EndElementHandler = self.end_exact
        elif name == self.t:
            self.clear_parts()
            if not self.in_phonetic:
                self.parser.EndElementHandler = self.end_exact
        elif name == self.is_:
            self.clear_parts()
        elif name == self.row:
            self._start_row(attrs)
        elif name == self.rph:
            self.in_phonetic = True
        else:
            if self.pending:
                self._finish_cell()
            self.clear_parts()  # <r>, <f>, <sheetData> ..., and whitespace between elements, which must not pile up

    def _start_row(self, attrs: dict[str, str]) -> None:
        self.finish()
        ref = attrs.get("r")
        if ref is None:
            self.row_number += 1
        elif ref.isdigit():
            self.row_number = int(ref)
        else:
            raise XlsxStreamError(f"This workbook is corrupt: {ref[:40]!r} is not a row number.")
        self.next_column = 0
        self.in_phonetic = False
        self.clear_parts()

    def _end_exact(self, name: str) -> None:
        """Installed only while inside a <t> or a text-valued <v>: their text must be kept exactly."""
        self.parser.EndElementHandler = None
        self.runs.append("".join(self.parts))

    def _finish_cell(self) -> None:
        """Turn the cell just finished (the pending <v> text or the <t> runs) into its value and put it in its column.

        The value and the placement are one method, not two, because this runs once per cell.
        """
        if self.pending:
            self.pending = False
            text = "".join(self.parts)
            cell_type = self.cell_type
            if cell_type is None or cell_type == "n":
                try:
                    value = float(text)
                except ValueError:
                    value = _blank_or_corrupt(text, "is not a number")
            elif cell_type == "s":
                value = self._shared_value(text)
            elif cell_type == "b":
                text = text.strip()
                value = (text == "1" or text.lower() == "true") if text else None
            else:
                value = None  # "e" (#N/A, #DIV/0! ...) is empty to the import
        else:
            value = "".join(self.runs) or None
            del self.runs[:]
        if value is None:
            return
        values = self.values
        column = self.column
        have = len(values)
        if column >= have and column >= self.max_columns:
            raise XlsxTooWide(self.row_number, self.max_columns)
        if column == have:
            values.append(value)
        elif column > have:
            values.extend([""] * (column - have))
            values.append(value)
        else:
            values[column] = value

    def _shared_value(self, text: str) -> str | None:
        try:
            index = int(text)
            if index < 0:
                raise IndexError(index)
            return self.lookup(index) or None
        except (ValueError, IndexError):
            return _blank_or_corrupt(text, "is not a shared string")

    def finish(self) -> None:
        """Flush the current cell and row: at each new row, and after the last chunk."""
        if self.pending or self.runs:
            self._finish_cell()
        if self.values:
            self.out.append((self.row_number, tuple(self.values)))
            del self.values[:]


def _rows(
    path: str | os.PathLike, member: str, shared_member: str | None, max_columns: int = MAX_COLUMNS
) -> Iterator[tuple[int, tuple]]:
    """The generator behind iter_xlsx_rows; owns the zip and the shared-string file and always closes them."""
    zf = _open_zip(path)
    shared = _SharedStrings()
    try:
        if shared_member is not None:
            shared.load(zf, shared_member)
        sheet = _SheetParser(shared.lookup, max_columns)
        out = sheet.out
        with _open_member(zf, member) as fh:
            for _ in _feed(sheet.parser, member, fh, sheet.parts, sheet.runs):
                if out:
                    yield from out
                    del out[:]
        sheet.finish()
        yield from out
    finally:
        shared.close()
        zf.close()


# ---------------------------------------------------------------------------------------------------------------
# public API


def xlsx_sheets(path: str | os.PathLike) -> list[tuple[str, bool]]:
    """(sheet name, visible) for every worksheet, in workbook order (hidden/veryHidden -> visible False)."""
    with _open_zip(path) as zf:
        return [(name, visible) for name, visible, _member in _Book(zf).sheets]


def iter_xlsx_rows(
    path: str | os.PathLike, sheet: str | None = None, max_columns: int = MAX_COLUMNS
) -> Iterator[tuple[int, tuple]]:
    """Yield (row_number, values) for each row that has at least one non-empty cell.

    row_number is the 1-based Excel row number (from the <row r="..."> attribute, or counted when absent).
    values is a tuple indexed from column A (index 0) up to the last non-empty cell of THAT row; gaps are "".
    sheet=None means the first VISIBLE worksheet; an unknown name raises XlsxStreamError listing the sheet names.
    A value past ``max_columns`` (Excel's 16,384 by default) raises XlsxTooWide, a kind of XlsxStreamError.

    The workbook is checked (zip, workbook.xml, sheet name) before this returns, so those errors surface at the call;
    the rows themselves are read lazily and the files are closed when the iterator is exhausted or closed.
    """
    with _open_zip(path) as zf:
        book = _Book(zf)
        name, target = book.pick(sheet)
        member = _member_name(zf, target)
    if member is None:
        raise XlsxStreamError(f"This workbook is corrupt: sheet {name!r} points to a missing part ({target}).")
    return _rows(path, member, book.shared_strings, max_columns)
