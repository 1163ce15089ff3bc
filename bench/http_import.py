"""The customer import through HTTP, upload → done, against the running service on PostgreSQL.

    .venv/bin/python bench/http_import.py [--sizes 7000,100000] [--formats xlsx,csv] [--repeat 1]
                                          [--database-url postgres://postgres@127.0.0.1:5432/primepre_http_bench]

The database is dropped, created and migrated; a superuser and an API token are made; `manage.py runserver` (on a free
loopback port) and one `manage.py import_worker` run as subprocesses with a throwaway MEDIA_ROOT/VAR_DIR. For every
file the customer and `imports_*` tables are emptied, then the file is POSTed to /api/v1/imports/ and the job followed
over its Server-Sent Events stream until `event: end`. The RSS of both processes is sampled every 100 ms. Figures are
printed and written to bench/out/http_results.json; nothing is asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

from run import empty_postgres_tables, ensure_file, environment, python_bin, redact  # noqa: E402 - bench/ is not a package

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/primepre_http_bench"
DEFAULT_SIZES = "7000,100000"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
CUSTOMER_TABLE = "customers_customer"
SAMPLE_SECONDS = 0.1
STARTUP_TIMEOUT = 90.0
SSE_READ_TIMEOUT = 60.0  # no byte for this long (a job stuck in the queue): reconnect and keep waiting
STOP_GRACE_SECONDS = 10.0
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


class BenchError(RuntimeError):
    """A failure that ends one import (or the whole run, during setup), with a message meant for the reader."""


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


def check_database_url(url: str) -> tuple[str, str]:
    """(admin URL on the `postgres` database, benchmark database name); only loopback servers, never a system DB."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise SystemExit(f"--database-url must be a postgres:// URL, not {redact(url)}")
    if (parts.hostname or "") not in LOOPBACK_HOSTS:
        raise SystemExit(f"--database-url must point at a loopback server ({', '.join(sorted(LOOPBACK_HOSTS))})")
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name) or name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"--database-url names {name!r}: use a plain, dedicated database name (it is dropped)")
    return urlunsplit(parts._replace(path="/postgres")), name


def recreate_database(url: str) -> str:
    """DROP … WITH (FORCE) and CREATE the benchmark database; return the server version. Exits if unreachable."""
    import psycopg
    from psycopg import sql

    admin_url, name = check_database_url(url)
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return str(conn.info.server_version)
    except psycopg.Error as exc:
        raise SystemExit(f"PostgreSQL is unreachable at {redact(admin_url)} ({type(exc).__name__}: {exc})") from exc


def drop_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url, name = check_database_url(url)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- the service: Django commands, the web server and the worker --------------------------------------------------


def service_env(database_url: str, workdir: Path) -> dict[str, str]:
    """Production-like settings (DEBUG off) for plain HTTP on loopback, with media and var files in `workdir`."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "TASKS_BACKEND": "database",
            "MEDIA_ROOT": str(workdir / "media"),
            "VAR_DIR": str(workdir / "var"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command to completion and return its stdout; BenchError with its output if it fails."""
    proc = subprocess.run(  # noqa: S603 - fixed commands
        [python_bin(), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    if proc.returncode:
        raise BenchError(f"manage.py {args[0]} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return proc.stdout


def create_token(env: dict[str, str]) -> str:
    """A superuser `bench` (no usable password) and its API token (knox: expires after API_TOKEN_TTL_HOURS)."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from primepre.accounts.tokens import issue_token\n"
        "user = get_user_model().objects.create_superuser(username='bench', email='', password=None)\n"
        "print('BENCH-TOKEN=' + issue_token(user)[1])\n"
    )
    out = manage(env, "shell", "-c", code)
    match = re.search(r"^BENCH-TOKEN=(\w+)$", out, re.MULTILINE)
    if not match:
        raise BenchError(f"no token in the output of manage.py shell:\n{out[-2000:]}")
    return match.group(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A long-running subprocess (web server or worker) writing stdout and stderr to one log file."""

    name: str
    args: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(  # noqa: S603 - fixed commands
                [python_bin(), "manage.py", *self.args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C reaches only us; we stop it in order
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"the {self.name} exited (code {code}); its log ends:\n{self.log_tail()}")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a grace period; return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                print(f"{self.name} ignored SIGTERM for {STOP_GRACE_SECONDS:g} s: killed")
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_until(what: str, ready: Any, services: list[Service], timeout: float = STARTUP_TIMEOUT) -> float:
    """Poll `ready()` every 100 ms until it is true; fail if a service dies or `timeout` passes. Return the wait."""
    started = time.perf_counter()
    while not ready():
        for service in services:
            service.check_alive()
        if time.perf_counter() - started > timeout:
            tails = "\n".join(f"--- {s.name} log:\n{s.log_tail()}" for s in services)
            raise BenchError(f"{what}: not ready after {timeout:g} s\n{tails}")
        time.sleep(0.1)
    return time.perf_counter() - started


def healthz_ok(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


# --- RSS sampling -------------------------------------------------------------------------------------------------


class RssSampler:
    """Samples the RSS of each named process (children included) every 100 ms in a thread; peaks since `reset()`."""

    def __init__(self, pids: dict[str, int], interval: float = SAMPLE_SECONDS) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.interval = interval
        self.lock = threading.Lock()
        self.peaks = dict.fromkeys(self.processes, 0)
        self.latest = dict.fromkeys(self.processes, 0)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)

    def reset(self) -> dict[str, float]:
        """Start a new window; return the current RSS (MB) of each process, the baseline of the window."""
        with self.lock:
            self.peaks = dict(self.latest)
            return {name: round(rss / 2**20, 1) for name, rss in self.latest.items()}

    def peaks_mb(self) -> dict[str, float]:
        with self.lock:
            return {name: round(rss / 2**20, 1) for name, rss in self.peaks.items()}

    def _loop(self) -> None:
        while not self.stopping.is_set():
            for name, process in self.processes.items():
                rss = _tree_rss(process)
                with self.lock:
                    self.latest[name] = rss
                    self.peaks[name] = max(self.peaks[name], rss)
            self.stopping.wait(self.interval)


def _tree_rss(process: psutil.Process) -> int:
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


# --- HTTP: upload and follow --------------------------------------------------------------------------------------


def upload(port: int, token: str, path: Path, fmt: str, timeout: float) -> tuple[float, dict[str, Any]]:
    """POST the file as multipart/form-data (streamed in 1 MB chunks); return (seconds until the 202, job JSON)."""
    boundary = f"----primepre-bench-{uuid.uuid4().hex}"
    head = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="mode"\r\n\r\ncreate\r\n'
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        f"Content-Type: {CONTENT_TYPES[fmt]}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest("POST", "/api/v1/imports/")
        conn.putheader("Authorization", f"Token {token}")
        conn.putheader("Accept", "application/json")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        conn.send(head)
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                conn.send(chunk)
        conn.send(tail)
        response = conn.getresponse()
        body = response.read()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    if response.status != 202:
        raise BenchError(f"upload answered {response.status}: {body[:1000].decode(errors='replace')}")
    return seconds, json.loads(body)


def sse_events(response: http.client.HTTPResponse) -> Iterator[tuple[str, str]]:
    """(event, data) per Server-Sent Event, from `event:`/`data:` lines; comments and `retry:` are skipped."""
    event, data = "message", []
    while raw := response.readline():
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)


def sse_accept_header(port: int, token: str) -> str:
    """`text/event-stream` (what a browser's EventSource sends) if the events endpoint accepts it, else `*/*`.

    Probed once, before any timing, on a job id that does not exist: content negotiation answers before the lookup.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "GET",
            "/api/v1/imports/999999999/events/",
            headers={"Authorization": f"Token {token}", "Accept": "text/event-stream"},
        )
        status = conn.getresponse().status
    finally:
        conn.close()
    if status == 406:
        print("NOTE: /events/ answers 406 to `Accept: text/event-stream` (a browser EventSource's header); using */*")
        return "*/*"
    return "text/event-stream"


def follow(port: int, token: str, job_id: int, timeout: float, accept: str) -> tuple[dict[str, Any], int, int]:
    """Read /events/ until `event: end`, reconnecting when the stream closes or goes quiet.

    Return (the job from the end event, events read, connections opened). The caller times around it.
    """
    deadline = time.perf_counter() + timeout
    events = connections = 0
    while time.perf_counter() < deadline:
        connections += 1
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=SSE_READ_TIMEOUT)
        try:
            conn.request(
                "GET",
                f"/api/v1/imports/{job_id}/events/",
                headers={"Authorization": f"Token {token}", "Accept": accept},
            )
            response = conn.getresponse()
            if response.status != 200:
                raise BenchError(f"events answered {response.status}: {response.read(1000).decode(errors='replace')}")
            for event, data in sse_events(response):
                events += 1
                if event == "end":
                    return json.loads(data), events, connections
        except TimeoutError:
            pass  # nothing for SSE_READ_TIMEOUT seconds: reconnect
        finally:
            conn.close()
    raise BenchError(f"job {job_id} did not end within {timeout:g} s")


# --- one case -----------------------------------------------------------------------------------------------------


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds(), 3)


@dataclass
class Context:
    """What every import needs: the service's address and token, the database to empty, the RSS sampler."""

    port: int
    token: str
    database_url: str
    services: list[Service]
    sampler: RssSampler
    timeout: float
    sse_accept: str


def run_once(ctx: Context, path: Path, fmt: str) -> dict[str, Any]:
    """Empty the tables, upload, follow to the end; the figures of this one import."""
    for service in ctx.services:
        service.check_alive()
    empty_postgres_tables(ctx.database_url)
    baseline = ctx.sampler.reset()
    upload_seconds, job = upload(ctx.port, ctx.token, path, fmt, ctx.timeout)
    accepted = time.perf_counter()
    final, events, connections = follow(ctx.port, ctx.token, job["id"], ctx.timeout, ctx.sse_accept)
    done = time.perf_counter()
    done_wall = dt.datetime.now(dt.UTC)
    peaks = ctx.sampler.peaks_mb()
    counts = final.get("counts") or {}
    total = upload_seconds + (done - accepted)
    finished_at = final.get("finished_at")
    return {
        "job_id": final.get("id"),
        "status": final.get("status"),
        "error": final.get("error"),
        "counts": counts,
        "upload_seconds": round(upload_seconds, 3),
        "accepted_to_done_seconds": round(done - accepted, 3),
        "total_seconds": round(total, 3),
        "job_seconds": round(final["seconds"], 3) if final.get("seconds") is not None else None,
        "queue_wait_seconds": _seconds_between(final.get("created_at"), final.get("started_at")),
        "server_seconds": _seconds_between(final.get("created_at"), finished_at),
        # How long after finished_at the SSE stream told us (the endpoint polls every IMPORT_SSE_POLL_SECONDS).
        "notice_lag_seconds": (
            round((done_wall - dt.datetime.fromisoformat(finished_at)).total_seconds(), 3) if finished_at else None
        ),
        "rows_per_second": round(counts.get("read", 0) / total) if total > 0 else None,
        "sse_events": events,
        "sse_connections": connections,
        "rss_before_mb": baseline,
        "peak_rss_mb": peaks,
    }


def run_case(ctx: Context, size: int, fmt: str, path: Path, meta: dict[str, Any], repeat: int) -> dict[str, Any]:
    """`repeat` imports of one file; the median by total seconds is reported, the worst peak RSS of each process."""
    record: dict[str, Any] = {
        "size": size,
        "format": fmt,
        "db": "postgres",
        "file": str(path.relative_to(ROOT)),
        "file_bytes": path.stat().st_size,
        "planted_bad": meta.get("planted_total"),
    }
    runs: list[dict[str, Any]] = []
    try:
        for _ in range(repeat):
            runs.append(run_once(ctx, path, fmt))
    except (BenchError, OSError, ValueError) as exc:
        record.update({"status": "error", "error": f"{type(exc).__name__}: {exc}", "runs": runs})
        print(f"  {fmt:<4} {size:>9,}: FAILED: {str(exc)[-800:]}")
        return record
    chosen = sorted(runs, key=lambda run: run["total_seconds"])[len(runs) // 2]
    record.update(chosen)
    record["peak_rss_mb"] = {name: max(run["peak_rss_mb"][name] for run in runs) for name in chosen["peak_rss_mb"]}
    record["all_total_seconds"] = [run["total_seconds"] for run in runs]
    record["runs"] = runs
    counts = record["counts"]
    print(
        f"  {fmt:<4} {size:>9,}: {record['status']}, upload {record['upload_seconds']:.3f} s + "
        f"{record['accepted_to_done_seconds']:.3f} s to done = {record['total_seconds']:.3f} s "
        f"(job {record['job_seconds']} s, queue {record['queue_wait_seconds']} s), created {counts.get('created')}, "
        f"failed {counts.get('failed')} (planted {record['planted_bad']}), peak RSS server "
        f"{record['peak_rss_mb']['server']} MB / worker {record['peak_rss_mb']['worker']} MB"
    )
    return record


# --- report -------------------------------------------------------------------------------------------------------

COLUMNS: list[tuple[str, Any, str]] = [
    ("size", lambda r: r["size"], "{:,}"),
    ("format", lambda r: r["format"], "{}"),
    ("status", lambda r: r.get("status"), "{}"),
    ("read", lambda r: r.get("counts", {}).get("read"), "{:,}"),
    ("created", lambda r: r.get("counts", {}).get("created"), "{:,}"),
    ("failed", lambda r: r.get("counts", {}).get("failed"), "{:,}"),
    ("upload s", lambda r: r.get("upload_seconds"), "{:.3f}"),
    ("202→done s", lambda r: r.get("accepted_to_done_seconds"), "{:.3f}"),
    ("total s", lambda r: r.get("total_seconds"), "{:.3f}"),
    ("server s", lambda r: r.get("server_seconds"), "{:.3f}"),
    ("job s", lambda r: r.get("job_seconds"), "{:.3f}"),
    ("queue s", lambda r: r.get("queue_wait_seconds"), "{:.3f}"),
    ("lag s", lambda r: r.get("notice_lag_seconds"), "{:.3f}"),
    ("rows/s e2e", lambda r: r.get("rows_per_second"), "{:,}"),
    ("server MB", lambda r: r.get("peak_rss_mb", {}).get("server"), "{:.1f}"),
    ("worker MB", lambda r: r.get("peak_rss_mb", {}).get("worker"), "{:.1f}"),
]


def print_table(records: list[dict[str, Any]]) -> None:
    """One row per file: the median run's times, its counts, and the worst peak RSS of the server and the worker."""
    if not records:
        print("\nno imports ran")
        return
    rows = []
    for record in records:
        cells = []
        for _, getter, fmt in COLUMNS:
            value = getter(record)
            cells.append("-" if value is None else fmt.format(value))
        rows.append(cells)
    headers = [title for title, _, _ in COLUMNS]
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    left = {1, 2}
    print()
    for cells in [headers, *rows]:
        print(
            "  ".join(
                c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )
    print(
        "\nupload s: POST until the 202; 202→done s: until the SSE `end` event; total s: both (upload → done).\n"
        "server s: finished_at − created_at; job s: the job's own processing time; queue s: started_at − created_at;\n"
        "lag s: SSE end seen − finished_at "
        "(the events endpoint polls every IMPORT_SSE_POLL_SECONDS); rows/s e2e: rows read ÷ total s;\n"
        "MB: peak RSS during the import."
    )


# --- main ---------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark customer imports through HTTP (see bench/README.md).")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated row counts (default {DEFAULT_SIZES})")
    parser.add_argument("--formats", default="xlsx,csv")
    parser.add_argument("--repeat", type=int, default=1, help="imports per file; the median by total is reported")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_HTTP_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bad-fraction", type=float, default=0.02)
    parser.add_argument("--header-style", default="standard", choices=["standard", "short", "fullname"])
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per import before giving up")
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--results", type=Path, default=OUT / "http_results.json")
    args = parser.parse_args(argv)
    args.sizes = [int(size.strip().replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    args.formats = [fmt.strip() for fmt in args.formats.split(",") if fmt.strip()]
    unknown = set(args.formats) - set(CONTENT_TYPES)
    if unknown or args.repeat < 1 or not args.sizes:
        parser.error(f"unknown format(s): {sorted(unknown)}" if unknown else "--repeat ≥ 1 and --sizes are needed")
    check_database_url(args.database_url)
    return args


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks, which stop the subprocesses


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"http bench: sizes {args.sizes}, formats {args.formats}, repeat {args.repeat}")
    files = {
        (size, fmt): ensure_file(size, fmt, args.seed, args.bad_fraction, args.header_style)
        for size in args.sizes
        for fmt in args.formats
    }
    version = recreate_database(args.database_url)
    print(f"postgres: created {redact(args.database_url)} (server {version})")
    workdir = Path(tempfile.mkdtemp(prefix="primepre-http-bench-"))
    env = service_env(args.database_url, workdir)
    port = free_port()
    server = Service("server", ["runserver", f"127.0.0.1:{port}", "--noreload"], workdir / "server.log")
    worker = Service("worker", ["import_worker", "--interval", "0.1", "--no-startup-delay"], workdir / "worker.log")
    services = [server, worker]
    sampler: RssSampler | None = None
    sse_accept = "text/event-stream"
    records: list[dict[str, Any]] = []
    try:
        step = time.perf_counter()
        manage(env, "migrate", "--noinput")
        token = create_token(env)
        print(f"migrated and made a token in {time.perf_counter() - step:.1f} s")
        for service in services:
            service.start(env)
        server_wait = wait_until("server /healthz", lambda: healthz_ok(port), services)
        worker_wait = wait_until("worker", lambda: "Starting worker" in worker.log_tail(1 << 20), services)
        print(f"server on 127.0.0.1:{port} up in {server_wait:.1f} s; worker polling after {worker_wait:.1f} s more")
        sampler = RssSampler({"server": server.pid, "worker": worker.pid})
        sampler.start()
        sse_accept = sse_accept_header(port, token)
        ctx = Context(port, token, args.database_url, services, sampler, args.timeout, sse_accept)
        for size in args.sizes:
            for fmt in args.formats:
                path, meta = files[(size, fmt)]
                records.append(run_case(ctx, size, fmt, path, meta, args.repeat))
    except BenchError as exc:
        print(f"\nFAILED: {exc}")
        return 2
    finally:
        if sampler is not None:
            sampler.stop()
        for service in reversed(services):  # the worker first: it may be mid-import
            code = service.stop()
            if code not in (None, 0, -signal.SIGTERM):
                print(f"{service.name} exited with code {code}; its log ends:\n{service.log_tail(1500)}")
        if not args.keep_database:
            with contextlib.suppress(Exception):
                drop_database(args.database_url)
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(records)
    elapsed = time.perf_counter() - started
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_seconds": round(elapsed, 1),
        "args": {
            key: (str(value) if isinstance(value, Path) else value)
            for key, value in vars(args).items()
            if key != "database_url"
        }
        | {"database_url": redact(args.database_url)},
        "environment": environment()
        | {"postgres": version, "server": "manage.py runserver --noreload"}
        | {"sse_accept": sse_accept},
        "results": records,
    }
    if any(record.get("status") == "error" for record in records):
        print("\nsome imports FAILED (see above)")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
    print(f"({elapsed:.0f} s in all)")
    return 1 if any(record.get("status") != "succeeded" for record in records) else 0


if __name__ == "__main__":
    sys.exit(main())
