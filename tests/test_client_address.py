"""The client's address through the real server (gunicorn running config/server.py's uvicorn workers, as production
starts it), with and without a trusted proxy (issue #23).

The server used to let uvicorn replace the client address with whatever `X-Forwarded-For` said, from anyone
(`forwarded_allow_ips = "*"`): an address locked after five failures got a token by adding `X-Forwarded-For:
10.9.9.9`, seven failures with a new header value each were never locked, and `ip=` in the log lines was the
attacker's choice. Now no header is believed unless TRUSTED_PROXY_COUNT says how many proxies append to it, and then
only the entry the outermost of them added, counted from the right (primepre.accounts.lockout.client_ip).
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from collections.abc import Callable

import pytest

from tests.test_production import (  # noqa: F401 - fixtures, used by name
    Running,
    database_url,
    free_port,
    get,
    serve,
    server_env,
    sqlite_file,
    start,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _sign_in(port: int, username: str, forwarded_for: str | None) -> int:
    """A wrong password on the API token endpoint (no CSRF to fetch first), with an `X-Forwarded-For` of our choice."""
    headers = {"Content-Type": "application/json"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/api/v1/auth/token/", json.dumps({"username": username, "password": "x"}), headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _addresses(log: str, tag: str) -> set[str]:
    return set(re.findall(rf"\[{re.escape(tag)}\].*? ip=(\S+)", log))


def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(serve: Callable[..., Running]) -> None:  # noqa: F811 - the fixture, imported by name
    server = serve()  # TRUSTED_PROXY_COUNT unset: 0
    names = [f"forged-{uuid.uuid4().hex[:8]}" for _ in range(7)]
    # Seven failures, each under a new forged address (and a new username, so only the address can lock).
    statuses = [_sign_in(server.port, name, f"10.9.9.{n}") for n, name in enumerate(names)]
    assert statuses[:5] == [400, 400, 400, 400, 429], server.log()[-3000:]  # the 5th failure locks 127.0.0.1
    assert statuses[5:] == [429, 429]
    # The locked address adding a header of its choice is still the locked address.
    assert _sign_in(server.port, "someone-else", "10.9.9.9") == 429
    log = server.log()
    assert _addresses(log, "REQUEST") == {"127.0.0.1"}
    assert _addresses(log, "LOGIN-LOCKED") == {"127.0.0.1"}
    assert "10.9.9." not in log


def test_behind_one_trusted_proxy_the_rightmost_entry_is_the_client(serve: Callable[..., Running]) -> None:  # noqa: F811 - the fixture, imported by name
    server = serve(TRUSTED_PROXY_COUNT="1")
    # The proxy appends the address it saw (198.51.100.7) to whatever the client sent (a forged 10.9.9.n).
    statuses = [_sign_in(server.port, f"via-{n}-{uuid.uuid4().hex[:6]}", f"10.9.9.{n}, 198.51.100.7") for n in range(6)]
    assert statuses == [400, 400, 400, 400, 429, 429], server.log()[-3000:]
    assert _sign_in(server.port, "colleague", "203.0.113.20") == 400  # another client through the same proxy
    log = server.log()
    assert _addresses(log, "LOGIN-LOCKED") == {"198.51.100.7"}
    assert _addresses(log, "REQUEST") >= {"198.51.100.7", "203.0.113.20"}
    assert "ip=10.9.9." not in log
    # A request that did not come through the proxy (a health check from inside) is the connection's address.
    assert get(server.port, "/healthz")[0] == 200
    assert "path=/healthz status=200" in server.log() and "ip=127.0.0.1" in server.log()
