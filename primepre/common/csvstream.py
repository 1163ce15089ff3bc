"""CSV for a streamed response: rows become text one at a time, so a download of any size holds one row in memory.
Every CSV we serve (customer and goods exports, an import's error file) is written here."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

BOM = "\ufeff"  # Excel reads UTF-8 CSV correctly only with a byte order mark


class Echo:
    """A file-like object whose `write` returns the text, so `csv.writer` hands each line back instead of storing it."""

    def write(self, text: str) -> str:
        return text


def csv_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The BOM, then each row as one CSV line. Cells are written as given: guard untrusted text first
    (`primepre.common.csvsafe.guard`)."""
    writer = csv.writer(Echo())
    yield BOM
    for row in rows:
        yield writer.writerow(row)
