"""The customer-import benchmark: our engine (and, with --compare, django-import-export) on SQLite and PostgreSQL.

    .venv/bin/python bench/run.py [--sizes 7000,100000,1000000] [--formats xlsx,csv] [--databases sqlite,postgres]
                                  [--compare] [--compare-max-rows 100000] [--quick] [--repeat N]

Every import runs in its own process, the way staff run it (`manage.py import_customers FILE --mode create --json`),
against a freshly migrated database emptied before each run; the process's RSS (children included) is sampled every
50 ms and its ru_maxrss read when it exits. Figures come from the engines' JSON summary lines; nothing is asserted, the
targets are printed as PASS/MISS. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

from generate import generator_version, meta_path  # noqa: E402 - bench/ is not a package

DEFAULT_SIZES = [7_000, 100_000, 1_000_000]
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "primepre_bench"
CUSTOMER_TABLE = "customers_customer"
SAMPLE_SECONDS = 0.05
OURS = "primepre"
THEIRS = "django-import-export"

# (engine, db or None for any, rows) → limit; shown as PASS/MISS next to the figure, never asserted.
TIME_TARGETS = {("postgres", 7_000): 0.5, ("postgres", 100_000): 5.0, ("sqlite", 100_000): 8.0}
RSS_TARGETS_MB = {100_000: 160, 1_000_000: 300}
RATIO_TARGET = 5.0


def python_bin() -> str:
    """The project's venv interpreter (what `make bench` uses), else the one running this script."""
    venv = ROOT / ".venv" / "bin" / "python"
    return os.environ.get("BENCH_PYTHON") or (str(venv) if venv.exists() else sys.executable)


# --- files --------------------------------------------------------------------------------------------------------


def ensure_file(rows: int, fmt: str, seed: int, bad_fraction: float, header_style: str) -> tuple[Path, dict[str, Any]]:
    """Generate the file once; reuse it while its meta says it was made with the same parameters and generator."""
    path = OUT / f"customers_{rows}_{header_style}_s{seed}_b{bad_fraction:g}.{fmt}"
    params = {
        "rows": rows,
        "format": fmt,
        "seed": seed,
        "bad_fraction": bad_fraction,
        "header_style": header_style,
        "generator": generator_version(),
    }
    meta_file = meta_path(path)
    if path.exists() and meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("params") == params:
            print(f"reusing {path.relative_to(ROOT)} ({meta['planted_total']} bad rows planted)")
            return path, meta
    cmd = [python_bin(), str(BENCH / "generate.py"), "--rows", str(rows), "--format", fmt, "--out", str(path)]
    cmd += ["--seed", str(seed), "--bad-fraction", str(bad_fraction), "--header-style", header_style]
    subprocess.run(cmd, cwd=ROOT, check=True)  # noqa: S603 - our own script, arguments from argparse
    return path, json.loads(meta_file.read_text())


# --- databases ----------------------------------------------------------------------------------------------------


def empty_postgres_tables(url: str) -> list[str]:
    """TRUNCATE the customer table and every imports_* table (RESTART IDENTITY CASCADE); return their names."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '30s'")  # an idle server or worker holds no lock; fail rather than hang
        names = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND (tablename = %s OR tablename LIKE 'imports\\_%%')",
                (CUSTOMER_TABLE,),
            )
        ]
        if names:
            conn.execute(
                sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                    sql.SQL(", ").join(sql.Identifier(name) for name in names)
                )
            )
    return names


TRIGRAM_INDEX = "bench_customer_search_trgm"


def add_trigram_index(url: str) -> None:
    """Bench only, to measure a trade-off the product has not taken (README, "Search reads one column"): a pg_trgm GIN
    index on `customers_customer.search_text`, as a migration would add it. TRUNCATE keeps it."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON {CUSTOMER_TABLE} USING gin (search_text gin_trgm_ops)"
        )


@dataclass
class Database:
    """A fresh benchmark database: created, migrated, and emptied before every import."""

    kind: str
    url: str
    workdir: Path
    tables: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": self.url,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEBUG": "0",  # as in production: no query log, no dev-only defaults
                "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
                # Keep stored upload copies and var files out of the checkout.
                "MEDIA_ROOT": str(self.workdir / "media"),
                "VAR_DIR": str(self.workdir / "var"),
            }
        )
        return env

    def migrate(self) -> None:
        started = time.perf_counter()
        proc = subprocess.run(  # noqa: S603 - fixed command
            [python_bin(), "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            raise RuntimeError(f"migrate failed on {self.kind}:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
        print(f"{self.kind}: migrated in {time.perf_counter() - started:.1f} s")

    def empty(self) -> None:
        """Delete every customer and every imports_* row (jobs, row errors, changes) before an import."""
        if self.kind == "sqlite":
            path = urlsplit(self.url).path
            path = path[1:] if path.startswith("//") else path
            with sqlite3.connect(path) as conn:
                conn.execute("PRAGMA foreign_keys = OFF")
                names = [
                    row[0]
                    for row in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND (name = ? OR name LIKE 'imports\\_%' "
                        "ESCAPE '\\')",
                        (CUSTOMER_TABLE,),
                    )
                ]
                for name in names:
                    conn.execute(f'DELETE FROM "{name}"')  # noqa: S608 - names read from sqlite_master
                conn.commit()
            conn.close()
            with sqlite3.connect(path, isolation_level=None) as conn:
                conn.execute("VACUUM")  # the same file layout for every run
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.close()
        else:
            names = empty_postgres_tables(self.url)
        self.tables = names

    def drop(self) -> None:
        if self.kind == "postgres":
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        shutil.rmtree(self.workdir, ignore_errors=True)


def _pg_admin(statement: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)
        return str(conn.info.server_version)


def create_database(kind: str) -> Database | None:
    """SQLite: a new file in a temp dir. PostgreSQL: DROP/CREATE primepre_bench; None (skipped) if unreachable."""
    workdir = Path(tempfile.mkdtemp(prefix=f"primepre-bench-{kind}-"))
    if kind == "sqlite":
        return Database(kind, f"sqlite:///{workdir / 'bench.sqlite3'}", workdir)
    try:
        _pg_admin(f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
        version = _pg_admin(f"CREATE DATABASE {PG_BENCH_DB}")
    except Exception as exc:  # any failure to reach the server: skip it
        shutil.rmtree(workdir, ignore_errors=True)
        message = f"PostgreSQL is unreachable at {redact(PG_ADMIN_URL)} ({type(exc).__name__}: {exc})".strip()
        if os.environ.get("CI", "").lower() == "true":
            raise SystemExit(f"{message}; CI=true, so the PostgreSQL leg cannot be skipped.") from exc
        print(f"--- {message}: PostgreSQL runs SKIPPED (set BENCH_POSTGRES_URL, or start it)")
        return None
    parts = urlsplit(PG_ADMIN_URL)
    url = urlunsplit(parts._replace(path=f"/{PG_BENCH_DB}"))
    print(f"postgres: created {PG_BENCH_DB} on {redact(PG_ADMIN_URL)} (server {version})")
    return Database(kind, url, workdir)


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


# --- one measured import ------------------------------------------------------------------------------------------


@dataclass
class Sampled:
    """A finished command as a benchmark sees it."""

    exit_code: int
    seconds: float
    peak_rss: int  # bytes: the process and its children, sampled
    maxrss_mb: float | None  # its own ru_maxrss, from wait4
    stdout: str
    stderr: str


def sample_process(cmd: list[str], env: dict[str, str], timeout: float, interval: float = SAMPLE_SECONDS) -> Sampled:
    """Run `cmd`, sampling RSS (process + children) every `interval`; read its own ru_maxrss from wait4 when it
    exits; killed past `timeout`. Every benchmark that runs a command measures it here."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)  # noqa: S603 - built from args
        watched = psutil.Process(proc.pid)
        peak = 0
        status, usage = 0, None
        try:
            while True:
                try:
                    peak = max(peak, sum(_rss(p) for p in [watched, *watched.children(recursive=True)]))
                except psutil.Error:
                    pass
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - started > timeout:
                    proc.kill()
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(interval)
        except BaseException:
            proc.kill()
            raise
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    maxrss = round(usage.ru_maxrss / 1024, 1) if usage else None  # Linux: kilobytes
    return Sampled(os.waitstatus_to_exitcode(status), wall, peak, maxrss, stdout, stderr)


def measure(cmd: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run `cmd` (see `sample_process`) and read the engine's JSON summary, its last line of output."""
    run = sample_process(cmd, env, timeout)
    wall, stdout, stderr = run.seconds, run.stdout, run.stderr
    record: dict[str, Any] = {
        "exit_code": run.exit_code,
        "process_seconds": round(wall, 3),
        "peak_rss_mb": round(run.peak_rss / 2**20, 1),
        "maxrss_mb": run.maxrss_mb,
    }
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        summary = None
    if run.exit_code != 0 or not isinstance(summary, dict):
        reason = "timed out" if wall > timeout else f"exit code {run.exit_code}, no JSON summary line"
        record["error"] = f"{reason}: {(stderr or stdout).strip()[-1500:]}"
        return record
    record["summary"] = summary
    return record


def _rss(process: psutil.Process) -> int:
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def run_engine(engine: str, path: Path, db: Database, args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    """`--repeat` runs on an emptied database; the median run by seconds is reported, the worst peak memory."""
    if engine == OURS:
        cmd = [python_bin(), "manage.py", "import_customers", str(path), "--mode", "create", "--json"]
        if args.batch_size:
            cmd += ["--batch-size", str(args.batch_size)]
    else:
        cmd = [python_bin(), str(BENCH / "compare_import_export.py"), str(path), "--json"]
    runs = []
    for _ in range(args.repeat):
        db.empty()
        runs.append(measure(cmd, db.env(), args.timeout))
    params = meta["params"]
    record: dict[str, Any] = {
        "size": params["rows"],
        "format": params["format"],
        "db": db.kind,
        "engine": engine,
        "file": str(path.relative_to(ROOT)),
        "planted_bad": meta["planted_total"],
    }
    good = [run for run in runs if "summary" in run]
    if len(good) < len(runs):
        record["status"] = "error"
        record["error"] = next(run["error"] for run in runs if "error" in run)
        print(f"  {engine} on {db.kind}: FAILED: {record['error'][-600:]}")
        return record
    chosen = sorted(good, key=lambda run: run["summary"].get("seconds", 0))[len(good) // 2]
    summary = chosen["summary"]
    record.update({key: summary.get(key) for key in ("status", "read", "created", "updated", "failed")})
    record["seconds"] = summary.get("seconds")
    record["rows_per_second"] = summary.get("rows_per_second")
    record["process_seconds"] = chosen["process_seconds"]
    record["peak_rss_mb"] = max(run["peak_rss_mb"] for run in good)
    record["maxrss_mb"] = max(run["maxrss_mb"] or 0 for run in good)
    record["all_seconds"] = [run["summary"].get("seconds") for run in good]
    record["summary"] = summary
    print(
        f"  {engine:<21} {db.kind:<8} {params['format']:<4} {params['rows']:>9,}: "
        f"{summary.get('seconds')} s, {summary.get('rows_per_second')} rows/s, created {summary.get('created')}, "
        f"failed {summary.get('failed')} (planted {meta['planted_total']}), peak RSS {record['peak_rss_mb']} MB"
    )
    return record


# --- targets and report -------------------------------------------------------------------------------------------


def targets(record: dict[str, Any]) -> list[str]:
    """The PASS/MISS notes for one of our rows (import-export rows are the baseline and have none)."""
    if record["engine"] != OURS or record.get("status") == "error":
        return []
    notes = []
    limit = TIME_TARGETS.get((record["db"], record["size"]))
    if limit is not None and record.get("seconds") is not None:
        notes.append(f"t≤{limit:g}s {'PASS' if record['seconds'] <= limit else 'MISS'}")
    rss_limit = RSS_TARGETS_MB.get(record["size"])
    if rss_limit is not None:
        worst = max(record.get("peak_rss_mb") or 0, record.get("maxrss_mb") or 0)
        notes.append(f"rss≤{rss_limit} {'PASS' if worst <= rss_limit else 'MISS'}")
    if record.get("ratio") is not None:
        notes.append(f"×{RATIO_TARGET:g} {'PASS' if record['ratio'] >= RATIO_TARGET else 'MISS'}")
    return notes


def add_ratios(records: list[dict[str, Any]]) -> None:
    """ratio = our rows/s ÷ import-export's rows/s, same file and database."""
    theirs = {
        (r["size"], r["format"], r["db"]): r for r in records if r["engine"] == THEIRS and r.get("rows_per_second")
    }
    for record in records:
        other = theirs.get((record["size"], record["format"], record["db"]))
        if record["engine"] == OURS and other and record.get("rows_per_second"):
            record["ratio"] = round(record["rows_per_second"] / other["rows_per_second"], 2)
        record["targets"] = targets(record)


def print_table(records: list[dict[str, Any]]) -> None:
    if not records:
        print("\nno runs (every database skipped?)")
        return
    columns = [
        ("size", "size", "{:,}"),
        ("format", "format", "{}"),
        ("db", "db", "{}"),
        ("engine", "engine", "{}"),
        ("read", "read", "{:,}"),
        ("created", "created", "{:,}"),
        ("failed", "failed", "{:,}"),
        ("planted_bad", "planted", "{:,}"),
        ("seconds", "seconds", "{:.3f}"),
        ("rows_per_second", "rows/s", "{:,.0f}"),
        ("peak_rss_mb", "peak RSS MB", "{:.1f}"),
        ("maxrss_mb", "maxrss MB", "{:.1f}"),
        ("ratio", "ratio", "{:.2f}×"),
    ]
    rows = []
    for record in records:
        cells = []
        for key, _, fmt in columns:
            value = record.get(key)
            cells.append("-" if value is None else fmt.format(value))
        notes = "; ".join(record.get("targets") or [])
        if record.get("status") == "error":
            notes = "ERROR: " + record.get("error", "").splitlines()[0][:80] if record.get("error") else "ERROR"
        cells.append(notes)
        rows.append(cells)
    headers = [title for _, title, _ in columns] + ["targets"]
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    right = {0, 4, 5, 6, 7, 8, 9, 10, 11, 12}
    print()
    print(
        "  ".join(
            h.rjust(w) if i in right else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    )
    for row in rows:
        print(
            "  ".join(
                c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    print(
        "\ntargets (ours only): 7k ≤ 0.5 s and 100k ≤ 5 s on PostgreSQL; 100k ≤ 8 s on SQLite; peak RSS ≤ 160 MB at"
        " 100k and ≤ 300 MB at 1M (larger of sampled peak and ru_maxrss); ratio ≥ 5× import-export's rows/s."
    )


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "sqlite": sqlite3.sqlite_version,
    }


# --- main ---------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark customer imports (see bench/README.md).")
    parser.add_argument("--sizes", default=None, help="comma-separated row counts (default 7000,100000,1000000)")
    parser.add_argument("--formats", default="xlsx,csv")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--compare", action="store_true", help="also run django-import-export on the same files")
    parser.add_argument("--compare-max-rows", type=int, default=100_000, help="largest size compared (default 100000)")
    parser.add_argument("--engines", default=None, help=f"override: comma list of {OURS},{THEIRS}")
    parser.add_argument("--quick", action="store_true", help="7,000 rows only (a smoke run, about a minute)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the median by seconds is reported")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-fraction", type=float, default=0.02)
    parser.add_argument("--header-style", default="standard", choices=["standard", "short", "fullname"])
    parser.add_argument("--batch-size", type=int, default=None, help="passed to import_customers when set")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per import before it is killed")
    parser.add_argument(
        "--trigram-index", action="store_true", help="PostgreSQL: a pg_trgm index on search_text (trade-off study)"
    )
    parser.add_argument("--results", type=Path, default=OUT / "results.json")
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = "7000" if args.quick else ",".join(str(size) for size in DEFAULT_SIZES)
    args.sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    args.formats = [fmt.strip() for fmt in args.formats.split(",") if fmt.strip()]
    args.databases = [db.strip() for db in args.databases.split(",") if db.strip()]
    if args.engines is None:
        args.engines = [OURS, THEIRS] if args.compare else [OURS]
    else:
        args.engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    unknown = set(args.formats) - {"xlsx", "csv"} or set(args.databases) - {"sqlite", "postgres"}
    unknown = unknown or set(args.engines) - {OURS, THEIRS}
    if unknown or args.repeat < 1:
        parser.error(f"unknown value(s): {sorted(unknown)}" if unknown else "--repeat must be ≥ 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"bench: sizes {args.sizes}, formats {args.formats}, databases {args.databases}, engines {args.engines}")
    files = {
        (size, fmt): ensure_file(size, fmt, args.seed, args.bad_fraction, args.header_style)
        for size in args.sizes
        for fmt in args.formats
    }
    records: list[dict[str, Any]] = []
    skipped: list[str] = []
    for kind in args.databases:
        db = create_database(kind)
        if db is None:
            skipped.append(kind)
            continue
        try:
            db.migrate()
            if args.trigram_index and kind == "postgres":
                add_trigram_index(db.url)
                print("postgres: added the trigram index on search_text (--trigram-index)")
            for size in args.sizes:
                for fmt in args.formats:
                    path, meta = files[(size, fmt)]
                    for engine in args.engines:
                        if engine == THEIRS and size > args.compare_max_rows:
                            continue
                        records.append(run_engine(engine, path, db, args, meta))
        finally:
            db.drop()
    add_ratios(records)
    print_table(records)
    if skipped:
        print(f"\nSKIPPED databases: {', '.join(skipped)}")
    elapsed = time.perf_counter() - started
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_seconds": round(elapsed, 1),
        "args": {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()},
        "environment": environment(),
        "skipped_databases": skipped,
        "results": records,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.results} ({elapsed:.0f} s in all)")
    return 1 if any(record.get("status") == "error" for record in records) else 0


if __name__ == "__main__":
    sys.exit(main())
