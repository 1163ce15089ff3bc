"""The real server (gunicorn running uvicorn workers on config.asgi, as production starts it) under the review's two
attacks at once: slow-body clients on `POST /login/` and open progress streams, more of each than the server runs
requests at once. `/healthz` and the customer list keep answering; the slow bodies get a 408 after
REQUEST_BODY_TIMEOUT_SECONDS and half-sent heads are closed after WEB_HEADER_TIMEOUT_SECONDS, while the streams stay
open. Bounded: a few seconds of traffic on loopback. `bench/prod.py` measures 50 + 20 under an import.
"""

from __future__ import annotations

import http.client
import re
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_production import (  # noqa: F401 - fixtures, used by name
    Running,
    database_url,
    free_port,
    get,
    run_manage,
    server_env,
    sqlite_file,
    start,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SLOW_BODIES = 8
STREAMS = 8
HEADS = 2


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[Running]:  # noqa: F811 - the imported fixture
    port = free_port()
    env = server_env | {
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "WEB_MAX_ACTIVE_REQUESTS": "2",  # fewer than the streams: a stream must not hold one
        "WEB_HEADER_TIMEOUT_SECONDS": "1",
        "REQUEST_BODY_TIMEOUT_SECONDS": "2",
        "IMPORT_SSE_HEARTBEAT_SECONDS": "1",
    }
    command = [sys.executable, "-m", "gunicorn", "config.asgi:application", "-c", "config/gunicorn.py"]
    running = start(command, env, port, tmp_path / "server.log")
    try:
        running.wait_for("answering /healthz", lambda: get(port, "/healthz", timeout=1)[0] == 200)
        yield running
    finally:
        running.terminate(timeout=15)
        running.kill_everything()


def _token_and_waiting_job(env: dict[str, str]) -> tuple[str, int]:
    """A superuser's API token and an import job that stays queued (no worker runs here): its stream stays open."""
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from primepre.accounts.tokens import issue_token\n"
        "from primepre.imports.models import ImportJob\n"
        "user = get_user_model().objects.create_superuser(username='slow-test', password=None)\n"
        "job = ImportJob.objects.create(created_by=user)\n"
        "print(f'TOKEN={issue_token(user)[1]} JOB={job.pk}')\n"
    )
    match = re.search(r"^TOKEN=(\w+) JOB=(\d+)$", run_manage(env, "shell", "-c", code), re.MULTILINE)
    assert match, "no token printed"
    return match.group(1), int(match.group(2))


def _slow_body(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = "POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    sock.sendall(f"{head}Content-Length: 200\r\n\r\nu".encode())  # one byte of 200, then nothing
    return sock


def _half_head(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: sl")
    return sock


def _stream(port: int, token: str, job: int) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"/api/v1/imports/{job}/events/", headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    assert response.status == 200 and response.readline().startswith(b"retry:")
    return response


def test_slow_bodies_and_open_streams_do_not_block_the_site(server: Running, server_env: dict[str, str]) -> None:  # noqa: F811
    token, job = _token_and_waiting_job(server_env)
    slow = [_slow_body(server.port) for _ in range(SLOW_BODIES)]
    heads = [_half_head(server.port) for _ in range(HEADS)]
    streams = [_stream(server.port, token, job) for _ in range(STREAMS)]
    try:
        started = time.monotonic()
        slowest = 0.0
        while time.monotonic() - started < 3.0:
            asked = time.monotonic()
            assert get(server.port, "/healthz", timeout=2)[0] == 200, server.log()[-3000:]
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
            conn.request("GET", "/api/v1/customers/", headers={"Authorization": f"Token {token}"})
            assert conn.getresponse().status == 200
            conn.close()
            slowest = max(slowest, time.monotonic() - asked)
            time.sleep(0.1)
        assert slowest < 1.0, f"/healthz and the list took up to {slowest:.2f} s behind slow clients and streams"

        for sock in slow:  # cut after the 2 s grace: a 408, and the connection closed
            assert sock.recv(64).startswith(b"HTTP/1.1 408"), server.log()[-3000:]
        for sock in heads:  # half a head, for longer than 1 s: closed without an answer
            assert sock.recv(64) == b""
        for response in streams:  # still open: the keep-alive comment (every 1 s here) keeps coming
            assert response.readline() in {b": keep-alive\n", b"\n"}
    finally:
        for sock in slow + heads:
            sock.close()
        for response in streams:
            response.close()
    assert "[REQUEST-TIMEOUT] part=body" in server.log() and "[REQUEST-TIMEOUT] part=head" in server.log()
