"""What every schema's batch writer shares: the outcome of a batch, and the fast insert of a batch's records.

A schema's writer (e.g. `customers/import_writer.py`) decides each row's outcome (create, update, unchanged, or a
failure with a code) from one query per batch and writes the batch inside the batch's transaction. Inserts use
`INSERT … ON CONFLICT DO NOTHING` (on PostgreSQL fed by `COPY`), so a row another import inserted a moment ago is
never a duplicate and never a 500: the writer matches it again and classifies it against what is now there.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection

from .schema import FieldError

SQLITE_JSON_ROWS = 500


@dataclass(slots=True)
class Failure:
    row_number: int
    values: tuple[Any, ...]
    errors: list[FieldError]


@dataclass(slots=True)
class Update:
    row: Any
    target_id: int
    changes: dict[str, Any]
    before: dict[str, Any]  # the changed fields' values before, for undo


@dataclass
class BatchOutcome:
    created: list[Any] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)
    tallies: dict[str, int] = field(default_factory=dict)  # the schema's running figures after this batch


class OptimisticInsertRefused(Exception):
    """The optimistic COPY of a create-mode batch hit a taken unique value; its transaction must be rolled back and
    the batch written again with `optimistic=False`."""


@dataclass(slots=True)
class InsertPayload:
    """A create-mode batch as the database will receive it, built ahead by the cleaning thread (see `prepare`)."""

    now: dt.datetime
    records: list[tuple[Any, ...]]
    data: str | list[str]  # COPY text (PostgreSQL) or JSON statements (SQLite)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


class TableInserter:
    """Inserts a batch's records into one table: COPY on PostgreSQL, `json_each` on SQLite, ON CONFLICT DO NOTHING.

    A record is the row's own columns followed by `batch_columns` values every record of the batch shares (who, which
    job, the batch's timestamps). `key_column` identifies which records went in (a unique column of the table).
    """

    def __init__(self, table: str, columns: Sequence[str], *, key_column: str, batch_columns: int) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.row_columns = len(self.columns) - batch_columns
        self.key_index = self.columns.index(key_column)
        self.key_column = key_column
        self.postgres = connection.vendor == "postgresql"
        # The one text column that may be NULL in the common case, for the COPY fast path (None: no such column).
        self.nullable_text: int | None = None

    def data(self, records: list[tuple[Any, ...]]) -> str | list[str]:
        return self.copy_text(records) if self.postgres else self.json_statements(records)

    def copy_text(self, records: list[tuple[Any, ...]]) -> str:
        """The records in COPY's text format, fast. The batch columns are the same for every record; text columns
        cleaned by the engine hold no tab, newline or carriage return, so a line needs escaping only if it holds a
        backslash, and the careful path handles anything else (non-text values included)."""
        if not records:
            return ""
        width, nullable = self.row_columns, self.nullable_text
        tail = "\t" + "\t".join(copy_value(value) for value in records[0][width:])
        lines = []
        for record in records:
            head = list(record[:width])
            null = nullable is not None and head[nullable] is None
            if null:
                head[nullable] = ""
            try:
                line = "\t".join(head)
            except TypeError:  # a non-text value: the careful path
                line = "\\"
            if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != width - 1:
                line = "\t".join(copy_value(value) for value in record[:width])
            elif null:
                head[nullable] = "\\N"
                line = "\t".join(head)
            lines.append(line + tail)
        lines.append("")
        return "\n".join(lines)

    def json_statements(self, records: list[tuple[Any, ...]]) -> list[str]:
        """The records' own columns as JSON arrays of at most SQLITE_JSON_ROWS rows (SQLite's parse of a whole batch
        showed in peak memory); the columns every record shares are parameters of the statement."""
        width = self.row_columns
        return [
            json.dumps([record[:width] for record in records[start : start + SQLITE_JSON_ROWS]], ensure_ascii=False)
            for start in range(0, len(records), SQLITE_JSON_ROWS)
        ]

    def insert(self, records: list[tuple[Any, ...]], data: str | list[str], *, optimistic: bool, job_id: int) -> set:
        """Insert the records; returns the keys of those that went in."""
        if self.postgres:
            assert isinstance(data, str)
            return self._insert_postgres(records, data, optimistic)
        assert isinstance(data, list)
        return self._insert_sqlite(records, data, job_id)

    def _insert_sqlite(self, records: list[tuple[Any, ...]], statements: list[str], job_id: int) -> set:
        """The batch as JSON parameters, unpacked by SQLite itself (`INSERT … SELECT … FROM json_each(?)`).

        The sqlite3 module holds the GIL while it binds parameters and lets go while SQLite runs a statement: with
        `executemany`, binding a dozen values per row kept the GIL for about half of every insert, stalling the
        thread that cleans the next batch. A few statements per batch let go of it for the whole insert. Usually
        every row goes in; when some did not, the rows this batch inserted are the ones carrying this job and this
        batch's timestamp (the first shared value after the job)."""
        columns = ", ".join(self.columns)
        batch_values = records[0][self.row_columns :]
        values = ", ".join(
            [f"json_extract(value, '$[{index}]')" for index in range(self.row_columns)] + ["%s"] * len(batch_values)
        )
        inserted = 0
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(
                    f"INSERT INTO {self.table} ({columns}) SELECT {values} FROM json_each(%s) WHERE true "  # noqa: S608
                    "ON CONFLICT DO NOTHING",
                    [*batch_values, statement],
                )
                inserted += cursor.rowcount
            if inserted == len(records):
                return {record[self.key_index] for record in records}
            stamp = records[0][self.columns.index("created_at")]
            cursor.execute(
                f"SELECT {self.key_column} FROM {self.table} WHERE import_job_id = %s AND created_at = %s",  # noqa: S608
                [job_id, stamp],
            )
            return {key for (key,) in cursor.fetchall()}

    def _insert_postgres(self, records: list[tuple[Any, ...]], copy_text: str, optimistic: bool) -> set:
        """Optimistically, COPY straight into the table. If any unique value is taken (a row the batch was not matched
        against, or a concurrent writer's), COPY fails as a whole and so does the batch's transaction:
        OptimisticInsertRefused tells the caller to roll back and run the batch again matched, which inserts with COPY
        into a staging table + INSERT … ON CONFLICT DO NOTHING, row by row. (No savepoint around the optimistic COPY:
        two round trips a batch, for the rare batch that needs them.)"""
        import psycopg

        columns = ", ".join(self.columns)
        if optimistic:
            try:
                with connection.cursor() as cursor:
                    # The raw psycopg cursor: Django's wrapper has no COPY (and so does not translate its errors).
                    with cursor.cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy:
                        copy.write(copy_text)
            except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
                raise OptimisticInsertRefused() from exc
            return {record[self.key_index] for record in records}
        stage = f"primepre_stage_{self.table}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608 - our names
                f"SELECT {columns} FROM {self.table} WITH NO DATA"
            )
            with cursor.cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
                copy.write(copy_text)
            cursor.execute(
                f"INSERT INTO {self.table} ({columns}) SELECT {columns} FROM {stage} "  # noqa: S608
                f"ON CONFLICT DO NOTHING RETURNING {self.key_column}"
            )
            keys = {key for (key,) in cursor.fetchall()}
            cursor.execute(f"TRUNCATE {stage}")
        return keys
