"""The production stack in one-service mode, measured under a realistic load (`make bench-prod`).

    .venv/bin/python bench/prod.py [--env KEY=VALUE ...] [--sweep] [--readers 20]
                                   [--database-url postgres://postgres@127.0.0.1:5432/primepre_prod_bench]

`bin/start` (honcho running the Procfile: gunicorn with config/gunicorn.py, and `manage.py import_worker`) is started
exactly as deployed, on a free loopback port, against a fresh PostgreSQL database (dropped, created, migrated; static
files collected into a temp STATIC_ROOT), with WEB_MEMORY_BUDGET_MB=512 and no other sizing variable unless given with
`--env`, so the defaults in config/gunicorn.py are what is measured. Then, through HTTP only:

- a 7,000-row and then a 100,000-row .xlsx import (files from bench/out, made by generate.py if missing) are uploaded
  and followed over Server-Sent Events to `event: end` (the customer and imports_* tables are emptied before each, with
  the readers paused for that moment);
- meanwhile 20 reader threads (standard-library http.client, keep-alive, loopback) loop on GET /api/v1/customers/
  with varied search, filter and ordering parameters, following `next` links for a few pages, until the imports end
  (or --reader-timeout passes);
- the RSS of every process of the stack (psutil, the process tree of bin/start) is sampled every 100 ms; the PSS
  (shared pages split between the processes that share them, what the kernel really spends) every second.

Printed: peak total RSS of the stack (the sum at one sample instant, the max over samples), peak RSS per process by
role, each import's duration (upload → `end`) and counts, reader requests, errors, latency p50/p95/p99/max, and
PASS/MISS against the targets (peak total RSS ≤ 300 MB, 0 failed requests, reader p99 ≤ 250 ms). `--sweep` runs the
same scenario again with WEB_CONCURRENCY=1, 2 and 3 and prints one line per configuration. Everything is written to
bench/out/prod_results.json. The stack is always stopped (SIGTERM to bin/start's process group, then SIGKILL) and the
database dropped. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

from http_import import (  # noqa: E402 - bench/ is not a package
    BenchError,
    check_database_url,
    create_token,
    drop_database,
    follow,
    free_port,
    manage,
    recreate_database,
    redact,
    service_env,
    sse_accept_header,
    upload,
)
from run import add_trigram_index, empty_postgres_tables, ensure_file, environment  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/primepre_prod_bench"
DEFAULT_SIZES = "7000,100000"
MEMORY_BUDGET_MB = "512"
# Everything config/gunicorn.py sizes itself from: taken out of the inherited environment, so only --env sets them.
SIZING_PREFIXES = ("WEB_", "GUNICORN_")
SWEEP = ("1", "2", "3")
SAMPLE_SECONDS = 0.1
PSS_EVERY = 10  # samples: the PSS (smaps_rollup) once a second
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
READER_TIMEOUT = 5.0  # one request
TARGET_TOTAL_RSS_MB = 300.0
TARGET_P99_MS = 250.0

# What staff type in the search box: names, marks however spaced, phone fragments, emails; and the filters.
SEARCHES = [
    "kofi", "Mensah", "ama owusu", "Boateng", "akosua", "Tetteh", "grace", "Nkrumah", "kwame asante",
    "PM12", "pm 123 kofi", "PM4 KOFI", "pm45", "PM1000",
    "024", "0241", "+233 24", "055 12", "20 123", "0592",
    "gmail", "@yahoo", "mensah@",
]  # fmt: skip
FILTERS: list[dict[str, Any]] = [
    {},
    {"region": "AA"},
    {"region": ["AH", "AA"]},
    {"ordering": "last_name"},
    {"ordering": "-created_at"},
    {"customer_type": "individual"},
]
FOLLOW_NEXT = 3  # pages a reader may follow from one list


# --- the stack ----------------------------------------------------------------------------------------------------


def stack_env(base: dict[str, str], port: int, static_root: Path, overrides: dict[str, str]) -> dict[str, str]:
    """The deployed environment on loopback: no TLS, the 512 MB budget, no sizing variable but the overrides."""
    env = {key: value for key, value in base.items() if not key.startswith(SIZING_PREFIXES)}
    env.update(
        {
            "PORT": str(port),
            "HOST": "127.0.0.1",  # the platform binds 0.0.0.0; a benchmark listens on loopback only
            "STATIC_ROOT": str(static_root),
            "WEB_MEMORY_BUDGET_MB": MEMORY_BUDGET_MB,
        }
    )
    env.update(overrides)
    return env


class Stack:
    """`bin/start` in its own session, its output (honcho's, prefixed by process) in one log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen: dict[int, psutil.Process] = {}  # every process of the tree ever sampled, to check none is left

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - our own start script
                [str(ROOT / "bin" / "start")],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: SIGTERM to it is what the platform sends
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"bin/start exited (code {code}); its log ends:\n{self.log()[-3000:]}")

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.pid)
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        for member in members:
            self.seen.setdefault(member.pid, member)
        return members

    def wait_ready(self, port: int) -> float:
        """/readyz answers 200 and the log shows gunicorn's [SERVER-READY] and the worker's [WORKER-START]."""
        started = time.perf_counter()
        while True:
            self.check_alive()
            self.tree()
            log = self.log()
            if "[SERVER-READY]" in log and "[WORKER-START]" in log and status_of(port, "/readyz") == 200:
                return time.perf_counter() - started
            if time.perf_counter() - started > STARTUP_TIMEOUT:
                raise BenchError(f"the stack is not ready after {STARTUP_TIMEOUT:g} s; log:\n{log[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> dict[str, Any]:
        """SIGTERM to bin/start's process group, wait, then SIGKILL; then any process of the tree left is killed."""
        if self.proc is None:
            return {}
        self.tree()
        started = time.perf_counter()
        killed = False
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                killed = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait()
        seconds = time.perf_counter() - started
        # honcho starts each Procfile process in a session of its own: they are not in bin/start's group.
        time.sleep(0.5)
        left = []
        for process in self.seen.values():
            with contextlib.suppress(psutil.Error):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    left.append(f"{process.pid} {' '.join(process.cmdline())[:80]}")
                    process.kill()
        return {"exit_code": self.proc.returncode, "seconds": round(seconds, 2), "sigkill": killed, "left": left}


def status_of(port: int, path: str) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


# --- RSS of every process, by role --------------------------------------------------------------------------------


def _pss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class StackSampler:
    """Every 100 ms: the RSS of each process in bin/start's tree, named by role, and their sum at that instant.

    Roles: `honcho` (bin/start, exec'd), `honcho-relay-web`/`-worker` (the multiprocessing child honcho forks per
    Procfile line to relay its output), `sh-web`/`sh-worker` (the `sh -c` honcho runs, if it does not exec),
    `gunicorn-master`, `gunicorn-worker-N` (N a slot: a recycled worker's successor takes its slot) and
    `import-worker`. A PSS sum is taken every PSS_EVERY samples.
    """

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="stack-sampler", daemon=True)
        self.started = time.perf_counter()
        self.roles: dict[int, str] = {}
        self.slots: dict[int, int] = {}  # gunicorn worker pid → slot
        self.worker_pids: list[int] = []
        self.samples: list[tuple[float, int]] = []  # (seconds since start, total RSS bytes)
        self.peak_total = 0
        self.peak_total_at: dict[str, int] = {}
        self.peak_by_role: dict[str, int] = {}
        self.peak_pss_total = 0
        self.window_peak_total = 0
        self.count = 0

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)

    def reset_window(self) -> None:
        with self.lock:
            self.window_peak_total = 0

    def window_peak_mb(self) -> float:
        with self.lock:
            return _mb(self.window_peak_total)

    def _role(self, process: psutil.Process, by_pid: dict[int, psutil.Process]) -> str:
        if process.pid == self.stack.pid:
            return "honcho"
        try:
            cmdline = " ".join(process.cmdline())
            parent = process.ppid()
        except psutil.Error:
            return "gone"
        if "gunicorn" in cmdline:
            parent_cmd = ""
            with contextlib.suppress(psutil.Error, KeyError):
                parent_cmd = " ".join(by_pid[parent].cmdline())
            if "gunicorn" in parent_cmd and not parent_cmd.startswith(("/bin/sh", "sh ")):
                return "gunicorn-worker"
            return "sh-web" if cmdline.startswith(("/bin/sh", "sh ")) else "gunicorn-master"
        if "import_worker" in cmdline:
            return "sh-worker" if cmdline.startswith(("/bin/sh", "sh ")) else "import-worker"
        if parent == self.stack.pid:  # honcho's relay: a fork of honcho, named by what it runs
            try:
                below = " ".join(" ".join(child.cmdline()) for child in process.children(recursive=True))
            except psutil.Error:
                below = ""
            if "gunicorn" in below:
                return "honcho-relay-web"
            if "import_worker" in below:
                return "honcho-relay-worker"
            return "honcho-relay"
        return f"other:{process.name()}"

    def _worker_slot(self, pid: int) -> str:
        if pid not in self.slots:
            used = set(self.slots.values())
            self.slots[pid] = next(slot for slot in range(1, len(used) + 2) if slot not in used)
            self.worker_pids.append(pid)
        return f"gunicorn-worker-{self.slots[pid]}"

    def _loop(self) -> None:
        while not self.stopping.is_set():
            members = self.stack.tree()
            by_pid = {member.pid: member for member in members}
            for gone in set(self.slots) - set(by_pid):
                del self.slots[gone]
            total = 0
            rss_by_role: dict[str, int] = {}
            for member in members:
                known = self.roles.get(member.pid, "other")
                if known == "honcho-relay" or known.startswith("other"):  # new, or not told apart yet
                    self.roles[member.pid] = self._role(member, by_pid)
                role = self.roles[member.pid]
                if role == "gunicorn-worker":
                    role = self._worker_slot(member.pid)
                try:
                    rss = member.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                rss_by_role[role] = rss_by_role.get(role, 0) + rss
            pss = sum(_pss_bytes(member.pid) for member in members) if self.count % PSS_EVERY == 0 else 0
            with self.lock:
                self.count += 1
                self.samples.append((round(time.perf_counter() - self.started, 2), total))
                if total > self.peak_total:
                    self.peak_total, self.peak_total_at = total, rss_by_role
                self.window_peak_total = max(self.window_peak_total, total)
                self.peak_pss_total = max(self.peak_pss_total, pss)
                for role, rss in rss_by_role.items():
                    self.peak_by_role[role] = max(self.peak_by_role.get(role, 0), rss)
            self.stopping.wait(SAMPLE_SECONDS)

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {
                "samples": self.count,
                "peak_total_rss_mb": _mb(self.peak_total),
                "peak_total_breakdown_mb": {role: _mb(rss) for role, rss in sorted(self.peak_total_at.items())},
                "peak_rss_by_role_mb": {role: _mb(rss) for role, rss in sorted(self.peak_by_role.items(), key=_order)},
                "peak_total_pss_mb": _mb(self.peak_pss_total),
                "gunicorn_worker_pids_seen": len(self.worker_pids),
                "total_rss_series_mb": [[t, _mb(rss)] for t, rss in self.samples[::5]],
            }


def _mb(size: int) -> float:
    return round(size / 2**20, 1)


def _order(item: tuple[str, int]) -> tuple[int, str]:
    ranks = ["honcho", "honcho-relay", "sh", "gunicorn-master", "gunicorn-worker", "import-worker"]
    role = item[0]
    rank = next((i for i, prefix in enumerate(ranks) if role.startswith(prefix)), len(ranks))
    number = re.search(r"(\d+)$", role)
    return rank, f"{int(number.group(1)):04d}" if number else role


# --- readers ------------------------------------------------------------------------------------------------------


@dataclass
class ReaderStats:
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds), successful or not
    requests: int = 0
    errors: int = 0
    keepalive_retries: int = 0  # a reused connection the server had closed: reconnect and send again, as browsers do
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)  # "search=kofi", "list", … → seconds


class Readers:
    """N threads reading the customer list like staff do, each on its own keep-alive connection."""

    def __init__(self, port: int, token: str, count: int, seed: int, think: float = 0.0) -> None:
        self.port = port
        self.token = token
        self.count = count
        self.seed = seed
        self.think = think
        self.epoch = 0  # bumped by pause(): `next` links from before an emptied table are dropped
        self.running = threading.Event()  # cleared: paused
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.stats = ReaderStats()
        self.in_flight = 0
        self.threads = [
            threading.Thread(target=self._loop, args=(index,), name=f"reader-{index}", daemon=True)
            for index in range(count)
        ]

    def start(self) -> None:
        self.running.set()
        for thread in self.threads:
            thread.start()

    def pause(self) -> None:
        """Stop sending and wait for the requests in flight (a TRUNCATE should not queue behind them, nor they)."""
        self.running.clear()
        self.epoch += 1
        deadline = time.perf_counter() + READER_TIMEOUT * 2
        while time.perf_counter() < deadline:
            with self.lock:
                if self.in_flight == 0:
                    return
            time.sleep(0.01)

    def resume(self) -> None:
        self.running.set()

    def stop(self) -> None:
        self.stopping.set()
        self.running.set()
        for thread in self.threads:
            thread.join(timeout=READER_TIMEOUT * 3)

    def _query(self, rng: random.Random) -> tuple[str, str]:
        """(path, kind): the kind names the search term, else the filter, for the per-kind latency table."""
        params: dict[str, Any] = {"page_size": 50}
        params.update(rng.choice(FILTERS))
        if rng.random() < 0.7:
            params["search"] = rng.choice(SEARCHES)
        kind = f"search={params['search']}" if "search" in params else urlencode(params, doseq=True)
        return "/api/v1/customers/?" + urlencode(params, doseq=True), kind

    def _get(self, conn: http.client.HTTPConnection, path: str, reused: bool) -> tuple[int, bytes]:
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            conn.close()  # the server closed the idle connection (keep-alive timeout, worker recycled): once more
            with self.lock:
                self.stats.keepalive_retries += 1
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()

    def _loop(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)  # noqa: S311 - load shape, not a secret
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=READER_TIMEOUT)
        used = False
        path: str | None = None
        pages = epoch = 0
        kind = "list"
        while not self.stopping.is_set():
            if not self.running.is_set():
                self.running.wait()
                continue
            if epoch != self.epoch:
                path, epoch = None, self.epoch
            if path is None or pages >= FOLLOW_NEXT:
                (path, kind), pages = self._query(rng), 0
            with self.lock:
                self.in_flight += 1
            started = time.perf_counter()
            status: int | None = None
            body = b""
            problem = ""
            try:
                status, body = self._get(conn, path, reused=used)
                used = True
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                conn.close()
                used = False
            elapsed = time.perf_counter() - started
            failed = status is None or not 200 <= status < 300
            next_path = None
            if not failed:
                with contextlib.suppress(ValueError, AttributeError):
                    next_url = json.loads(body).get("next")
                    if next_url and rng.random() < 0.5:
                        parts = urlsplit(next_url)
                        next_path = f"{parts.path}?{parts.query}"
            with self.lock:
                self.in_flight -= 1
                self.stats.requests += 1
                self.stats.latencies.append((started, elapsed))
                self.stats.by_kind.setdefault(kind, []).append(elapsed)
                key = str(status) if status is not None else "exception"
                self.stats.statuses[key] = self.stats.statuses.get(key, 0) + 1
                if failed:
                    self.stats.errors += 1
                    if len(self.stats.error_samples) < 10:
                        detail = problem or body[:300].decode(errors="replace")
                        self.stats.error_samples.append(f"GET {path} → {status}: {detail}")
            path, pages = (next_path, pages + 1) if next_path else (None, 0)
            if self.think:
                self.stopping.wait(self.think)
        conn.close()

    def window_ms(self, start: float, end: float) -> dict[str, float | None]:
        """Latency percentiles of the requests sent between `start` and `end` (perf_counter)."""
        with self.lock:
            return _percentiles(sorted(seconds for sent, seconds in self.stats.latencies if start <= sent < end))

    def report(self) -> dict[str, Any]:
        with self.lock:
            latencies = sorted(seconds for _, seconds in self.stats.latencies)
            return {
                "readers": self.count,
                "requests": self.stats.requests,
                "errors": self.stats.errors,
                "keepalive_retries": self.stats.keepalive_retries,
                "statuses": dict(sorted(self.stats.statuses.items())),
                "error_samples": list(self.stats.error_samples),
                "slowest_kinds_ms": {
                    kind: _percentiles(sorted(values)) | {"requests": len(values)}
                    for kind, values in sorted(self.stats.by_kind.items(), key=lambda item: -statistics.fmean(item[1]))[
                        :8
                    ]
                },
                "latency_ms": _percentiles(latencies),
            }


def _percentiles(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None}

    def pick(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)

    return {
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(latencies[-1] * 1000, 1),
        "mean": round(statistics.fmean(latencies) * 1000, 1),
    }


# --- one configuration --------------------------------------------------------------------------------------------


@dataclass
class Setup:
    database_url: str
    base_env: dict[str, str]
    token: str
    static_root: Path
    workdir: Path
    files: list[tuple[int, Path, dict[str, Any]]]
    readers: int
    reader_timeout: float
    import_timeout: float
    seed: int
    think: float
    readers_after: float = 0.0


def run_config(setup: Setup, name: str, overrides: dict[str, str]) -> dict[str, Any]:
    """Start bin/start with these overrides, run both imports under the readers, stop it; the figures."""
    port = free_port()
    env = stack_env(setup.base_env, port, setup.static_root, overrides)
    log_path = setup.workdir / f"stack-{re.sub(r'[^A-Za-z0-9]+', '_', name)}.log"
    stack = Stack(env, log_path)
    record: dict[str, Any] = {"config": name, "overrides": overrides, "port": port, "log": str(log_path)}
    sampler: StackSampler | None = None
    readers: Readers | None = None
    print(f"\n=== {name}: bin/start on 127.0.0.1:{port}" + (f" with {overrides}" if overrides else ""))
    try:
        empty_postgres_tables(setup.database_url)
        stack.start()
        sampler = StackSampler(stack)
        sampler.start()
        ready = stack.wait_ready(port)
        match = re.search(r"\[SERVER-READY\].*?workers=(\d+) threads=(\d+)", stack.log())
        record["workers"], record["threads"] = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        record["ready_seconds"] = round(ready, 1)
        record["idle_rss_mb"] = sampler.report()["peak_total_rss_mb"]
        print(
            f"ready in {ready:.1f} s: {record['workers']} gunicorn workers × {record['threads']} threads; "
            f"stack RSS at start {record['idle_rss_mb']} MB"
        )
        accept = sse_accept_header(port, setup.token)
        readers = Readers(port, setup.token, setup.readers, setup.seed, setup.think)
        imports = []
        readers_started = time.perf_counter()
        deadline = readers_started + setup.reader_timeout
        readers.start()
        for index, (size, path, meta) in enumerate(setup.files):
            if index:
                readers.pause()
                empty_postgres_tables(setup.database_url)
                readers.resume()
            stack.check_alive()
            sampler.reset_window()
            started = time.perf_counter()
            timeout = max(1.0, min(setup.import_timeout, deadline - started))
            upload_seconds, job = upload(port, setup.token, path, "xlsx", timeout)
            final, _, _ = follow(port, setup.token, job["id"], timeout, accept)
            ended = time.perf_counter()
            seconds = ended - started
            counts = final.get("counts") or {}
            imports.append(
                {
                    "rows": size,
                    "file": path.name,
                    "planted_bad": meta.get("planted_total"),
                    "status": final.get("status"),
                    "error": final.get("error"),
                    "counts": counts,
                    "upload_seconds": round(upload_seconds, 3),
                    "seconds": round(seconds, 3),
                    "job_seconds": round(final["seconds"], 2) if final.get("seconds") is not None else None,
                    "peak_total_rss_mb": sampler.window_peak_mb(),
                    "reader_latency_ms": readers.window_ms(started, ended),
                }
            )
            print(
                f"  import {size:>7,} rows: {final.get('status')} in {seconds:.2f} s (upload {upload_seconds:.2f} s), "
                f"read {counts.get('read')}, created {counts.get('created')}, failed {counts.get('failed')} "
                f"(planted {meta.get('planted_total')}); stack peak {sampler.window_peak_mb()} MB"
            )
        record["imports"] = imports
        readers.stop()
        record["reader_seconds"] = round(time.perf_counter() - readers_started, 2)
        if setup.readers_after > 0:
            # The same readers on the full table with nothing else running: what the imports cost them.
            quiet = Readers(port, setup.token, setup.readers, setup.seed + 1, setup.think)
            quiet.start()
            time.sleep(setup.readers_after)
            quiet.stop()
            record["readers_after_imports"] = quiet.report() | {"seconds": setup.readers_after}
    except (BenchError, OSError, ValueError, http.client.HTTPException) as exc:
        record["failure"] = f"{type(exc).__name__}: {exc}"
        print(f"  FAILED: {str(exc)[-1500:]}")
    finally:
        if readers is not None:
            readers.stop()
            record["reads"] = readers.report()
        record["stop"] = stack.stop()
        if sampler is not None:
            sampler.stop()
            record["memory"] = sampler.report()
        log = stack.log()
        spawned = len(re.findall(r"\[WORKER-SPAWN\]", log))
        record["worker_spawns"] = spawned
        record["worker_aborts"] = len(re.findall(r"\[WORKER-ABORT\]", log))
        # Time inside Django (our [REQUEST] line), without the wait for a gunicorn thread and the client's side.
        server_ms = [
            int(ms) / 1000 for ms in re.findall(r"\[REQUEST\] method=GET path=/api/v1/customers/ .*?ms=(\d+)", log)
        ]
        record["reader_server_ms"] = _percentiles(sorted(server_ms)) | {"requests": len(server_ms)}
        record["log_errors"] = [line for line in log.splitlines() if re.search(r"Traceback|\[ERROR\]|CRITICAL", line)][
            :10
        ]
    record["verdict"] = verdict(record)
    print_config(record)
    return record


def verdict(record: dict[str, Any]) -> dict[str, bool | None]:
    memory = record.get("memory", {})
    reads = record.get("reads", {})
    imports = record.get("imports", [])
    p99 = reads.get("latency_ms", {}).get("p99")
    return {
        "peak_total_rss": memory.get("peak_total_rss_mb", 1e9) <= TARGET_TOTAL_RSS_MB if memory else None,
        "no_failed_requests": (reads.get("errors") == 0 and not record.get("failure")) if reads else None,
        "reader_p99": p99 <= TARGET_P99_MS if p99 is not None else None,
        "imports_succeeded": bool(imports) and all(item["status"] == "succeeded" for item in imports),
    }


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def print_config(record: dict[str, Any]) -> None:
    memory = record.get("memory", {})
    reads = record.get("reads", {})
    checks = record["verdict"]
    latency = reads.get("latency_ms", {})
    print(f"--- {record['config']}: {record.get('workers')} workers × {record.get('threads')} threads")
    if memory:
        print(
            f"peak total RSS of the stack: {memory['peak_total_rss_mb']} MB (target ≤ {TARGET_TOTAL_RSS_MB:g}) "
            f"{_mark(checks['peak_total_rss'])}   [peak total PSS: {memory['peak_total_pss_mb']} MB; "
            f"{memory['samples']} samples]"
        )
        print("peak RSS per process:")
        for role, rss in memory["peak_rss_by_role_mb"].items():
            print(f"  {role:<22} {rss:>7.1f} MB")
        print(
            "at the peak instant: "
            + ", ".join(f"{role} {rss}" for role, rss in memory["peak_total_breakdown_mb"].items())
            + f"; gunicorn worker processes seen: {memory['gunicorn_worker_pids_seen']}"
            f" ([WORKER-SPAWN] lines: {record.get('worker_spawns')})"
        )
    for item in record.get("imports", []):
        counts = item["counts"]
        print(
            f"import {item['rows']:>7,}: {item['status']}, upload → done {item['seconds']:.2f} s "
            f"(job {item['job_seconds']} s), read {counts.get('read')}, created {counts.get('created')}, "
            f"updated {counts.get('updated')}, failed {counts.get('failed')} (planted {item['planted_bad']}); "
            f"reader p99 meanwhile {item['reader_latency_ms']['p99']} ms"
        )
    if reads:
        print(
            f"readers: {reads['readers']} threads, {reads['requests']} requests in {record.get('reader_seconds')} s, "
            f"errors {reads['errors']} {_mark(checks['no_failed_requests'])} (statuses {reads['statuses']}, "
            f"keep-alive reconnects {reads['keepalive_retries']})"
        )
        print(
            f"reader latency ms: p50 {latency.get('p50')}  p95 {latency.get('p95')}  p99 {latency.get('p99')} "
            f"(target ≤ {TARGET_P99_MS:g}) {_mark(checks['reader_p99'])}  max {latency.get('max')}"
        )
        inside = record.get("reader_server_ms", {})
        print(
            f"  of which inside Django ([REQUEST] ms, {inside.get('requests')} lines): p50 {inside.get('p50')}  "
            f"p95 {inside.get('p95')}  p99 {inside.get('p99')}  max {inside.get('max')}"
        )
        print(
            "  slowest query kinds (mean ms): "
            + ", ".join(f"{kind} {values['mean']}" for kind, values in list(reads["slowest_kinds_ms"].items())[:5])
        )
        for sample in reads["error_samples"][:5]:
            print(f"  error: {sample[:300]}")
    after = record.get("readers_after_imports")
    if after:
        quiet = after["latency_ms"]
        print(
            f"readers after the imports, no import running ({after['seconds']:g} s, table full): "
            f"{after['requests']} requests, errors {after['errors']}, latency ms p50 {quiet['p50']}  "
            f"p95 {quiet['p95']}  p99 {quiet['p99']}  max {quiet['max']}"
        )
    stop = record.get("stop", {})
    print(
        f"stop: exit code {stop.get('exit_code')} after {stop.get('seconds')} s"
        + (", SIGKILLed" if stop.get("sigkill") else "")
        + (f"; LEFT BEHIND (killed): {stop['left']}" if stop.get("left") else "")
    )
    for line in record.get("log_errors", []):
        print(f"  log: {line[:300]}")


def print_sweep(records: list[dict[str, Any]]) -> None:
    print("\n=== summary")
    header = f"{'config':<22} {'workers':>7} {'peak RSS MB':>11} {'peak PSS MB':>11} {'requests':>8} {'errors':>6} "
    header += f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'7k s':>6} {'100k s':>6}"
    print(header)
    for record in records:
        memory = record.get("memory", {})
        reads = record.get("reads", {})
        latency = reads.get("latency_ms", {})
        seconds = {item["rows"]: item["seconds"] for item in record.get("imports", [])}
        print(
            f"{record['config']:<22} {record.get('workers')!s:>7} {memory.get('peak_total_rss_mb')!s:>11} "
            f"{memory.get('peak_total_pss_mb')!s:>11} {reads.get('requests')!s:>8} {reads.get('errors')!s:>6} "
            f"{latency.get('p50')!s:>7} {latency.get('p99')!s:>7} {latency.get('max')!s:>7} "
            f"{seconds.get(7000, '-')!s:>6} {seconds.get(100000, '-')!s:>6}"
        )


# --- main ---------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure the one-service production stack (see bench/README.md).")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra environment (repeat)")
    parser.add_argument("--sweep", action="store_true", help="also run with WEB_CONCURRENCY=1, 2 and 3")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"rows of the xlsx files, in order ({DEFAULT_SIZES})")
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--reader-timeout", type=float, default=900.0, help="cap on the readers' run, seconds")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per import before giving up")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_PROD_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--think-ms", type=float, default=0.0, help="pause between a reader's requests (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--readers-after", type=float, default=0.0, help="seconds of reading once the imports are done (0: none)"
    )
    parser.add_argument(
        "--trigram-index", action="store_true", help="add a pg_trgm index on search_text (a trade-off study)"
    )
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--results", type=Path, default=OUT / "prod_results.json")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
            parser.error(f"--env takes KEY=VALUE, not {item!r}")
        overrides[key] = value
    args.overrides = overrides
    args.sizes = [int(size.strip().replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    if args.readers < 1 or not args.sizes:
        parser.error("--readers ≥ 1 and --sizes are needed")
    check_database_url(args.database_url)
    return args


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: the stack is stopped, the database dropped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    files = []
    for size in args.sizes:
        path, meta = ensure_file(size, "xlsx", args.seed, 0.02, "standard")
        files.append((size, path, meta))
    version = recreate_database(args.database_url)
    print(f"postgres: created {redact(args.database_url)} (server {version})")
    workdir = Path(tempfile.mkdtemp(prefix="primepre-prod-bench-"))
    static_root = workdir / "static"
    base_env = service_env(args.database_url, workdir)
    base_env["STATIC_ROOT"] = str(static_root)
    configs = [("default" if not args.overrides else "--env " + " ".join(args.env), args.overrides)]
    if args.sweep:
        configs += [(f"WEB_CONCURRENCY={n}", {**args.overrides, "WEB_CONCURRENCY": n}) for n in SWEEP]
    records: list[dict[str, Any]] = []
    try:
        step = time.perf_counter()
        manage(base_env, "migrate", "--noinput")
        if args.trigram_index:
            add_trigram_index(args.database_url)
            print("added the trigram index on search_text (--trigram-index)")
        manage(base_env, "collectstatic", "--noinput")
        token = create_token(base_env)
        print(f"migrated, collected static files and made a token in {time.perf_counter() - step:.1f} s")
        setup = Setup(
            args.database_url,
            base_env,
            token,
            static_root,
            workdir,
            files,
            args.readers,
            args.reader_timeout,
            args.timeout,
            args.seed,
            args.think_ms / 1000,
            args.readers_after,
        )
        for name, overrides in configs:
            records.append(run_config(setup, name, overrides))
    except BenchError as exc:
        print(f"\nFAILED: {exc}")
        return 2
    finally:
        if not args.keep_database:
            with contextlib.suppress(Exception):
                drop_database(args.database_url)
        shutil.rmtree(workdir, ignore_errors=True)
    if len(records) > 1:
        print_sweep(records)
    elapsed = time.perf_counter() - started
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_seconds": round(elapsed, 1),
        "args": {
            "env": args.env,
            "sweep": args.sweep,
            "sizes": args.sizes,
            "readers": args.readers,
            "think_ms": args.think_ms,
            "readers_after": args.readers_after,
            "trigram_index": args.trigram_index,
            "database_url": redact(args.database_url),
        },
        "targets": {"peak_total_rss_mb": TARGET_TOTAL_RSS_MB, "failed_requests": 0, "reader_p99_ms": TARGET_P99_MS},
        "environment": environment() | {"postgres": version, "stack": "bin/start (honcho + Procfile)"},
        "results": records,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.results.relative_to(ROOT) if args.results.is_relative_to(ROOT) else args.results}")
    print(f"({elapsed:.0f} s in all)")
    return 0 if all(record["verdict"]["imports_succeeded"] and "failure" not in record for record in records) else 1


if __name__ == "__main__":
    sys.exit(main())
