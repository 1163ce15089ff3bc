# ruff: noqa: S608 - every statement here is built from this file's constants and the table's own column names
"""The floor of a customer import: what the database alone needs to take the rows our import wrote.

bench/run.py calls `dump` right after one of our imports (the clean rows, exactly as written, and the import job they
point at), later empties the tables as before every run, calls `restore_jobs`, and runs this file as a subprocess:

    DATABASE_URL=… .venv/bin/python bench/floor.py ROWS_FILE --method copy-one|copy-batches|json-batches

The subprocess sets Django up (so its connection is the one an import gets: SQLite's WAL, `synchronous=NORMAL`,
`BEGIN IMMEDIATE`, foreign keys; and the import's own session tuning, `bulk_write_session`), builds every statement's
data, opens the connection, and only then starts the clock. Timed: the load and its commits, nothing else.

- `copy-one` (PostgreSQL): one `COPY customers_customer (columns) FROM STDIN` of every row, one transaction.
- `copy-batches` (PostgreSQL): one COPY per IMPORT_BATCH_SIZE rows, each committed, as our import commits.
- `json-batches` (SQLite): the statement of `TableInserter._insert_sqlite` (primepre/imports/writer.py): the rows'
  own columns as JSON arrays of SQLITE_JSON_ROWS rows, `INSERT … SELECT json_extract(…) FROM json_each(?) WHERE true
  ON CONFLICT DO NOTHING`, the batch's shared columns (who, which job, when) as parameters, IMPORT_BATCH_SIZE rows per
  committed transaction.

The columns are those of the table minus `id` and generated columns (`search_text`), which are what the import writes.
The last stdout line is a JSON summary: `seconds`, `rows`, `method`, `batches`.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
TABLE = "customers_customer"
JOB_TABLE = "imports_importjob"
# What every record of one batch shares; parameters of the SQLite statement, as in TableInserter.
BATCH_COLUMNS = ("created_by_id", "import_job_id", "created_at", "updated_at")
METHODS = {"postgres": ("copy-one", "copy-batches"), "sqlite": ("json-batches",)}


def sqlite_path(url: str) -> str:
    path = urlsplit(url).path
    return path[1:] if path.startswith("//") else path


# --- the bench driver's side: plain psycopg / sqlite3, no Django ---------------------------------------------------


def written_columns(kind: str, url: str) -> list[str]:
    """The customer table's columns an import writes: all but `id` and generated ones; the batch columns last."""
    if kind == "postgres":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = %s AND is_generated = 'NEVER' ORDER BY ordinal_position",
                (TABLE,),
            ).fetchall()
        names = [name for (name,) in rows]
    else:
        conn = sqlite3.connect(sqlite_path(url))
        try:  # table_xinfo: hidden 2 and 3 are generated columns
            names = [row[1] for row in conn.execute(f"PRAGMA table_xinfo({TABLE})") if row[6] == 0]
        finally:
            conn.close()
    own = [name for name in names if name != "id" and name not in BATCH_COLUMNS]
    missing = [name for name in BATCH_COLUMNS if name not in names]
    if missing:
        raise RuntimeError(f"{TABLE} has no column(s) {missing}: update bench/floor.py's BATCH_COLUMNS")
    return own + list(BATCH_COLUMNS)


def dump(kind: str, url: str, dest: Path) -> dict[str, Any]:
    """Save the rows our import just wrote (in id order) and the job rows they reference, for `restore_jobs` and a
    later floor run. Returns what run.py keeps: the rows file, the row count and the job rows."""
    columns = written_columns(kind, url)
    column_list = ", ".join(columns)
    job_filter = f"id IN (SELECT DISTINCT import_job_id FROM {TABLE} WHERE import_job_id IS NOT NULL)"
    if kind == "postgres":
        import psycopg

        path = dest.with_suffix(".copy")
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
            with path.open("wb") as handle:
                with cursor.copy(f"COPY (SELECT {column_list} FROM {TABLE} ORDER BY id) TO STDOUT") as copy:
                    for chunk in copy:
                        handle.write(chunk)
            jobs = bytearray()
            with cursor.copy(f"COPY (SELECT * FROM {JOB_TABLE} WHERE {job_filter}) TO STDOUT") as copy:
                for chunk in copy:
                    jobs += chunk
            count = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0]
        job_rows: Any = jobs.decode()
    else:
        path = dest.with_suffix(".jsonl")
        conn = sqlite3.connect(sqlite_path(url))
        try:
            count = 0
            with path.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(columns) + "\n")
                for row in conn.execute(f"SELECT {column_list} FROM {TABLE} ORDER BY id"):
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
            cursor = conn.execute(f"SELECT * FROM {JOB_TABLE} WHERE {job_filter}")
            job_rows = {"columns": [d[0] for d in cursor.description], "rows": cursor.fetchall()}
        finally:
            conn.close()
    path.with_suffix(".columns.json").write_text(json.dumps(columns))
    return {"kind": kind, "file": str(path), "rows": count, "columns": columns, "jobs": job_rows}


def restore_jobs(url: str, data: dict[str, Any]) -> None:
    """Put back the import job(s) the rows point at (the tables were emptied since), outside the clock: the floor's
    rows check their foreign key against it, as ours did."""
    if data["kind"] == "postgres":
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
            with cursor.copy(f"COPY {JOB_TABLE} FROM STDIN") as copy:
                copy.write(data["jobs"])
        return
    jobs = data["jobs"]
    names = ", ".join(f'"{name}"' for name in jobs["columns"])
    marks = ", ".join("?" for _ in jobs["columns"])
    conn = sqlite3.connect(sqlite_path(url))
    try:
        conn.executemany(f"INSERT INTO {JOB_TABLE} ({names}) VALUES ({marks})", jobs["rows"])
        conn.commit()
    finally:
        conn.close()


# --- the measured side: a subprocess with Django's connection --------------------------------------------------------


def _postgres_batches(path: Path, method: str, batch_size: int) -> list[str]:
    """The COPY text: whole (copy-one) or in batch_size-line pieces. A line never holds a raw newline (COPY escapes)."""
    text = path.read_text(encoding="utf-8")
    if method == "copy-one":
        return [text]
    lines = text.splitlines(keepends=True)
    return ["".join(lines[start : start + batch_size]) for start in range(0, len(lines), batch_size)]


def _sqlite_batches(path: Path, batch_size: int, json_rows: int) -> tuple[list[str], list[tuple[list, list[str]]], int]:
    """Columns; per batch, its shared values (from its first row, as a batch shares them) and its JSON arrays; rows."""
    with path.open(encoding="utf-8") as handle:
        columns = json.loads(handle.readline())
        rows = [json.loads(line) for line in handle]
    own = len(columns) - len(BATCH_COLUMNS)
    batches = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        statements = [
            json.dumps([row[:own] for row in chunk[at : at + json_rows]], ensure_ascii=False)
            for at in range(0, len(chunk), json_rows)
        ]
        batches.append((chunk[0][own:], statements))
    return columns, batches, len(rows)


def _sqlite_loader(path: Path, batch_size: int) -> tuple[Callable[[], None], int, int]:
    """The json_each load of every batch, ready to run; the rows it inserts; its batches."""
    from django.db import connection, transaction

    from primepre.imports.writer import SQLITE_JSON_ROWS

    columns, batches, rows = _sqlite_batches(path, batch_size, SQLITE_JSON_ROWS)
    own = len(columns) - len(BATCH_COLUMNS)
    values = [f"json_extract(value, '$[{index}]')" for index in range(own)] + ["%s"] * len(BATCH_COLUMNS)
    sql = (
        f"INSERT INTO {TABLE} ({', '.join(columns)}) SELECT {', '.join(values)} FROM json_each(%s) "
        "WHERE true ON CONFLICT DO NOTHING"
    )

    def run() -> None:
        with connection.cursor() as cursor:
            for shared, statements in batches:
                with transaction.atomic():
                    for statement in statements:
                        cursor.execute(sql, [*shared, statement])

    return run, rows, len(batches)


def _postgres_loader(path: Path, method: str, batch_size: int) -> tuple[Callable[[], None], int, int]:
    """The COPY load (whole or per batch), ready to run; the rows it inserts; its transactions."""
    from django.db import connection, transaction

    columns = json.loads(path.with_suffix(".columns.json").read_text())
    pieces = _postgres_batches(path, method, batch_size)
    sql = f"COPY {TABLE} ({', '.join(columns)}) FROM STDIN"

    def run() -> None:
        with connection.cursor() as cursor:
            for piece in pieces:
                # The raw psycopg cursor, as TableInserter does: Django's wrapper has no COPY.
                with transaction.atomic(), cursor.cursor.copy(sql) as copy:
                    copy.write(piece)

    return run, sum(piece.count("\n") for piece in pieces), len(pieces)


def load(path: Path, method: str, batch_size: int | None) -> dict[str, Any]:
    """Time the load of the dumped rows into the (emptied) table; see the module docstring."""
    import django

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection

    from primepre.imports.pipeline import bulk_write_session

    batch_size = batch_size or settings.IMPORT_BATCH_SIZE
    kind = "postgres" if connection.vendor == "postgresql" else "sqlite"
    if method not in METHODS[kind]:
        raise SystemExit(f"--method {method} is not for {kind}")
    if kind == "sqlite":
        run, expected, batches = _sqlite_loader(path, batch_size)
    else:
        run, expected, batches = _postgres_loader(path, method, batch_size)
    connection.ensure_connection()  # a fresh connection, opened before the clock
    with bulk_write_session():  # the import's session settings: SQLite's cache and checkpoints, PostgreSQL's commit
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")
        stored = cursor.fetchone()[0]
    if stored != expected:
        raise SystemExit(f"floor loaded {stored} rows, expected {expected}")
    return {
        "engine": "floor",
        "method": method,
        "rows": stored,
        "batches": batches,
        "batch_size": batch_size,
        "seconds": round(seconds, 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the database alone loading an import's clean rows.")
    parser.add_argument("rows_file", type=Path)
    parser.add_argument("--method", required=True, choices=sorted({m for ms in METHODS.values() for m in ms}))
    parser.add_argument("--batch-size", type=int, default=None, help="rows per commit (default IMPORT_BATCH_SIZE)")
    args = parser.parse_args(argv)
    print(json.dumps(load(args.rows_file, args.method, args.batch_size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
