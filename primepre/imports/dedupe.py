"""In-file duplicate detection: the first row with a key (a customer's phone, mark or email; a receipt's tracking
number) wins; later ones fail naming it. The keys are the schema's (`ImportSchema.dedupe_keys`).

The index must remember every key of the file so far. At 1,000,000 rows Python dicts of those keys alone take
hundreds of MB, so the index starts in memory (fast for the usual 5–100k rows) and moves to a temporary SQLite file
on disk once it passes `spill_after` rows, keeping memory flat however large the file is.
"""

from __future__ import annotations

import operator
import sqlite3
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any

from .schema import DedupeKey, FieldError


class KeyIndex:
    def __init__(self, kinds: Sequence[str], spill_after: int | None = None) -> None:
        from django.conf import settings

        self.kinds = tuple(kinds)
        self.spill_after = settings.IMPORT_DEDUPE_MEMORY_ROWS if spill_after is None else spill_after
        self._memory: dict[str, dict[str, int]] | None = {kind: {} for kind in self.kinds}
        self._rows = 0
        self._db: sqlite3.Connection | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None

    def in_memory(self) -> dict[str, dict[str, int]] | None:
        """The index's dicts (kind → key → first row) while it is in memory; None once it is on disk."""
        return self._memory

    def find(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        """The first row of each of `keys` already in the index."""
        if self._memory is not None:
            known = self._memory[kind]
            return {key: known[key] for key in keys if key in known}
        assert self._db is not None
        wanted = list(dict.fromkeys(keys))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            placeholders = ",".join("?" * len(chunk))
            query = f"SELECT key, row FROM keys_{kind} WHERE key IN ({placeholders})"  # noqa: S608 - kind is ours
            found.update(self._db.execute(query, chunk))
        return found

    def add(self, kind: str, items: Sequence[tuple[str, int]]) -> None:
        """Register (key, row) pairs; keys must not be in the index yet (callers `find` first)."""
        if self._memory is not None:
            self._memory[kind].update(items)
        else:
            assert self._db is not None
            self._db.execute("BEGIN")
            self._db.executemany(f"INSERT OR IGNORE INTO keys_{kind} VALUES (?, ?)", items)  # noqa: S608
            self._db.execute("COMMIT")

    def rows_added(self, count: int) -> None:
        """Called once per batch: moves the index to disk when it grows past the threshold."""
        self._rows += count
        if self._memory is not None and self._rows > self.spill_after:
            self._spill()

    def _spill(self) -> None:
        self._tempdir = tempfile.TemporaryDirectory(prefix="primepre-dedupe-")
        # One thread at a time uses the index (the reader thread, then the caller closes it after joining it).
        self._db = sqlite3.connect(f"{self._tempdir.name}/keys.sqlite3", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-16000")  # 16 MB page cache: the point is to stay small
        assert self._memory is not None
        self._db.execute("BEGIN")
        for kind in self.kinds:
            self._db.execute(f"CREATE TABLE keys_{kind} (key TEXT PRIMARY KEY, row INTEGER) WITHOUT ROWID")
            self._db.executemany(f"INSERT INTO keys_{kind} VALUES (?, ?)", self._memory[kind].items())  # noqa: S608
        self._db.execute("COMMIT")
        self._memory = None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


class InFileDedupe:
    """First occurrence wins: a later row with the same value of any of the schema's keys fails with
    `duplicate_in_file`, naming the first row."""

    def __init__(self, index: KeyIndex, keys: Sequence[DedupeKey]) -> None:
        self.index = index
        self.keys = tuple(keys)

    def filter(self, rows: list[Any], failures: list[Any]) -> list[Any]:
        memory = self.index.in_memory()
        accepted = (
            self._filter_in_memory(rows, failures, memory) if memory is not None else self._filter(rows, failures)
        )
        self.index.rows_added(len(rows))
        return accepted

    def _filter_in_memory(self, rows: list[Any], failures: list[Any], memory: dict[str, dict[str, int]]) -> list[Any]:
        """The index's own dicts, read and written row by row: the same answers as `_filter` (a test compares them)
        without building each batch's key lists and lookups; this runs for every row of the usual file."""
        from .writer import Failure

        keys = [(key, operator.attrgetter(key.attr), memory[key.attr]) for key in self.keys]
        accepted: list[Any] = []
        for row in rows:
            errors = [
                FieldError(key.field, "duplicate_in_file", f"Same {key.label} as row {first} of this file.")
                for key, value_of, known in keys
                if (value := value_of(row)) and (first := known.get(value)) is not None
            ]
            if errors:
                failures.append(Failure(row.row_number, row.values, errors))
                continue
            for _, value_of, known in keys:
                if value := value_of(row):
                    known[value] = row.row_number
            accepted.append(row)
        return accepted

    def _filter(self, rows: list[Any], failures: list[Any]) -> list[Any]:
        """The index on disk: each batch's keys looked up in one query per kind."""
        from .writer import Failure

        earlier = {
            key.attr: self.index.find(key.attr, [v for row in rows if (v := getattr(row, key.attr))])
            for key in self.keys
        }
        batch_seen: dict[str, dict[str, int]] = {key.attr: {} for key in self.keys}
        accepted: list[Any] = []
        for row in rows:
            errors = self._duplicates(row, earlier, batch_seen)
            if errors:
                failures.append(Failure(row.row_number, row.values, errors))
                continue
            for key in self.keys:
                value = getattr(row, key.attr)
                if value:
                    batch_seen[key.attr][value] = row.row_number
            accepted.append(row)
        for attr, seen in batch_seen.items():
            if seen:
                self.index.add(attr, list(seen.items()))
        return accepted

    def _duplicates(self, row: Any, earlier: dict, batch_seen: dict) -> list[FieldError]:
        errors = []
        for key in self.keys:
            value = getattr(row, key.attr)
            if not value:
                continue
            first = earlier[key.attr].get(value) or batch_seen[key.attr].get(value)
            if first is not None:
                errors.append(
                    FieldError(key.field, "duplicate_in_file", f"Same {key.label} as row {first} of this file.")
                )
        return errors
