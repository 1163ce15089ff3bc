"""Who a sign-in failure locks (issue #23): a (username, address) pair and an address, never a username everywhere.
Five anonymous wrong passwords for `admin` used to lock the administrator out from every address, renewable for
ever. A username failing from many addresses is slowed down instead: each answer waits 1 s, doubling per failure up
to LOGIN_SLOWDOWN_MAX_SECONDS, in the event loop (config/server.py's PacedAnswers), and not at an address its owner
has signed in from before."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt, AccessLog
from django.test import Client

from config import server
from config.asgi_handler import Handler, RequestGuard
from primepre.accounts import lockout

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-password-42"
OWNER_HOME = "203.0.113.7"


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_user("admin", password=PASSWORD, is_staff=True, is_superuser=True)


def _login(username: str, password: str, ip: str, path: str = "/login/") -> Any:
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _fail_from_many_addresses(username: str, count: int, first: int = 1) -> list[Any]:
    return [_login(username, "wrong-guess", f"198.51.100.{n}") for n in range(first, first + count)]


def _delay(response: Any) -> float:
    return getattr(response.wsgi_request, "sign_in_delay", 0.0)


def test_anonymous_failures_for_admin_do_not_lock_the_administrator_out(admin) -> None:
    for _ in range(5):  # one attacker, one address: that address is stopped
        _login("admin", "wrong-guess", "192.0.2.66")
    assert _login("admin", PASSWORD, "192.0.2.66").status_code == 429
    assert _login("admin", PASSWORD, OWNER_HOME).status_code == 302  # the administrator, elsewhere, is not

    for response in _fail_from_many_addresses("admin", 7):  # seven addresses, one guess each: none locked
        assert response.status_code == 200
    assert _login("admin", PASSWORD, "203.0.113.99").status_code == 302  # a new address: slowed, not refused


def test_the_pair_and_the_address_are_locked_not_the_username(admin, django_user_model) -> None:
    django_user_model.objects.create_user("kofi", password=PASSWORD)
    for _ in range(5):
        _login("admin", "wrong-guess", "192.0.2.10")
    assert _login("admin", PASSWORD, "192.0.2.10").status_code == 429  # the pair
    assert _login("kofi", PASSWORD, "192.0.2.10").status_code == 429  # the address, whatever the username
    assert _login("admin", PASSWORD, "192.0.2.11").status_code == 302  # the username elsewhere
    rows = AccessAttempt.objects.values_list("username", "ip_address", "failures_since_start")
    assert list(rows) == [("admin", "192.0.2.10", 5)]


def test_a_username_under_attack_waits_longer_per_failure_up_to_the_bound(admin, settings) -> None:
    settings.LOGIN_SLOWDOWN_MAX_SECONDS = 16
    delays = [_delay(response) for response in _fail_from_many_addresses("admin", 11)]
    # Below the limit nothing; the limit's failure 1 s, then doubling, then the bound.
    assert delays == [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 16.0, 16.0]
    assert all(response.status_code == 200 for response in _fail_from_many_addresses("admin", 3, first=100))
    success = _login("admin", PASSWORD, "203.0.113.50")
    assert success.status_code == 302 and _delay(success) == 16.0  # a right password waits as long: no tell


def test_the_owner_at_an_address_they_signed_in_from_is_not_slowed(admin, caplog) -> None:
    assert _login("admin", PASSWORD, OWNER_HOME).status_code == 302
    _fail_from_many_addresses("admin", 8)
    caplog.set_level(logging.INFO, logger="primepre.accounts")
    caplog.clear()

    at_home = _login("admin", PASSWORD, OWNER_HOME)
    assert at_home.status_code == 302 and _delay(at_home) == 0.0
    elsewhere = _login("admin", PASSWORD, "203.0.113.8")
    assert elsewhere.status_code == 302 and _delay(elsewhere) == 8.0  # 8 failures: 1 s doubled three times
    lines = [record.getMessage() for record in caplog.records if "[LOGIN-SLOWED]" in record.getMessage()]
    assert lines == ["[LOGIN-SLOWED] user=admin ip=203.0.113.8 path=/login/ failures=8 seconds=8"]


def test_a_typo_at_home_counts_like_any_failure_but_home_still_gets_in(admin) -> None:
    _login("admin", PASSWORD, OWNER_HOME)
    _fail_from_many_addresses("admin", 4)
    typo = _login("admin", "wrong-guess", OWNER_HOME)  # the fifth failure of the username, at home: not slowed
    assert typo.status_code == 200 and _delay(typo) == 0.0
    assert _login("admin", PASSWORD, OWNER_HOME).status_code == 302


def test_an_address_is_known_for_90_days_one_row_per_address(admin) -> None:
    for _ in range(3):
        assert _login("admin", PASSWORD, OWNER_HOME).status_code == 302
    assert AccessLog.objects.filter(username="admin").count() == 1
    assert AccessLog.objects.get().session_hash == ""  # no session made for the record's sake
    AccessLog.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=91))
    _fail_from_many_addresses("admin", 5)
    assert _delay(_login("admin", PASSWORD, OWNER_HOME)) == 1.0  # forgotten: slowed like anyone
    assert AccessLog.objects.filter(username="admin").count() == 1  # and the stale row replaced


def test_a_refused_attempt_is_answered_at_once(admin) -> None:
    for _ in range(5):
        _login("admin", "wrong-guess", "192.0.2.66")
    _fail_from_many_addresses("admin", 5)
    refused = _login("admin", PASSWORD, "192.0.2.66")
    assert refused.status_code == 429 and _delay(refused) == 0.0  # no password was checked: nothing to hide


def test_the_api_token_endpoint_is_slowed_the_same_way(admin) -> None:
    _fail_from_many_addresses("admin", 6)
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": "admin", "password": PASSWORD},
        content_type="application/json",
        REMOTE_ADDR="203.0.113.60",
    )
    assert response.status_code == 200 and "token" in response.json()
    assert _delay(response) == 2.0  # 6 failures: 1 s doubled once


# --- the wait is in the event loop --------------------------------------------------------------------------------


def _scope(method: str, path: str, body: bytes = b"", client: str = "203.0.113.9") -> dict[str, Any]:
    headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": headers,
        "query_string": b"",
        "client": (client, 50000),
    }


async def _call(app: Any, scope: dict[str, Any], body: bytes = b"") -> tuple[int, bytes]:
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.get_running_loop().create_future()  # the client waits for its answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the handler closes connections, as live
def test_a_slowed_answer_waits_in_the_event_loop_holding_no_request_slot(admin) -> None:
    """One request slot (WEB_MAX_ACTIVE_REQUESTS=1): while a slowed sign-in's answer waits its second, /healthz is
    answered at once; a wait in Django's thread would have held the slot."""
    for n in range(5):
        AccessAttempt.objects.create(
            username="admin", ip_address=f"198.51.100.{n}", user_agent="", failures_since_start=1
        )
    answered = asyncio.Event()

    def spy(app: Any) -> Any:  # between Django and PacedAnswers: when Django's answer is ready
        async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
            async def spied(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start" and scope["path"].endswith("/token/"):
                    answered.set()
                await send(message)

            await app(scope, receive, spied)

        return wrapped

    app = server.PacedAnswers(spy(RequestGuard(Handler(max_active=1))))
    body = json.dumps({"username": "admin", "password": PASSWORD}).encode()

    async def scenario() -> tuple[float, float, int, int]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        sign_in = asyncio.create_task(_call(app, _scope("POST", "/api/v1/auth/token/", body), body))
        await asyncio.wait_for(answered.wait(), 10)
        asked = loop.time()
        health, _ = await _call(app, _scope("GET", "/healthz"))
        health_seconds = loop.time() - asked
        status, _ = await sign_in
        return health_seconds, loop.time() - started, health, status

    health_seconds, sign_in_seconds, health, status = async_to_sync(scenario)()
    assert (health, status) == (200, 200)
    assert health_seconds < 0.5, f"/healthz took {health_seconds:.2f} s behind a slowed sign-in"
    assert sign_in_seconds >= 1.0  # 5 failures: the answer waited 1 s


def test_the_scope_key_is_the_one_the_server_reads() -> None:
    assert lockout.ANSWER_DELAY_KEY == server.ANSWER_DELAY_KEY
