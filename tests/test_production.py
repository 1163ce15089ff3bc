"""The production server for real: gunicorn with config/gunicorn.py (uvicorn workers on config.asgi), and `bin/start`
(one-service mode), as subprocesses on loopback, with DEBUG off and config.settings.

- an upload over the limit, sent with its Content-Length as a browser does, gets the 413 JSON with the CORS header
  (not a reset connection, not a 502);
- a client that sends half its headers and hangs does not block the other requests;
- `bin/start` with only the required environment comes up (/readyz, `[SERVER-READY]`, `[WORKER-START]`) and on
  SIGTERM stops every process it started within 30 s.

The subprocesses share the test database on PostgreSQL (hence transaction=True: rows committed, visible to them); on
SQLite the test database is in memory, so they get their own migrated SQLite file.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from django.db import connection

from .sheets import write_far_ods

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "https://office.primepre.example"
LIMIT_BYTES = 50 * 1024 * 1024
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


# --- helpers ------------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env() -> dict[str, str]:
    """The inherited environment without what would change the server under test (settings module, sizing)."""
    drop = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "WEB_", "GUNICORN_", "PORT", "HOST")
    return {key: value for key, value in os.environ.items() if not key.startswith(drop)}


def run_manage(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"manage.py {args[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int | None, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return None, b""
    finally:
        conn.close()


@dataclass
class Running:
    """A subprocess in its own session, its output in a log file; every process of its tree is remembered."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    seen: dict[int, psutil.Process] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.proc.pid)
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            return []
        for member in members:
            self.seen.setdefault(member.pid, member)
        return members

    def alive(self) -> list[psutil.Process]:
        """Processes of the tree (ever seen) still running: bin/start runs each Procfile line in a session of its
        own, so they are not in its process group and have to be followed by pid."""
        left = []
        for process in self.seen.values():
            with contextlib.suppress(psutil.Error):
                if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                    left.append(process)
        return left

    def wait_for(self, what: str, ready: object, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not ready():  # type: ignore[operator]
            self.tree()
            if self.proc.poll() is not None:
                pytest.fail(f"exited with {self.proc.returncode} before {what}; log:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"not {what} after {timeout:g} s; log:\n{self.log()[-4000:]}")
            time.sleep(0.1)
        self.tree()

    def terminate(self, timeout: float = STOP_TIMEOUT) -> float:
        """SIGTERM to the process group; wait for it and for every process seen. Return the seconds it took."""
        self.tree()
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        while self.alive() and time.monotonic() - started < timeout:
            time.sleep(0.1)
        return time.monotonic() - started

    def kill_everything(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        for process in self.alive():
            with contextlib.suppress(psutil.Error):
                process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def start(args: list[str], env: dict[str, str], port: int, log_path: Path) -> Running:
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return Running(proc, port, log_path)


# --- the database the subprocesses use ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """On SQLite, one migrated database file for the module's subprocesses (the test database is in memory)."""
    if connection.vendor != "sqlite":
        return None
    workdir = tmp_path_factory.mktemp("production-db")
    path = workdir / "prod.sqlite3"
    env = base_env() | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{path}",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "0",
        "VAR_DIR": str(workdir / "var"),
    }
    run_manage(env, "migrate", "--noinput")
    return path


@pytest.fixture
def database_url(sqlite_file: Path | None) -> str:
    if sqlite_file is not None:
        return f"sqlite:///{sqlite_file}"
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = f"{auth}@" if auth else ""
    return f"postgres://{host}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return base_env() | {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "CORS_ALLOWED_ORIGINS": ORIGIN,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "VAR_DIR": str(tmp_path / "var"),
        "TASKS_BACKEND": "database",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def gunicorn(server_env: dict[str, str], tmp_path: Path) -> Iterator[Running]:
    """`gunicorn config.asgi:application -c config/gunicorn.py` (uvicorn workers): one worker, on a loopback port."""
    port = free_port()
    env = server_env | {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1"}
    server = start(
        [sys.executable, "-m", "gunicorn", "config.asgi:application", "-c", "config/gunicorn.py"],
        env,
        port,
        tmp_path / "gunicorn.log",
    )
    try:
        server.wait_for("answering /healthz", lambda: get(port, "/healthz", timeout=1)[0] == 200)
        yield server
    finally:
        server.terminate(timeout=15)
        server.kill_everything()


@pytest.fixture
def serve(server_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start gunicorn with config/gunicorn.py (one worker) and the given extra environment; as many as a test asks
    for, all stopped after it (tests/test_client_address.py, tests/test_connection_limits.py)."""
    started: list[Running] = []

    def run(**extra: str) -> Running:
        port = free_port()
        env = server_env | {"HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "1"} | extra
        command = [sys.executable, "-m", "gunicorn", "config.asgi:application", "-c", "config/gunicorn.py"]
        running = start(command, env, port, tmp_path / f"server-{len(started)}.log")
        started.append(running)
        running.wait_for("answering /healthz", lambda: get(port, "/healthz", timeout=1)[0] == 200)
        return running

    try:
        yield run
    finally:
        for running in started:
            running.terminate(timeout=15)
            running.kill_everything()


def make_token(env: dict[str, str]) -> str:
    """A superuser and its API token, made in the subprocesses' database."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from primepre.accounts.tokens import issue_token\n"
        f"user = get_user_model().objects.create_superuser(username='prod-{uuid.uuid4().hex[:8]}', password=None)\n"
        "print('TOKEN=' + issue_token(user)[1])\n"
    )
    match = re.search(r"^TOKEN=(\w+)$", run_manage(env, "shell", "-c", code), re.MULTILINE)
    assert match, "no token printed"
    return match.group(1)


# --- the tests ----------------------------------------------------------------------------------------------------


def test_an_oversize_upload_gets_the_413_json_with_cors(gunicorn: Running, server_env: dict[str, str]):
    token = make_token(server_env)
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    chunk = b"\0" * (1 << 20)
    chunks = 60
    length = len(head) + chunks * len(chunk) + len(tail)
    assert length > 60 * 1000 * 1000

    conn = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=60)
    try:
        conn.putrequest("POST", "/api/v1/imports/")
        conn.putheader("Authorization", f"Token {token}")
        conn.putheader("Origin", ORIGIN)
        conn.putheader("Accept", "application/json")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(length))
        conn.endheaders()
        try:
            conn.send(head)
            for _ in range(chunks):
                conn.send(chunk)
            conn.send(tail)
            response = conn.getresponse()
            body = response.read()
        except OSError as exc:  # a reset or a broken pipe: what a browser shows as "network error"
            pytest.fail(
                f"the connection failed instead of a 413: {type(exc).__name__}: {exc}\n{gunicorn.log()[-3000:]}"
            )
    finally:
        conn.close()

    assert response.status == 413, (response.status, body[:500], gunicorn.log()[-3000:])
    payload = json.loads(body)
    assert payload["code"] == "file_too_large"
    assert payload["limit_bytes"] == LIMIT_BYTES
    assert payload["message"]
    assert response.getheader("Access-Control-Allow-Origin") == ORIGIN
    assert response.getheader("Content-Type", "").startswith("application/json")


def test_a_slow_client_does_not_block_other_requests(gunicorn: Running):
    slow = socket.create_connection(("127.0.0.1", gunicorn.port), timeout=5)
    try:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sl")  # half the headers, then nothing
        time.sleep(0.3)  # the server has accepted it and is waiting for the rest
        started = time.monotonic()
        statuses = [get(gunicorn.port, "/healthz", timeout=5)[0] for _ in range(10)]
        elapsed = time.monotonic() - started
    finally:
        slow.close()
    assert statuses == [200] * 10, (statuses, gunicorn.log()[-3000:])
    assert elapsed < 10, f"10 requests took {elapsed:.1f} s while a slow client dangled"


def test_bin_start_serves_and_stops_on_sigterm(database_url: str, tmp_path: Path):
    """One-service mode with only the required environment: what a platform gives it."""
    port = free_port()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # bin/start puts the venv first
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "PORT": str(port),
    }
    stack = start([str(ROOT / "bin" / "start")], env, port, tmp_path / "stack.log")
    try:
        stack.wait_for("ready", lambda: get(port, "/readyz", timeout=2)[0] == 200)
        stack.wait_for("logging [SERVER-READY] and [WORKER-START]", lambda: _started(stack.log()))
        workers = int(re.search(r"\[SERVER-READY\].*? workers=(\d+)", stack.log()).group(1))
        stack.wait_for(f"running {workers} gunicorn workers", lambda: stack.log().count("[WORKER-SPAWN]") >= workers)
        time.sleep(0.3)
        processes = stack.tree()
        assert len(processes) >= 3 + workers, [" ".join(p.cmdline()) for p in processes]

        seconds = stack.terminate(timeout=STOP_TIMEOUT)
        left = [f"{p.pid} {' '.join(p.cmdline())}" for p in stack.alive()]
        assert stack.proc.poll() is not None, f"bin/start still running after {STOP_TIMEOUT:g} s"
        assert not left, f"left running after SIGTERM ({seconds:.1f} s): {left}\n{stack.log()[-3000:]}"
        # bin/start exits 143 (128 + SIGTERM) when it was told to stop; 0 would be a clean exit too.
        assert stack.proc.returncode in (0, 143), (stack.proc.returncode, stack.log()[-3000:])
        assert seconds < STOP_TIMEOUT
    finally:
        stack.kill_everything()


def _started(log: str) -> bool:
    return "[SERVER-READY]" in log and "[WORKER-START]" in log


class HealthPoller:
    """/healthz every 100 ms in a thread, as the issue's probe does: the longest run of failed probes is the outage."""

    def __init__(self, port: int) -> None:
        self.port, self.results, self._stop = port, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.results.append((started, get(self.port, "/healthz", timeout=1)[0] == 200))
            self._stop.wait(max(0.0, 0.1 - (time.monotonic() - started)))

    def stop(self) -> float:
        """Stop polling; the longest outage in seconds (0 when every probe answered)."""
        self._stop.set()
        self._thread.join()
        longest, down_since = 0.0, None
        for at, ok in self.results:
            if not ok and down_since is None:
                down_since = at
            elif ok and down_since is not None:
                longest, down_since = max(longest, at - down_since), None
        if down_since is not None:
            longest = max(longest, self.results[-1][0] - down_since + 0.1)
        return longest


def _post_file(port: int, token: str, path: Path) -> int:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1/imports/",
            body,
            {"Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == 202, payload
        return int(payload["id"])
    finally:
        conn.close()


def _job_state(port: int, token: str, job_id: int) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/api/v1/imports/{job_id}/", headers={"Authorization": f"Token {token}"})
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def test_bin_start_serves_through_poison_files_and_a_dead_worker(server_env: dict[str, str], tmp_path: Path):
    """Issue #23's outage, through the real stack with /healthz polled every 100 ms: three files built to exhaust a
    spreadsheet reader, queued at once, end `failed` with a code while the site answers every probe; then the worker
    is killed outright, and bin/start starts it again (the web server never stops because of it)."""
    port = free_port()
    env = server_env | {"PORT": str(port), "IMPORT_HEARTBEAT_TIMEOUT_SECONDS": "5"}
    run_manage(env, "migrate", "--noinput")
    token = make_token(env)
    stack = start([str(ROOT / "bin" / "start")], env, port, tmp_path / "stack.log")
    try:
        stack.wait_for("ready", lambda: get(port, "/readyz", timeout=2)[0] == 200)
        stack.wait_for("worker started", lambda: _started(stack.log()))
        poller = HealthPoller(port)
        poison = write_far_ods(tmp_path / "far.ods")
        ids = [_post_file(port, token, poison) for _ in range(3)]
        stack.wait_for(
            "ending the poison jobs",
            lambda: all(_job_state(port, token, i)["status"] == "failed" for i in ids),
            timeout=90,
        )
        worker = next(p for p in stack.tree() if "import_worker" in " ".join(p.cmdline()))
        worker.kill()
        stack.wait_for("restarting the worker", lambda: stack.log().count("[WORKER-START]") >= 2, timeout=30)
        outage = poller.stop()
        assert outage == 0, f"/healthz failed for {outage:.1f} s\n{stack.log()[-4000:]}"
        assert "[START-WORKER-EXIT]" in stack.log()
        errors = [_job_state(port, token, i)["error"] for i in ids]
        assert all(error and error["code"] for error in errors), errors  # type: ignore[index]
    finally:
        stack.terminate(timeout=STOP_TIMEOUT)
        stack.kill_everything()


def test_an_oversize_upload_to_the_page_gets_a_readable_413(gunicorn: Running):
    """The web upload is refused before CSRF reads (and stores) the body: the same limit and message as the API."""
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    chunk, chunks = b"\0" * (1 << 20), 60
    conn = http.client.HTTPConnection("127.0.0.1", gunicorn.port, timeout=60)
    try:
        conn.putrequest("POST", "/imports/new/")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + chunks * len(chunk) + len(tail)))
        conn.endheaders()
        conn.send(head)
        for _ in range(chunks):
            conn.send(chunk)
        conn.send(tail)
        response = conn.getresponse()
        body = response.read().decode()
    finally:
        conn.close()
    assert response.status == 413, (response.status, body[:500], gunicorn.log()[-3000:])
    assert response.getheader("Content-Type", "").startswith("text/html")
    assert "The file is larger than the 50 MB limit." in body


def test_bin_start_collects_static_files_when_debug_is_off(database_url: str, tmp_path: Path):
    """A fresh STATIC_ROOT (no collectstatic before): the pages still render, with hashed static names."""
    port = free_port()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "PORT": str(port),
        "STATIC_ROOT": str(tmp_path / "static"),
        "VAR_DIR": str(tmp_path / "var"),
    }
    stack = start([str(ROOT / "bin" / "start")], env, port, tmp_path / "stack.log")
    try:
        stack.wait_for("ready", lambda: get(port, "/readyz", timeout=2)[0] == 200, timeout=60)
        status, page = get(port, "/login/")
        assert status == 200, (status, stack.log()[-3000:])
        css = re.search(rb'href="(/static/web/site\.[0-9a-f]{12}\.css)"', page)
        assert css, page[:1000]
        assert get(port, css.group(1).decode())[0] == 200
    finally:
        stack.terminate(timeout=STOP_TIMEOUT)
        stack.kill_everything()
