"""The customer-import benchmark: our engine, django-import-export and the database's own floor, side by side.

    .venv/bin/python bench/run.py [--sizes 7000,100000,1000000] [--bad-fractions 0.02,0.10] [--formats xlsx,csv]
                                  [--databases sqlite,postgres] [--repeat 3] [--no-compare] [--quick]

For every (size, bad fraction, format, database) case, `--repeat` rounds of: our import (`manage.py import_customers
FILE --mode create --json`, the whole process timed), django-import-export (`bench/compare_import_export.py`), and the
floor (bench/floor.py: the rows our import wrote, loaded by the database alone), each on an emptied database, in that
order round after round so a busy moment slows all three. The process tree's RSS and PSS are sampled while it runs.
Medians with their min–max spread are reported beside the floor and the ratios; the targets are printed as PASS/MISS,
never asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
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

import floor  # noqa: E402 - bench/ is not a package
from generate import generator_version, meta_path  # noqa: E402
from import_report import FLOOR, OURS, THEIRS, print_table, summarise_case  # noqa: E402

DEFAULT_SIZES = [7_000, 100_000, 1_000_000]
DEFAULT_BAD_FRACTIONS = [0.02, 0.10]
PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# Overridable so two people (or a person and a helper) can bench on one server without dropping each other's database.
PG_BENCH_DB = os.environ.get("BENCH_DB_NAME", "primepre_bench")
if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", PG_BENCH_DB):
    raise SystemExit(f"BENCH_DB_NAME must be a plain lower-case identifier, not {PG_BENCH_DB!r}")
CUSTOMER_TABLE = "customers_customer"
SAMPLE_SECONDS = 0.05
PSS_EVERY = 2  # samples: PSS reads /proc/PID/smaps_rollup (about 0.5 ms a process), RSS costs nothing


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
        "bad_mix": "phones",  # generate.py's default: most failing rows have an invalid phone
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


# --- one measured command -----------------------------------------------------------------------------------------


@dataclass
class Sampled:
    """A finished command as a benchmark sees it."""

    exit_code: int
    seconds: float  # wall: start to exit, exact (the process is waited for, not polled)
    peak_rss: int  # bytes: the process and its children, summed, sampled
    maxrss_mb: float | None  # its own ru_maxrss, from wait4
    stdout: str
    stderr: str
    peak_pss: int = 0  # bytes: the sum of the tree's PSS (shared pages split between the processes), sampled
    processes: int = 1  # the most processes seen in the tree at once
    timed_out: bool = False
    cpu_seconds: float = 0.0  # user + system of the process and the children it waited for (wait4's rusage)


@dataclass
class _Peaks:
    rss: int = 0
    pss: int = 0
    processes: int = 0


def _sample_tree(pid: int, interval: float, stop: threading.Event, peaks: _Peaks) -> None:
    """Until `stop`: the summed RSS (every sample) and PSS (every PSS_EVERY-th) of `pid` and its descendants."""
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    count = 0
    while not stop.is_set():
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        peaks.processes = max(peaks.processes, len(tree))
        peaks.rss = max(peaks.rss, sum(_memory(p, "rss") for p in tree))
        if count % PSS_EVERY == 0:
            peaks.pss = max(peaks.pss, sum(_memory(p, "pss") for p in tree))
        count += 1
        stop.wait(interval)


def _memory(process: psutil.Process, kind: str) -> int:
    try:
        return process.memory_info().rss if kind == "rss" else process.memory_full_info().pss
    except psutil.Error:
        return 0


def sample_process(cmd: list[str], env: dict[str, str], timeout: float, interval: float = SAMPLE_SECONDS) -> Sampled:
    """Run `cmd`; a thread samples the tree's RSS and PSS every `interval` while this one waits for the exit (so the
    wall time is exact), then reads its own ru_maxrss from wait4; killed past `timeout`. Every benchmark that runs a
    command measures it here."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)  # noqa: S603 - built from args
        peaks, stop = _Peaks(), threading.Event()
        sampler = threading.Thread(target=_sample_tree, args=(proc.pid, interval, stop, peaks), daemon=True)
        sampler.start()
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            raise
        finally:
            killer.cancel()
            stop.set()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait for it again
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    return Sampled(
        exit_code=proc.returncode,
        seconds=wall,
        peak_rss=peaks.rss,
        maxrss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux: kilobytes
        stdout=stdout,
        stderr=stderr,
        peak_pss=peaks.pss,
        processes=max(peaks.processes, 1),
        timed_out=wall >= timeout,
        cpu_seconds=round(usage.ru_utime + usage.ru_stime, 3),
    )


def postgres_cpu_seconds() -> float:
    """User + system seconds of every PostgreSQL server process on this machine so far, with those of the ones that
    ended (a backend ends with its connection, and the server adds its times to its own children's): the difference
    across a run is what the database spent on it (the backend serving the import, and the WAL writer and
    checkpointer it hands work to), give or take what other databases of the server did meanwhile."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is not None and (process.info["name"] or "").startswith("postgres"):
            total += times.user + times.system + times.children_user + times.children_system
    return total


def _backends_gone(before: int, timeout: float = 2.0) -> None:
    """Wait (briefly) until the server has as many processes as before the run: the run's backend has ended and its
    times have been added to the server's."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = sum(1 for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres"))
        if count <= before:
            return
        time.sleep(0.02)


def measure(cmd: list[str], env: dict[str, str], timeout: float, kind: str = "") -> dict[str, Any]:
    """Run `cmd` (see `sample_process`) and read the engine's JSON summary, its last line of output. On PostgreSQL
    (`kind`), also the server's CPU seconds over the run (on SQLite the database's work is the process's own)."""
    database_before = postgres_cpu_seconds() if kind == "postgres" else 0.0
    server_processes = sum(1 for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres"))
    run = sample_process(cmd, env, timeout)
    if kind == "postgres":
        _backends_gone(server_processes)
    record: dict[str, Any] = {
        "exit_code": run.exit_code,
        "process_seconds": round(run.seconds, 3),
        "cpu_seconds": run.cpu_seconds,
        "database_cpu_seconds": round(postgres_cpu_seconds() - database_before, 3) if kind == "postgres" else None,
        "peak_rss_mb": round(run.peak_rss / 2**20, 1),
        "peak_pss_mb": round(run.peak_pss / 2**20, 1),
        "processes": run.processes,
        "maxrss_mb": run.maxrss_mb,
    }
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        summary = None
    if run.exit_code != 0 or not isinstance(summary, dict):
        reason = "timed out" if run.timed_out else f"exit code {run.exit_code}, no JSON summary line"
        record["error"] = f"{reason}: {(run.stderr or run.stdout).strip()[-1500:]}"
        return record
    record["summary"] = summary
    return record


# --- one case: (size, bad fraction, format, database), every engine, round after round ---------------------------


def engine_command(engine: str, path: Path, args: argparse.Namespace) -> list[str]:
    if engine == OURS:
        cmd = [python_bin(), "manage.py", "import_customers", str(path), "--mode", "create", "--json"]
        return cmd + (["--batch-size", str(args.batch_size)] if args.batch_size else [])
    return [python_bin(), str(BENCH / "compare_import_export.py"), str(path), "--json"]


def run_floor(db: Database, dumped: dict[str, Any], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every floor method of this database once, each on the emptied tables with the import job put back."""
    results: dict[str, dict[str, Any]] = {}
    for method in floor.METHODS[db.kind]:
        db.empty()
        floor.restore_jobs(db.url, dumped)
        cmd = [python_bin(), str(BENCH / "floor.py"), dumped["file"], "--method", method]
        cmd += ["--batch-size", str(args.batch_size)] if args.batch_size else []
        results[method] = measure(cmd, db.env(), args.timeout, db.kind)
    return results


def _progress_line(engine: str, db: Database, meta: dict[str, Any], run: dict[str, Any]) -> str:
    params = meta["params"]
    case = f"{engine:<21} {db.kind:<8} {params['format']:<4} {params['rows']:>9,} b{params['bad_fraction']:g}"
    if "error" in run:
        return f"  {case}: FAILED: {run['error'][-600:]}"
    summary = run["summary"]
    if engine == FLOOR:
        return f"  {case}: {summary['method']} {summary['seconds']} s ({summary['rows']:,} rows)"
    return (
        f"  {case}: wall {run['process_seconds']} s, pipeline {summary.get('seconds')} s, created "
        f"{summary.get('created')}, failed {summary.get('failed')} (planted {meta['planted_total']}), "
        f"RSS {run['peak_rss_mb']} MB, PSS {run['peak_pss_mb']} MB, {run['processes']} process(es)"
    )


def run_case(db: Database, path: Path, meta: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """`repeats` rounds of ours, theirs, floor (in that order, alternating), each on an emptied database. The floor
    loads the rows of this case's first successful import of ours, dumped right after it."""
    size = meta["params"]["rows"]
    engines = [e for e in args.engines if not (e == THEIRS and size > args.compare_max_rows)]
    repeats = args.repeat if size <= args.repeat_max_rows else 1
    runs: dict[str, list[dict[str, Any]]] = {engine: [] for engine in engines if engine != FLOOR}
    floor_runs: dict[str, list[dict[str, Any]]] = {}
    dumped: dict[str, Any] | None = None
    if FLOOR in engines and OURS not in engines:  # the floor needs our rows: one import of ours, not reported
        db.empty()
        run = measure(engine_command(OURS, path, args), db.env(), args.timeout)
        dumped = floor.dump(db.kind, db.url, db.workdir / "floor_rows") if "summary" in run else None
    for _ in range(repeats):
        for engine in engines:
            if engine == FLOOR:
                if dumped is None:
                    continue  # our import failed: no rows to load
                for method, measured in run_floor(db, dumped, args).items():
                    floor_runs.setdefault(method, []).append(measured)
                    print(_progress_line(FLOOR, db, meta, measured))
                continue
            db.empty()
            run = measure(engine_command(engine, path, args), db.env(), args.timeout, db.kind)
            runs[engine].append(run)
            print(_progress_line(engine, db, meta, run))
            if engine == OURS and dumped is None and FLOOR in engines and "summary" in run:
                dumped = floor.dump(db.kind, db.url, db.workdir / "floor_rows")
    return summarise_case(
        {**meta["params"], "db": db.kind, "file": str(path.relative_to(ROOT)), "planted_bad": meta["planted_total"]},
        runs,
        floor_runs,
    )


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "sqlite": sqlite3.sqlite_version,
    }


# --- main ---------------------------------------------------------------------------------------------------------


def _number_list(text: str, kind: type) -> list[Any]:
    return [kind(item.replace("_", "")) for item in text.split(",") if item.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark customer imports (see bench/README.md).")
    add = parser.add_argument
    add("--sizes", default=None, help="comma-separated row counts (default 7000,100000,1000000)")
    add("--bad-fractions", default=None, help="comma-separated shares of bad rows per file (default 0.02,0.10)")
    add("--bad-fraction", dest="bad_fractions", help="one share of bad rows (same as --bad-fractions with one value)")
    add("--formats", default="xlsx,csv")
    add("--databases", default="sqlite,postgres")
    add("--compare", action="store_true", help="(the default) also run django-import-export on the same files")
    add("--no-compare", action="store_true", help="without django-import-export")
    add("--compare-max-rows", type=int, default=100_000, help="largest size compared (default 100000)")
    add("--engines", default=None, help=f"override: comma list of {OURS},{THEIRS},{FLOOR}")
    add("--quick", action="store_true", help="7,000 rows, one round (a smoke run)")
    add("--repeat", type=int, default=3, help="rounds per case (default 3); medians and min–max are reported")
    add("--repeat-max-rows", type=int, default=100_000, help="larger files run one round (default 100000)")
    add(
        "--large-bad-fractions",
        default=None,
        help="bad fractions of files above --repeat-max-rows (default: 0.10, or --bad-fractions when that is given)",
    )
    add("--seed", type=int, default=1)
    add("--header-style", default="standard", choices=["standard", "short", "fullname"])
    add("--batch-size", type=int, default=None, help="passed to import_customers and the floor when set")
    add("--timeout", type=float, default=3600.0, help="seconds per import before it is killed")
    add("--trigram-index", action="store_true", help="PostgreSQL: a pg_trgm index on search_text (trade-off study)")
    add("--results", type=Path, default=OUT / "results.json")
    add("--env", action="append", default=[], metavar="KEY=VALUE", help="set for every run, e.g. a setting; repeatable")
    args = parser.parse_args(argv)
    args.sizes = _number_list(args.sizes or ("7000" if args.quick else ",".join(map(str, DEFAULT_SIZES))), int)
    # The 1,000,000-row files are there for memory: one share of bad rows (the costlier) keeps `make bench` shorter.
    large = args.large_bad_fractions or args.bad_fractions or str(DEFAULT_BAD_FRACTIONS[-1])
    args.bad_fractions = _number_list(args.bad_fractions or ",".join(map(str, DEFAULT_BAD_FRACTIONS)), float)
    args.large_bad_fractions = _number_list(large, float)
    if args.quick:
        args.repeat = 1
    args.formats = [fmt.strip() for fmt in args.formats.split(",") if fmt.strip()]
    args.databases = [db.strip() for db in args.databases.split(",") if db.strip()]
    if args.engines is None:
        args.engines = [OURS, FLOOR] if args.no_compare else [OURS, THEIRS, FLOOR]
    else:
        args.engines = [engine.strip() for engine in args.engines.split(",") if engine.strip()]
    unknown = set(args.formats) - {"xlsx", "csv"} or set(args.databases) - {"sqlite", "postgres"}
    unknown = unknown or set(args.engines) - {OURS, THEIRS, FLOOR}
    fractions = args.bad_fractions + args.large_bad_fractions
    if any("=" not in item for item in args.env):
        parser.error("--env takes KEY=VALUE")
    if unknown or args.repeat < 1 or not all(0 <= f < 1 for f in fractions):
        parser.error(f"unknown value(s): {sorted(unknown)}" if unknown else "--repeat ≥ 1, bad fractions in [0, 1)")
    return args


def run_database(kind: str, files: dict[tuple, tuple[Path, dict[str, Any]]], args: argparse.Namespace) -> list | None:
    """Every case on one database, created and migrated for this run and dropped after; None if unreachable."""
    db = create_database(kind)
    if db is None:
        return None
    records = []
    try:
        db.migrate()
        if args.trigram_index and kind == "postgres":
            add_trigram_index(db.url)
            print("postgres: added the trigram index on search_text (--trigram-index)")
        for size, fraction, fmt in files:
            path, meta = files[(size, fraction, fmt)]
            records.append(run_case(db, path, meta, args))
    finally:
        db.drop()
    return records


def compile_project() -> None:
    """Write the project's bytecode before any run, as a deployed service's first start does: with
    PYTHONDONTWRITEBYTECODE set (as on this machine) nothing writes it, and every CLI run would compile the
    project's modules from source again (0.1-0.15 s of each start). Explicit, so the setting does not apply."""
    for folder in ("config", "primepre"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    compile_project()
    os.environ.update(item.split("=", 1) for item in args.env)  # every run's environment is a copy of this one
    print(
        f"bench: sizes {args.sizes}, bad fractions {args.bad_fractions} ({args.large_bad_fractions} and one round above"
        f" {args.repeat_max_rows:,} rows), formats {args.formats}, databases {args.databases}, engines {args.engines},"
        f" {args.repeat} round(s)" + (f", environment {' '.join(args.env)}" if args.env else "")
    )
    files = {
        (size, fraction, fmt): ensure_file(size, fmt, args.seed, fraction, args.header_style)
        for size in args.sizes
        for fraction in (args.bad_fractions if size <= args.repeat_max_rows else args.large_bad_fractions)
        for fmt in args.formats
    }
    records: list[dict[str, Any]] = []
    skipped: list[str] = []
    for kind in args.databases:
        done = run_database(kind, files, args)
        if done is None:
            skipped.append(kind)
        else:
            records.extend(done)
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
    print(f"\nwrote {args.results} ({elapsed:.0f} s in all; load average now {os.getloadavg()[0]:.2f})")
    return 1 if any(record.get("errors") for record in records) else 0


if __name__ == "__main__":
    sys.exit(main())
