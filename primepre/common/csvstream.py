"""CSV for a streamed response: rows become text one at a time, so a download of any size holds one row in memory.
Every CSV we serve (customer and goods exports, an import's error file) is written here.

Quoting: Python's csv module quotes a cell only when it holds a `,`, a quote or a line break. A spreadsheet whose
list separator is `;` (where the decimal mark is a comma), TAB or `|` then splits an unquoted `x;=cmd|…` into cells,
and the second one starts a formula behind the guard's apostrophe (`csvsafe.py`). So every text cell holding any of
those separators (or a quote) is quoted too: each reader then keeps the cell whole, whatever its separator.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

BOM = "\ufeff"  # Excel reads UTF-8 CSV correctly only with a byte order mark

# A cell holding one of these is quoted: the separators of every locale, the quote, line breaks.
_NEEDS_QUOTES = re.compile(r"[,;\t|\"\r\n]")
# The separators the csv module would not quote on its own: a row without them is written by it unchanged.
_LOCALE_SEPARATORS = re.compile(r"[;\t|]")
_ROW_BREAK = "\x1f"  # joins a row's text cells for one search (a unit separator: no cell we write holds it alone)


class Echo:
    """A file-like object whose `write` returns the text, so `csv.writer` hands each line back instead of storing it."""

    def write(self, text: str) -> str:
        return text


def _cell(value: Any) -> str:
    """One cell as the csv module writes it (None is empty, numbers by str), quoted if it holds a separator."""
    text = "" if value is None else str(value)
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def format_row(writer: Any, row: Sequence[Any]) -> str:
    """One CSV line. Rows without a locale separator (nearly all) are left to the csv module's C writer; a row with
    one is written here, every cell holding a separator or a quote quoted."""
    texts = [value for value in row if isinstance(value, str)]
    if not texts or not _LOCALE_SEPARATORS.search(_ROW_BREAK.join(texts)):
        return writer.writerow(row)
    return ",".join(_cell(value) for value in row) + "\r\n"


def csv_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The BOM, then each row as one CSV line. Cells are written as given: guard untrusted text first
    (`primepre.common.csvsafe.guard`)."""
    writer = csv.writer(Echo())
    yield BOM
    for row in rows:
        yield format_row(writer, row)


def write_rows(target: IO[str], rows: Iterable[Sequence[Any]]) -> None:
    """The same lines (without the BOM: open the file with `utf-8-sig`) into a text file, for CSV written to disk."""
    writer = csv.writer(Echo())
    for row in rows:
        target.write(format_row(writer, row))
