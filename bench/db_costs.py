# ruff: noqa: S608 - every statement here is built from this file's own constants, never from input
"""What the customer table's indexes cost a bulk insert, and what a search costs to read, in the database alone.

    .venv/bin/python bench/db_costs.py [--databases sqlite,postgres] [--rows 100000]

For each database: a fresh benchmark database is migrated and the `make bench` CSV imported with import_customers
(about 98,000 customers). Then:
- inserts: the same rows are copied (`INSERT … SELECT`, so only the database's own work is timed, best of 5) into an
  empty table shaped like `customers_customer`, as migrated and in variants: the two-column (last_name, first_name)
  index it had before, without the index on import_job_id, without the search_text column, and (PostgreSQL) with
  a pg_trgm index on search_text;
- reads: a search as the app asks it (`search_text LIKE '%kofi%'`) against the five `UPPER(…) LIKE` conditions it
  replaced; multi-word and phone searches with every LIKE against only those that can change the answer
  (customers/search.py); a search's page and count as one ordered query against the count in a subquery
  (common/paging.py), after `VACUUM ANALYZE`; how many customers each search matches; and the region filter's count
  without and with the DISTINCT django-filter added (mean of 5);
- SQLite only: the rows again in 2,000-row committed batches, with the default settings and with those an import
  sets for its connection (a larger page cache, rarer WAL checkpoints).
The benchmark database is dropped at the end. Nothing here is asserted; it prints seconds and milliseconds.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from run import CUSTOMER_TABLE, create_database, ensure_file, python_bin  # noqa: E402

COLUMNS = (
    "first_name, last_name, phone, shipping_mark, mark_key, email, region, company_name, customer_type, "
    "created_at, updated_at, created_by_id, import_job_id"
)
OLD_SEARCH = (
    "UPPER(first_name) LIKE '%KOFI%' OR UPPER(last_name) LIKE '%KOFI%' OR UPPER(company_name) LIKE '%KOFI%' "
    "OR UPPER(email) LIKE '%KOFI%' OR mark_key LIKE '%kofi%'"
)
REGIONS = "region IN ('AH', 'AA')"
# primepre/imports/pipeline.py's _SQLITE_BULK_PRAGMAS, as SQL.
SQLITE_IMPORT_PRAGMAS = "PRAGMA cache_size = -8000; PRAGMA wal_autocheckpoint = 10000;"
ALL_COLUMNS = f"id, {COLUMNS}, search_text"


class Connection:
    """The few calls this needs, over psycopg or sqlite3."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        if kind == "postgres":
            import psycopg

            self.conn: Any = psycopg.connect(url, autocommit=True)
        else:
            path = urlsplit(url).path
            self.conn = sqlite3.connect(path[1:] if path.startswith("//") else path, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")

    def run(self, sql: str) -> list[Any]:
        cursor = self.conn.execute(sql)
        return cursor.fetchall() if cursor.description else []

    def timed(self, sql: str) -> float:
        started = time.perf_counter()
        self.run(sql)
        return time.perf_counter() - started


def copy_table_postgres(db: Connection) -> None:
    db.run("DROP TABLE IF EXISTS bench_t")
    db.run(f"CREATE TABLE bench_t (LIKE {CUSTOMER_TABLE} INCLUDING ALL)")


def copy_table_sqlite(db: Connection) -> None:
    db.run("DROP TABLE IF EXISTS bench_t")
    rows = db.run(f"SELECT type, sql FROM sqlite_master WHERE tbl_name = '{CUSTOMER_TABLE}' AND sql IS NOT NULL")
    for kind, sql in sorted(rows, key=lambda row: row[0] != "table"):  # the table first, then its indexes
        sql = sql.replace(f'"{CUSTOMER_TABLE}"', '"bench_t"')
        if kind == "index":
            sql = sql.replace('INDEX "', 'INDEX "bench_t_', 1)
        db.run(sql)


def index_on(db: Connection, column: str) -> str:
    """The name of bench_t's one-column index on `column`."""
    if db.kind == "postgres":
        sql = f"SELECT indexname FROM pg_indexes WHERE tablename = 'bench_t' AND indexdef LIKE '%({column})'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE tbl_name = 'bench_t' AND type = 'index' "
        sql += f"AND sql LIKE '%(\"{column}\")'"
    return db.run(sql)[0][0]


def variants(db: Connection) -> list[tuple[str, Callable[[], None]]]:
    def two_column_name_index() -> None:
        db.run(f'DROP INDEX "{index_on(db, "last_name")}"')
        db.run("CREATE INDEX bench_t_name ON bench_t (last_name, first_name)")

    chosen: list[tuple[str, Callable[[], None]]] = [
        ("as migrated", lambda: None),
        ("(last_name, first_name) instead of last_name", two_column_name_index),
        ("without the index on import_job_id", lambda: db.run(f'DROP INDEX "{index_on(db, "import_job_id")}"')),
        ("without the search_text column", lambda: db.run("ALTER TABLE bench_t DROP COLUMN search_text")),
    ]
    if db.kind == "postgres":
        db.run("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        trigram = "CREATE INDEX bench_t_trgm ON bench_t USING gin (search_text gin_trgm_ops)"
        chosen.append(("+ pg_trgm index on search_text", lambda: db.run(trigram)))
    return chosen


def _like(*patterns: str) -> str:
    return " AND ".join(f"search_text LIKE '%{pattern}%'" for pattern in patterns)


def _page(condition: str) -> str:
    """A search's page and count as `BoundedPaginator` asks them: in a subquery (now), one ordered query (before)."""
    inner = f"SELECT id, created_at, COUNT(id) OVER () AS total FROM {CUSTOMER_TABLE} WHERE {condition}"
    return f"SELECT id, total FROM ({inner}) AS s ORDER BY created_at DESC, id DESC LIMIT 50"


def _page_before(condition: str) -> str:
    return (
        f"SELECT id, COUNT(id) OVER () FROM {CUSTOMER_TABLE} WHERE {condition} "
        "ORDER BY created_at DESC, id DESC LIMIT 50"
    )


READS = [
    ("search, search_text LIKE (now)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE {_like('kofi')}"),
    ("search, five UPPER() LIKEs (before)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE {OLD_SEARCH}"),
    # customers/search.py asks only the LIKEs that can change the answer
    ("'ama owusu', every LIKE (before)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE ({_like('ama', 'owusu')}) "
     f"OR {_like('amaowusu')}"),
    ("'ama owusu', the LIKEs that count (now)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE {_like('owusu', 'ama')}"),
    ("'pm 123 kofi', every LIKE (before)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE "
     f"({_like('pm', '123', 'kofi')}) OR {_like('pm123kofi')}"),
    ("'pm 123 kofi', the LIKEs that count (now)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE "
     f"{_like('kofi', '123', 'pm')}"),
    ("'0241', every LIKE (before)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE {_like('0241')} OR {_like('241')}"),
    ("'0241', the LIKEs that count (now)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE {_like('241')}"),
    # common/paging.py: the count in a subquery, the order and the page outside it
    ("page + count 'kofi', one ordered query (before)", _page_before(_like("kofi"))),
    ("page + count 'kofi', count in a subquery (now)", _page(_like("kofi"))),
    ("page + count 'yahoo', one ordered query (before)", _page_before(_like("yahoo"))),
    ("page + count 'yahoo', count in a subquery (now)", _page(_like("yahoo"))),
    ("page + count '241', one ordered query (before)", _page_before(_like("241"))),
    ("page + count '241', count in a subquery (now)", _page(_like("241"))),
    ("region count (now)", f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE {REGIONS}"),
    (
        "region count with DISTINCT (before)",
        f"SELECT COUNT(*) FROM (SELECT DISTINCT {ALL_COLUMNS} FROM {CUSTOMER_TABLE} WHERE {REGIONS}) AS s",
    ),
]  # fmt: skip


def matches_of(db: Connection) -> str:
    """How broad the searches above are: the customers each one matches."""
    terms = ("kofi", "yahoo", "241", "gmail", "23324")
    found = [db.run(f"SELECT COUNT(*) FROM {CUSTOMER_TABLE} WHERE {_like(term)}")[0][0] for term in terms]
    return ", ".join(f"'{term}' {count:,}" for term, count in zip(terms, found, strict=True))


def measure(kind: str, rows: int) -> None:
    database = create_database(kind)
    if database is None:
        return
    try:
        database.migrate()
        path, _ = ensure_file(rows, "csv", 1, 0.02, "standard")
        subprocess.run(  # noqa: S603 - our own command
            [python_bin(), "manage.py", "import_customers", str(path)],
            cwd=ROOT,
            env=database.env(),
            check=True,
            capture_output=True,
        )
        db = Connection(kind, database.url)
        db.run("DROP TABLE IF EXISTS bench_src")
        db.run(f"CREATE TABLE bench_src AS SELECT {COLUMNS} FROM {CUSTOMER_TABLE}")
        count = db.run("SELECT COUNT(*) FROM bench_src")[0][0]
        print(f"\n{kind}: {count:,} customers; inserting them all into an empty copy of the table, best of 5:")
        baseline = None
        for label, change in variants(db):
            best = float("inf")
            for _ in range(5):
                (copy_table_postgres if kind == "postgres" else copy_table_sqlite)(db)
                change()
                best = min(best, db.timed(f"INSERT INTO bench_t ({COLUMNS}) SELECT {COLUMNS} FROM bench_src"))
            baseline = baseline or best
            print(f"  {label:<48} {best:6.3f} s  {best / baseline - 1:+6.0%}")
        if kind == "sqlite":
            print("sqlite: the same rows in 2,000-row committed batches, as an import writes them:")
            for label, pragmas in (("default settings", ""), ("the import's settings", SQLITE_IMPORT_PRAGMAS)):
                copy_table_sqlite(db)
                db.run("PRAGMA cache_size = -2000")
                db.run("PRAGMA wal_autocheckpoint = 1000")
                if pragmas:
                    db.conn.executescript(pragmas)
                started = time.perf_counter()
                for offset in range(0, count, 2000):
                    db.run("BEGIN IMMEDIATE")
                    db.run(
                        f"INSERT INTO bench_t ({COLUMNS}) SELECT {COLUMNS} FROM bench_src "
                        f"ORDER BY rowid LIMIT 2000 OFFSET {offset}"
                    )
                    db.run("COMMIT")
                print(f"  {label:<48} {time.perf_counter() - started:6.3f} s")
        db.run("DROP TABLE IF EXISTS bench_t")
        if kind == "postgres":
            db.run(f"VACUUM ANALYZE {CUSTOMER_TABLE}")
        print(f"{kind}: reading {count:,} customers, mean of 5:")
        print(f"  matches: {matches_of(db)}")
        for label, sql in READS:
            db.run(sql)  # warm
            mean = sum(db.timed(sql) for _ in range(5)) / 5
            print(f"  {label:<48} {mean * 1000:6.1f} ms")
        db.conn.close()
    finally:
        database.drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)
    for kind in (name.strip() for name in args.databases.split(",") if name.strip()):
        measure(kind, args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
