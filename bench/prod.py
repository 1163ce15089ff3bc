"""The production stack in one-service mode, under the load issue #14 defines (`make bench-prod`).

    .venv/bin/python bench/prod.py [--rate 20] [--requests 2000] [--rows 100000] [--steps 20,30,40,60,80,100]
                                   [--slow-clients 50] [--streams 20] [--hold-seconds 60] [--env KEY=VALUE ...]
                                   [--skip during|saturation|hold ...] [--mix readers|healthz]
                                   [--database-url postgres://…/primepre_prod_bench]

`bin/start` (running the Procfile's two lines side by side: gunicorn with uvicorn workers, config/gunicorn.py, and
`manage.py import_worker`) is started exactly as deployed, on a free loopback port, against a fresh PostgreSQL database
(dropped, created, migrated; static files collected into a temp STATIC_ROOT), with WEB_MEMORY_BUDGET_MB=512 and no
other sizing variable unless given with `--env`. Then, through HTTP only:

1. **during imports**: the 100,000-row .xlsx (bench/out, made by generate.py if missing) is imported again and again
   (the customer and imports_* tables emptied before each, readers paused for that moment), each followed over SSE to
   `event: end`, until `--requests` reader requests were sent inside the imports' windows (upload → end);
2. **no import**: the same readers on the full table until `--requests` more;
3. **saturation**: the readers at each rate of `--steps` for `--step-seconds`, without and then with imports running,
   until p99 passes 250 ms: the saturation throughput is the last rate below it;
4. **slow clients and open streams**: `--slow-clients` connections trickling `POST /login/` at 1 byte/s (reopened when
   the server cuts them) and `--streams` progress streams held open on an import job that stays queued (as tabs on a
   job waiting behind another), while the file is imported again and again (the customer table emptied before each)
   and `/healthz` and the customer list page are sampled at `--sample-rate` each.

Readers are open loop: Poisson arrivals at `--rate` per second in all, sent on time whether or not earlier requests
have answered, latency counted from the scheduled time. The mix: the API's customer list with searches (names, marks,
phone fragments, emails), exact lookups (a whole phone, mark or email from the file), filters and orderings, pages 2
and 3, and the staff list page (`/customers/`, signed in with a session). Each request carries an `X-Request-ID`, so
the server's `[REQUEST] ms= wait_ms=` line splits its latency into time inside Django, the wait for a turn, and the
rest (event loop, network, client), per kind of query.

The RSS of every process of the stack is sampled every 100 ms (psutil, bin/start's process tree; PSS every second).
Printed: each figure with PASS/MISS against the issue's targets (stack peak RSS ≤ 300 MB, 0 failed requests, reader
p99 ≤ 250 ms during imports and ≤ 100 ms without, over ≥ 2,000 requests each; /healthz and the list page p99 ≤ 250 ms
with memory ≤ 300 MB while slow clients and streams hang on), the saturation throughputs, and how the stack stopped.
Everything is written to bench/out/prod_results.json. The stack is always stopped (SIGTERM to bin/start's process
group, then SIGKILL) and the database dropped. See bench/README.md.
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
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

from http_import import (  # noqa: E402 - bench/ is not a package
    BenchError,
    check_database_url,
    drop_database,
    follow,
    free_port,
    manage,
    recreate_database,
    redact,
    service_env,
    upload,
)
from load import OpenLoop, Result, SlowClients, StreamHolders, Target, breakdown, failed, percentiles, server_times  # noqa: E402
from run import add_trigram_index, empty_postgres_tables, ensure_file, environment  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/primepre_prod_bench"
MEMORY_BUDGET_MB = "512"
# Everything config/gunicorn.py sizes itself from: taken out of the inherited environment, so only --env sets them.
SIZING_PREFIXES = ("WEB_", "GUNICORN_")
SAMPLE_SECONDS = 0.1
PSS_EVERY = 10  # samples: the PSS (smaps_rollup) once a second
STARTUP_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
IMPORT_TIMEOUT = 600.0
TARGET_TOTAL_RSS_MB = 300.0
TARGET_P99_DURING_MS = 250.0
TARGET_P99_QUIET_MS = 100.0
TARGET_P99_HOLD_MS = 250.0
SATURATION_P99_MS = 250.0

# What staff type in the search box, by kind: names, marks however spaced, phone fragments, emails.
SEARCHES = {
    "name": ["kofi", "Mensah", "ama owusu", "Boateng", "akosua", "Tetteh", "grace", "Nkrumah", "kwame asante"],
    "mark": ["PM12", "pm 123 kofi", "PM4 KOFI", "pm45", "PM1000"],
    "phone": ["024", "0241", "+233 24", "055 12", "20 123", "0592"],
    "email": ["gmail", "@yahoo", "mensah@"],
}
FILTERS: list[dict[str, Any]] = [
    {},
    {"region": "AA"},
    {"region": ["AH", "AA"]},
    {"ordering": "last_name"},
    {"ordering": "-created_at"},
    {"customer_type": "individual"},
]
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
            # Every simulated client of this benchmark is 127.0.0.1, as if behind one proxy: the per-address
            # connection bound (a defence against one real client) would refuse the hold phase's 70 connections
            # plus the readers. `--env WEB_MAX_CONNECTIONS_PER_CLIENT=100` measures with it.
            "WEB_MAX_CONNECTIONS_PER_CLIENT": "0",
        }
    )
    env.update(overrides)
    return env


class Stack:
    """`bin/start` in its own session, its output (and its two processes') in one log file."""

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
        # bin/start runs each Procfile process in a session of its own: they are not in its process group.
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

    Roles: `bin/start` (the supervisor script), `sh-web`/`sh-worker` (the `sh -c` of a Procfile line, if it does not
    exec), `gunicorn-master`, `gunicorn-worker-N` (N a slot: a recycled worker's successor takes its slot) and
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
            return "bin/start"
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
        if "collectstatic" in cmdline:
            return "collectstatic"  # bin/start's first step, before the two processes start
        if process.name() == "sleep":
            return "bin/start"  # its wait loop while the two processes stop
        if "import_worker" in cmdline:
            return "sh-worker" if cmdline.startswith(("/bin/sh", "sh ")) else "import-worker"
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
                if known.startswith("other"):  # new, or not told apart yet
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
    ranks = ["bin/start", "sh", "gunicorn-master", "gunicorn-worker", "import-worker"]
    role = item[0]
    rank = next((i for i, prefix in enumerate(ranks) if role.startswith(prefix)), len(ranks))
    number = re.search(r"(\d+)$", role)
    return rank, f"{int(number.group(1)):04d}" if number else role


# --- what the readers ask ---------------------------------------------------------------------------------------


@dataclass
class Mix:
    """The readers' requests: API searches (55%), exact lookups (15%), filters and orderings (15%), the staff list
    page (15%, half of them with a search); a third of the unsearched lists are asked for page 2 or 3."""

    token: str
    session: str
    exact: dict[str, list[str]]  # "phone"/"mark"/"email" → whole values from the imported file

    def __call__(self, rng: random.Random) -> Target:
        roll = rng.random()
        # Pages 2 and 3 of the lists that have them (a search for a fragment may have one page: its page 3 is a 404).
        params: dict[str, Any] = {"page": rng.choice([1, 1, 1, 1, 2, 3])}
        if roll < 0.15:
            if rng.random() < 0.5:
                params = {"search": rng.choice(rng.choice(list(SEARCHES.values())))}
            cookie = {"Cookie": f"sessionid={self.session}", "Accept": "text/html"}
            return Target("page", "/customers/?" + urlencode(params), cookie)
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        params["page_size"] = 50
        if roll < 0.70:
            kind = rng.choice(list(SEARCHES))
            params.update(search=rng.choice(SEARCHES[kind]), page=1)
            kind = f"search:{kind}"
        elif roll < 0.85:
            kind = rng.choice(list(self.exact))
            params.update(search=rng.choice(self.exact[kind]), page=1)
            kind = f"exact:{kind}"
        else:
            params.update(rng.choice(FILTERS))
            kind = "filter"
        path = "/api/v1/customers/?" + urlencode(params, doseq=True)
        return Target(kind, path, headers, missing_ok=params["page"] > 1)


def exact_values(path: Path, rows: int = 300) -> dict[str, list[str]]:
    """Whole marks, phones (as typed in the file) and emails of the file's first rows: what staff paste to find one
    customer."""
    from python_calamine import CalamineWorkbook

    table = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(nrows=rows + 1)
    header = [str(cell).strip().lower() for cell in table[0]]

    def column(name: str) -> list[str]:
        index = header.index(name)
        return [str(row[index]).strip() for row in table[1:] if str(row[index]).strip()]

    return {"mark": column("shipping mark"), "phone": column("phone number"), "email": column("email address")}


def sign_in(env: dict[str, str]) -> tuple[str, str]:
    """A superuser `bench`: its API token and a session key (the list page signs in with a cookie)."""
    code = (
        "from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        "from primepre.accounts.tokens import issue_token\n"
        "user = get_user_model().objects.create_superuser(username='bench', email='', password=None)\n"
        "session = SessionStore()\n"
        "session[SESSION_KEY] = str(user.pk)\n"
        "session[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
        "session[HASH_SESSION_KEY] = user.get_session_auth_hash()\n"
        "session.create()\n"
        "print('BENCH-TOKEN=' + issue_token(user)[1] + ' SESSION=' + session.session_key)\n"
    )
    match = shell_line(env, code, r"^BENCH-TOKEN=(\w+) SESSION=(\w+)$", "a token and a session")
    return match.group(1), match.group(2)


def shell_line(env: dict[str, str], code: str, pattern: str, what: str) -> re.Match[str]:
    """Run `code` in `manage.py shell` and find the line it printed that matches `pattern`."""
    match = re.search(pattern, manage(env, "shell", "-c", code), re.MULTILINE)
    if not match:
        raise BenchError(f"no {what} printed by manage.py shell")
    return match


def empty_customers(url: str) -> None:
    """TRUNCATE the customer table (and what references it), leaving the import jobs."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute("TRUNCATE customers_customer RESTART IDENTITY CASCADE")


def parked_job(env: dict[str, str]) -> int:
    """An import job that stays queued (no task runs it): a progress stream on it stays open, as a tab does on a job
    queued behind another."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from primepre.imports.models import ImportJob\n"
        "job = ImportJob.objects.create(created_by=get_user_model().objects.get(username='bench'))\n"
        "print(f'PARKED={job.pk}')\n"
    )
    return int(shell_line(env, code, r"^PARKED=(\d+)$", "job").group(1))


# --- imports, one after another -------------------------------------------------------------------------------------


class ImportDriver:
    """Imports the file again and again until stopped: tables emptied first (the loops paused meanwhile), upload,
    follow to `event: end`. `windows` are the (start, end) perf_counter spans of the imports."""

    def __init__(
        self, port: int, token: str, path: Path, database_url: str, loops: list[OpenLoop], keep_jobs: bool = False
    ) -> None:
        self.port, self.token, self.path, self.database_url, self.loops = port, token, path, database_url, loops
        self.keep_jobs = keep_jobs  # empty the customer table only: import jobs made meanwhile stay
        self.stop = threading.Event()
        self.windows: list[tuple[float, float]] = []
        self.imports: list[dict[str, Any]] = []
        self.current: tuple[int, int] | None = None  # (import number, job id) of the running import
        self.error = ""
        self.thread = threading.Thread(target=self._loop, name="imports", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        """Stop after the import that is running (it is always followed to its end)."""
        self.stop.set()
        self.thread.join(IMPORT_TIMEOUT)

    def within(self, moment: float) -> bool:
        return any(start <= moment < end for start, end in self.windows)

    def _loop(self) -> None:
        try:
            while not self.stop.is_set():
                for loop in self.loops:
                    loop.pause()
                if self.keep_jobs:
                    empty_customers(self.database_url)
                else:
                    empty_postgres_tables(self.database_url)
                for loop in self.loops:
                    loop.resume()
                self._one()
        except (BenchError, OSError, http.client.HTTPException) as exc:
            self.error = f"{type(exc).__name__}: {exc}"

    def _one(self) -> None:
        started = time.perf_counter()
        upload_seconds, job = upload(self.port, self.token, self.path, "xlsx", IMPORT_TIMEOUT)
        self.current = (len(self.imports) + 1, job["id"])
        final, _, _ = follow(self.port, self.token, job["id"], IMPORT_TIMEOUT, "text/event-stream")
        ended = time.perf_counter()
        self.windows.append((started, ended))
        counts = final.get("counts") or {}
        self.imports.append(
            {
                "status": final.get("status"),
                "seconds": round(ended - started, 2),
                "upload_seconds": round(upload_seconds, 2),
                "job_seconds": final.get("seconds"),
                "created": counts.get("created"),
                "failed": counts.get("failed"),
            }
        )


# --- the phases -----------------------------------------------------------------------------------------------------


@dataclass
class Setup:
    port: int
    database_url: str
    token: str
    session: str
    path: Path
    exact: dict[str, list[str]]
    rate: float
    requests: int
    steps: list[float]
    step_seconds: float
    slow_clients: int
    streams: int
    hold_seconds: float
    sample_rate: float
    seed: int
    env: dict[str, str]  # for manage.py commands against the stack's database
    mix: str = "readers"  # or "healthz": /healthz alone, the fixed cost of a request through the stack

    def readers(self) -> Any:
        if self.mix == "healthz":
            return lambda rng: Target("healthz", "/healthz", {})
        return Mix(self.token, self.session, self.exact)


@dataclass
class Phases:
    """Raw results of every phase (figures are computed once the stack has stopped and its log is complete)."""

    during: list[Result] = field(default_factory=list)
    quiet: list[Result] = field(default_factory=list)
    saturation: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hold: dict[str, Any] = field(default_factory=dict)
    imports: list[dict[str, Any]] = field(default_factory=list)


def _run_loop(loop: OpenLoop, rate: float, seconds: float, until: Any = None) -> None:
    """The loop at `rate` for `seconds`, or until `until()` is true (checked every second)."""
    stop = threading.Event()
    sender = threading.Thread(target=loop.run, args=(rate, stop, seconds), daemon=True)
    sender.start()
    started = time.perf_counter()
    while sender.is_alive() and time.perf_counter() - started < seconds:
        if until is not None and until():
            break
        time.sleep(1.0)
    stop.set()
    sender.join(seconds + 60)


def during_imports(setup: Setup, phases: Phases) -> None:
    loop = OpenLoop(setup.port, setup.readers(), setup.seed)
    driver = ImportDriver(setup.port, setup.token, setup.path, setup.database_url, [loop])
    driver.start()

    def enough() -> bool:
        return sum(1 for item in list(loop.results) if driver.within(item.scheduled)) >= setup.requests

    _run_loop(loop, setup.rate, IMPORT_TIMEOUT * 4, until=lambda: enough() or not driver.thread.is_alive())
    driver.stop.set()
    _run_loop(loop, setup.rate, IMPORT_TIMEOUT, until=lambda: not driver.thread.is_alive())  # to the end of the last
    driver.finish()
    if driver.error:
        raise BenchError(f"imports: {driver.error}")
    phases.during = [item for item in loop.results if driver.within(item.scheduled)]
    phases.imports = driver.imports
    print(f"  during imports: {len(phases.during)} requests over {len(driver.imports)} imports")


def without_import(setup: Setup, phases: Phases) -> None:
    loop = OpenLoop(setup.port, setup.readers(), setup.seed + 1)
    _run_loop(loop, setup.rate, setup.requests / setup.rate * 3, until=lambda: len(loop.results) >= setup.requests)
    phases.quiet = list(loop.results)
    print(f"  no import: {len(phases.quiet)} requests")


def saturation(setup: Setup, phases: Phases, with_import: bool) -> None:
    """Each rate of `steps` for step_seconds until p99 passes SATURATION_P99_MS."""
    name = "import" if with_import else "quiet"
    steps = phases.saturation.setdefault(name, [])
    for index, rate in enumerate(setup.steps):
        loop = OpenLoop(setup.port, setup.readers(), setup.seed + 10 + index)
        driver = ImportDriver(setup.port, setup.token, setup.path, setup.database_url, [loop]) if with_import else None
        if driver is not None:
            driver.start()
            time.sleep(1.0)  # the first import under way
        _run_loop(loop, rate, setup.step_seconds)
        if driver is not None:
            driver.finish()
        results = [item for item in loop.results if driver is None or driver.within(item.scheduled)]
        figures = percentiles([item.seconds for item in results])
        steps.append({"rate": rate, "requests": len(results), "failed": sum(map(failed, results)), **figures})
        print(f"  saturation ({name}) {rate:g}/s: {len(results)} requests, p99 {figures['p99']} ms")
        if figures["p99"] is None or figures["p99"] > SATURATION_P99_MS:
            break


def hold(setup: Setup, phases: Phases, sampler: Any) -> None:
    """Slow clients and open streams while imports run, /healthz and the list page sampled meanwhile."""
    health = OpenLoop(setup.port, lambda rng: Target("healthz", "/healthz", {}), setup.seed + 100)
    cookie = {"Cookie": f"sessionid={setup.session}", "Accept": "text/html"}
    pages = OpenLoop(setup.port, lambda rng: Target("list page", "/customers/", cookie), setup.seed + 101)
    driver = ImportDriver(setup.port, setup.token, setup.path, setup.database_url, [health, pages], keep_jobs=True)
    slow = SlowClients(setup.port, setup.slow_clients)
    parked = (0, parked_job(setup.env))
    streams = StreamHolders(setup.port, setup.token, setup.streams, lambda: parked)
    driver.start()
    slow.start()
    streams.start()
    time.sleep(3.0)  # everyone connected
    sampler.reset_window()
    sample = threading.Thread(target=_run_loop, args=(pages, setup.sample_rate, setup.hold_seconds), daemon=True)
    sample.start()
    _run_loop(health, setup.sample_rate, setup.hold_seconds)
    sample.join(setup.hold_seconds + 60)
    peak = sampler.window_peak_mb()
    streams.close()
    slow.close()
    driver.finish()
    phases.hold = {
        "healthz": health.results,
        "list_page": pages.results,
        "peak_total_rss_mb": peak,
        "slow_clients": {
            "open_min": min(slow.open_samples[3:] or [0]),
            "opened": slow.opened,
            "cut": slow.cut,
            "refused": slow.refused,
            "answers": slow.answers,
        },
        "streams": {
            "open_min": min(streams.open_samples[3:] or [0]),
            "opened": streams.opened,
            "errors": streams.errors,
        },
        "imports": len(driver.imports),
    }
    print(f"  hold: {len(health.results)} /healthz, {len(pages.results)} list pages, {len(driver.imports)} imports")


# --- where the CPU goes ---------------------------------------------------------------------------------------------


CpuSnapshot = dict[tuple[str, int, float], float]  # (role, pid, start time) → CPU seconds so far


def cpu_seconds(stack: Stack) -> CpuSnapshot:
    """CPU seconds (user + system) used so far by each process of: the web workers, the import worker, every
    PostgreSQL server process on this machine, this bench (the load generator); and the whole machine (everything
    not idle)."""
    found: CpuSnapshot = {}

    def add(role: str, process: psutil.Process) -> None:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            found[(role, process.pid, process.create_time())] = times.user + times.system

    for member in stack.tree():
        with contextlib.suppress(psutil.Error):
            cmdline = " ".join(member.cmdline())
            role = "import_worker" if "import_worker" in cmdline else "web" if "gunicorn" in cmdline else ""
            if role:
                add(role, member)
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("postgres", "postmaster"):
            add("postgres", process)
    add("bench", psutil.Process())
    machine = psutil.cpu_times()
    found[("machine", 0, 0.0)] = sum(
        getattr(machine, name, 0.0) for name in ("user", "system", "nice", "irq", "softirq", "steal")
    )
    return found


def cpu_used(before: CpuSnapshot, after: CpuSnapshot, requests: int, seconds: float) -> dict[str, Any]:
    """Per reader request, in CPU milliseconds, by role; and how busy the machine's cores were. A process that ended
    meanwhile is left out (its last figures are gone); one that started counts from zero."""
    used: dict[str, float] = {}
    for key, value in after.items():
        used[key[0]] = used.get(key[0], 0.0) + value - before.get(key, 0.0)
    per_request = {role: round(value * 1000 / max(requests, 1), 1) for role, value in sorted(used.items())}
    busy = used.get("machine", 0.0) / max(seconds, 1e-9) / (psutil.cpu_count() or 1)
    return {"ms_per_request": per_request, "machine_busy_percent": round(busy * 100, 1), "seconds": round(seconds, 1)}


# --- one run --------------------------------------------------------------------------------------------------------


def run(setup: Setup, env: dict[str, str], log_path: Path, skip: set[str]) -> dict[str, Any]:
    """Start bin/start, run the phases, stop it; the figures."""
    stack = Stack(env, log_path)
    record: dict[str, Any] = {"port": setup.port, "log": str(log_path)}
    phases = Phases()
    sampler: StackSampler | None = None
    try:
        empty_postgres_tables(setup.database_url)
        stack.start()
        sampler = StackSampler(stack)
        sampler.start()
        record["ready_seconds"] = round(stack.wait_ready(setup.port), 1)
        record["idle_rss_mb"] = sampler.report()["peak_total_rss_mb"]
        print(f"ready in {record['ready_seconds']} s; stack RSS at start {record['idle_rss_mb']} MB")
        if "during" not in skip:
            during_imports(setup, phases)
        before, started = cpu_seconds(stack), time.perf_counter()
        without_import(setup, phases)
        record["quiet_cpu"] = cpu_used(before, cpu_seconds(stack), len(phases.quiet), time.perf_counter() - started)
        if "saturation" not in skip:
            saturation(setup, phases, with_import=False)
            saturation(setup, phases, with_import=True)
        if "hold" not in skip:
            hold(setup, phases, sampler)
    except (BenchError, OSError, ValueError, http.client.HTTPException) as exc:
        record["failure"] = f"{type(exc).__name__}: {exc}"
        print(f"  FAILED: {str(exc)[-1500:]}")
    finally:
        record["stop"] = stack.stop()
        if sampler is not None:
            sampler.stop()
            record["memory"] = sampler.report()
    log = stack.log()
    record.update(figures(phases, server_times(log)))
    record["log_errors"] = [line for line in log.splitlines() if re.search(r"Traceback|\\[ERROR\\]|CRITICAL", line)][
        :10
    ]
    record["worker_spawns"] = log.count("[WORKER-SPAWN]")
    record["verdict"] = verdict(record)
    return record


def figures(phases: Phases, times: dict[str, tuple[float, float]]) -> dict[str, Any]:
    def summary(results: list[Result]) -> dict[str, Any]:
        return {
            "latency_ms": percentiles([item.seconds for item in results]),
            "failed": sum(map(failed, results)),
            "failures": [f"{item.kind} {item.status} {item.error}"[:200] for item in results if failed(item)][:5],
            "by_kind": breakdown(results, times),
        }

    hold = dict(phases.hold)
    for name in ("healthz", "list_page"):
        if name in hold:
            hold[name] = summary(hold[name])
    return {
        "imports": phases.imports,
        "during": summary(phases.during),
        "quiet": summary(phases.quiet),
        "saturation": {
            name: {"steps": steps, "throughput": _throughput(steps)} for name, steps in phases.saturation.items()
        },
        "hold": hold,
    }


def _throughput(steps: list[dict[str, Any]]) -> dict[str, float | None]:
    """The last rate whose p99 stayed within SATURATION_P99_MS, and the first that passed it."""
    below = [step["rate"] for step in steps if step["p99"] is not None and step["p99"] <= SATURATION_P99_MS]
    above = [step["rate"] for step in steps if step["p99"] is None or step["p99"] > SATURATION_P99_MS]
    return {"within": max(below) if below else None, "past": min(above) if above else None}


def verdict(record: dict[str, Any]) -> dict[str, bool | None]:
    def p99_ok(block: dict[str, Any], target: float, minimum: int = 0) -> bool | None:
        latency = (block or {}).get("latency_ms", {})
        if latency.get("p99") is None:
            return None
        return latency["p99"] <= target and latency["n"] >= minimum

    hold = record.get("hold") or {}
    memory = record.get("memory") or {}
    failed_total = sum((record.get(name) or {}).get("failed", 0) for name in ("during", "quiet"))
    failed_total += sum((hold.get(name) or {}).get("failed", 0) for name in ("healthz", "list_page"))
    return {
        "peak_total_rss": memory.get("peak_total_rss_mb", 1e9) <= TARGET_TOTAL_RSS_MB if memory else None,
        "no_failed_requests": failed_total == 0 and "failure" not in record,
        "p99_during_import": p99_ok(record.get("during"), TARGET_P99_DURING_MS, 2000),
        "p99_without_import": p99_ok(record.get("quiet"), TARGET_P99_QUIET_MS, 2000),
        "hold_healthz_p99": p99_ok(hold.get("healthz"), TARGET_P99_HOLD_MS) if hold else None,
        "hold_list_page_p99": p99_ok(hold.get("list_page"), TARGET_P99_HOLD_MS) if hold else None,
        "hold_memory": hold["peak_total_rss_mb"] <= TARGET_TOTAL_RSS_MB if hold else None,
        "imports_succeeded": bool(record.get("imports")) and all(i["status"] == "succeeded" for i in record["imports"]),
    }


# --- the report -----------------------------------------------------------------------------------------------------


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def _latency(block: dict[str, Any]) -> str:
    lat = block.get("latency_ms", {})
    figures = f"p50 {lat.get('p50')}  p95 {lat.get('p95')}  p99 {lat.get('p99')}  max {lat.get('max')} ms"
    return f"{figures} ({lat.get('n')} requests)"


def print_report(record: dict[str, Any]) -> None:
    checks, memory = record["verdict"], record.get("memory") or {}
    print("\n=== results")
    if memory:
        print(
            f"stack peak RSS: {memory['peak_total_rss_mb']} MB (target ≤ {TARGET_TOTAL_RSS_MB:g}) "
            f"{_mark(checks['peak_total_rss'])}  [peak PSS {memory['peak_total_pss_mb']} MB]"
        )
        print("  at the peak: " + ", ".join(f"{role} {rss}" for role, rss in memory["peak_total_breakdown_mb"].items()))
        print("  peak per process: " + ", ".join(f"{r} {v}" for r, v in memory["peak_rss_by_role_mb"].items()))
    imports = record.get("imports") or []
    if imports:
        seconds = sorted(item["seconds"] for item in imports)
        print(
            f"imports of {len(imports)} × the file: {sum(i['status'] == 'succeeded' for i in imports)} succeeded, "
            f"upload → end {seconds[0]}–{seconds[-1]} s (median {seconds[len(seconds) // 2]})"
        )
    during, quiet = record.get("during") or {}, record.get("quiet") or {}
    print(f"failed requests: {during.get('failed', 0) + quiet.get('failed', 0)} {_mark(checks['no_failed_requests'])}")
    for sample in (during.get("failures") or []) + (quiet.get("failures") or []):
        print(f"  failed: {sample}")
    print(f"readers during imports: {_latency(during)}  target p99 ≤ {TARGET_P99_DURING_MS:g} over ≥ 2,000 "
          f"{_mark(checks['p99_during_import'])}")  # fmt: skip
    print(f"readers, no import:     {_latency(quiet)}  target p99 ≤ {TARGET_P99_QUIET_MS:g} over ≥ 2,000 "
          f"{_mark(checks['p99_without_import'])}")  # fmt: skip
    for name, block in (("during imports", during), ("no import", quiet)):
        _print_kinds(name, block.get("by_kind") or {})
    if cpu := record.get("quiet_cpu"):
        used = cpu["ms_per_request"]
        print(
            f"  CPU per request, no import (ms): web {used.get('web')}, PostgreSQL {used.get('postgres')}, "
            f"this bench {used.get('bench')}, import worker {used.get('import_worker')}, "
            f"whole machine {used.get('machine')}; "
            f"cores {cpu['machine_busy_percent']}% busy"
        )
    for name, block in (record.get("saturation") or {}).items():
        steps = ", ".join(f"{step['rate']:g}/s p99 {step['p99']}" for step in block["steps"])
        label = "with imports" if name == "import" else "no import"
        print(f"saturation ({label}): p99 ≤ {SATURATION_P99_MS:g} ms up to {block['throughput']['within']} req/s, "
              f"past it at {block['throughput']['past']} [{steps}]")  # fmt: skip
    _print_hold(record.get("hold") or {}, checks)
    stop = record.get("stop") or {}
    killed = ", SIGKILLed" if stop.get("sigkill") else ""
    left = f"; LEFT BEHIND: {stop['left']}" if stop.get("left") else ""
    print(f"stop: exit code {stop.get('exit_code')} after {stop.get('seconds')} s{killed}{left}")
    for line in record.get("log_errors", []):
        print(f"  log: {line[:300]}")


def _print_kinds(name: str, kinds: dict[str, Any]) -> None:
    print(
        f"  where the time goes, {name} (ms: client p50/p99 | inside Django p50/p99 | wait for a turn p99 | rest p99):"
    )
    for kind, row in kinds.items():
        client, django, wait, rest = row["client"], row["django"], row["wait"], row["rest"]
        print(
            f"    {kind:<14} {client['n']:>5}  {client['p50']!s:>6} {client['p99']!s:>7} | {django['p50']!s:>6} "
            f"{django['p99']!s:>7} | {wait['p99']!s:>6} | {rest['p99']!s:>6}"
        )


def _print_hold(hold: dict[str, Any], checks: dict[str, bool | None]) -> None:
    if not hold:
        return
    slow, streams = hold["slow_clients"], hold["streams"]
    print(
        f"slow clients + open streams: {slow['open_min']}+ slow-body connections open (opened {slow['opened']}, cut by "
        f"the server {slow['cut']} {slow['answers']}, refused {slow['refused']}), {streams['open_min']}+ streams open "
        f"(opened {streams['opened']}, errors {streams['errors']}), {hold['imports']} imports meanwhile"
    )
    for label, name, check in (
        ("/healthz: ", "healthz", "hold_healthz_p99"),
        ("list page:", "list_page", "hold_list_page_p99"),
    ):
        print(f"  {label} {_latency(hold[name])}  target p99 ≤ {TARGET_P99_HOLD_MS:g} {_mark(checks[check])}")
    failures = hold["healthz"]["failed"] + hold["list_page"]["failed"]
    print(
        f"  stack peak RSS meanwhile: {hold['peak_total_rss_mb']} MB (target ≤ {TARGET_TOTAL_RSS_MB:g}) "
        f"{_mark(checks['hold_memory'])}; failed requests {failures}"
    )


# --- main -------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Measure the one-service production stack (see bench/README.md).")
    add = parser.add_argument
    add("--env", action="append", default=[], metavar="KEY=VALUE", help="extra environment for the stack (repeat)")
    add("--rows", type=int, default=100_000, help="rows of the imported .xlsx")
    add("--rate", type=float, default=20.0, help="reader requests per second (Poisson arrivals)")
    add("--requests", type=int, default=2000, help="reader requests during imports, and again without")
    add("--steps", default="20,30,40,60,80,100", help="rates of the saturation search")
    add("--step-seconds", type=float, default=15.0)
    add("--slow-clients", type=int, default=50)
    add("--streams", type=int, default=20)
    add("--hold-seconds", type=float, default=60.0)
    add("--sample-rate", type=float, default=5.0, help="/healthz and list-page requests per second, each, in the hold")
    add("--skip", action="append", default=[], choices=["during", "saturation", "hold"])
    add("--mix", default="readers", choices=["readers", "healthz"], help="healthz: the fixed cost of a request alone")
    add("--database-url", default=os.environ.get("BENCH_PROD_DATABASE_URL", DEFAULT_DATABASE_URL))
    add("--trigram-index", action="store_true", help="add a pg_trgm index on search_text (a trade-off study)")
    add("--seed", type=int, default=1)
    add("--keep-database", action="store_true")
    add("--results", type=Path, default=OUT / "prod_results.json")
    args = parser.parse_args(argv)
    args.overrides = {}
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
            parser.error(f"--env takes KEY=VALUE, not {item!r}")
        args.overrides[key] = value
    args.steps = [float(step) for step in args.steps.split(",") if step.strip()]
    if args.rate <= 0 or args.requests < 1 or not args.steps:
        parser.error("--rate > 0, --requests ≥ 1 and --steps are needed")
    check_database_url(args.database_url)
    return args


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: the stack is stopped, the database dropped


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    path, _ = ensure_file(args.rows, "xlsx", args.seed, 0.02, "standard")
    version = recreate_database(args.database_url)
    print(f"postgres: created {redact(args.database_url)} (server {version})")
    workdir = Path(tempfile.mkdtemp(prefix="primepre-prod-bench-"))
    base_env = service_env(args.database_url, workdir)
    try:
        manage(base_env, "migrate", "--noinput")
        if args.trigram_index:
            add_trigram_index(args.database_url)
        manage(base_env, "collectstatic", "--noinput")
        token, session = sign_in(base_env)
        port = free_port()
        setup = Setup(
            port, args.database_url, token, session, path, exact_values(path), args.rate, args.requests, args.steps,
            args.step_seconds, args.slow_clients, args.streams, args.hold_seconds, args.sample_rate, args.seed,
            base_env, args.mix,
        )  # fmt: skip
        env = stack_env(base_env, port, workdir / "static", args.overrides)
        print(f"=== bin/start on 127.0.0.1:{port}" + (f" with {args.overrides}" if args.overrides else ""))
        record = run(setup, env, workdir / "stack.log", set(args.skip))
    except BenchError as exc:
        print(f"\nFAILED: {exc}")
        return 2
    finally:
        if not args.keep_database:
            with contextlib.suppress(Exception):
                drop_database(args.database_url)
        shutil.rmtree(workdir, ignore_errors=True)
    print_report(record)
    report = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "elapsed_seconds": round(time.perf_counter() - started, 1),
        "args": {key: value for key, value in vars(args).items() if key not in {"results", "database_url"}},
        "targets": {
            "peak_total_rss_mb": TARGET_TOTAL_RSS_MB,
            "failed_requests": 0,
            "reader_p99_ms_during_import": TARGET_P99_DURING_MS,
            "reader_p99_ms_without_import": TARGET_P99_QUIET_MS,
            "hold_p99_ms": TARGET_P99_HOLD_MS,
        },
        "environment": environment() | {"postgres": version, "stack": "bin/start (Procfile)"},
        "result": record,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.results}  ({time.perf_counter() - started:.0f} s in all)")
    return 0 if record["verdict"]["imports_succeeded"] and "failure" not in record else 1


if __name__ == "__main__":
    sys.exit(main())
