"""Sign-in lockout (django-axes) on the staff login, the admin login and the API token endpoint: per (username,
address) and per address, the 429 page and JSON with the minutes left, the cool-off, the client address behind
proxies, the `[LOGIN-LOCKED]` line, and no password in any log."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.test.client import RequestFactory

from primepre.accounts.lockout import client_ip

pytestmark = pytest.mark.django_db
PASSWORD = "the-right-password-42"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ama(django_user_model):
    return django_user_model.objects.create_user("ama", password=PASSWORD, is_staff=True, is_superuser=True)


def _login(client: Client, username: str, password: str, ip: str = "203.0.113.7", path: str = "/login/", **extra):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_right_password_is_refused_after_the_failure_limit(client: Client, ama) -> None:
    for _ in range(4):
        assert _login(client, "ama", "wrong-guess").status_code == 200  # the form again, with its error
    locked = _login(client, "ama", "wrong-guess")  # the 5th failure starts the lockout
    assert locked.status_code == 429
    refused = _login(client, "ama", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins; try again in 15 minutes." in refused.content.decode()
    assert 14 * 60 < int(refused["Retry-After"]) <= 15 * 60
    assert not _logged_in(client)


def test_below_the_limit_the_right_password_still_works(client: Client, ama) -> None:
    for _ in range(4):
        _login(client, "ama", "wrong-guess")
    assert _login(client, "ama", PASSWORD).status_code == 302
    assert _logged_in(client)


def test_one_username_attacked_from_many_addresses_is_slowed_not_locked(client: Client, ama) -> None:
    for n in range(5):
        _login(client, "ama", "wrong-guess", ip=f"198.51.100.{n + 1}")
    # A sixth address has never failed: its owner gets in, the answer held back a second (tests/accounts/
    # test_lockout_pairs.py has the rest of the rule).
    response = _login(client, "ama", PASSWORD, ip="198.51.100.99")
    assert response.status_code == 302
    assert response.wsgi_request.sign_in_delay == 1.0
    assert _logged_in(client)


def test_one_address_trying_many_usernames_is_locked(client: Client, ama) -> None:
    for name in ["kofi", "yaw", "efua", "akosua", "kwame"]:
        _login(client, name, "guess", ip="192.0.2.50")
    assert _login(client, "ama", PASSWORD, ip="192.0.2.50").status_code == 429  # that address is paused
    other = Client()
    assert _login(other, "ama", PASSWORD, ip="192.0.2.51").status_code == 302  # ama elsewhere is not
    assert _logged_in(other)


def test_the_admin_login_is_locked_too(client: Client, ama) -> None:
    for _ in range(5):
        _login(client, "ama", "wrong-guess", path="/admin/login/")
    refused = _login(client, "ama", PASSWORD, path="/admin/login/")
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    assert client.get("/admin/").status_code == 302  # still sent to the login page


def test_the_api_token_endpoint_answers_429_json(ama) -> None:
    client = Client()
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/token/", {"username": "ama", "password": "wrong"}, content_type="application/json"
        )
    assert response.status_code == 429
    refused = client.post(
        "/api/v1/auth/token/", {"username": "ama", "password": PASSWORD}, content_type="application/json"
    )
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "too_many_attempts"
    assert body["message"] == "Too many failed sign-ins; try again in 15 minutes."
    assert body["request_id"] == refused["X-Request-ID"]
    assert "token" not in body
    assert 14 * 60 < int(refused["Retry-After"]) <= 15 * 60


def test_failures_on_the_page_and_the_api_count_together(client: Client, ama) -> None:
    for _ in range(3):
        _login(client, "ama", "wrong")
    for _ in range(2):
        client.post("/api/v1/auth/token/", {"username": "ama", "password": "wrong"}, REMOTE_ADDR="203.0.113.7")
    assert _login(client, "ama", PASSWORD).status_code == 429


def test_the_lockout_lifts_after_the_cool_off_and_refusals_do_not_extend_it(client: Client, ama) -> None:
    for _ in range(5):
        _login(client, "ama", "wrong")
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    refused = _login(client, "ama", PASSWORD)
    assert "try again in 5 minutes" in refused.content.decode()  # the refusal did not restart the clock
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    assert _login(client, "ama", PASSWORD).status_code == 302


def test_limit_and_cool_off_are_settings(client: Client, ama, settings) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=3)
    _login(client, "ama", "wrong")
    assert _login(client, "ama", "wrong").status_code == 429
    assert "try again in 3 minutes" in _login(client, "ama", PASSWORD).content.decode()


def test_settings_read_the_environment() -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 50,
        "LOGIN_FAILURE_LIMIT": "8",
        "LOGIN_COOLOFF_MINUTES": "30",
        "API_TOKEN_TTL_HOURS": "12",
        "TRUSTED_PROXY_COUNT": "1",
    }
    code = (
        "from config import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME, s.API_TOKEN_TTL_HOURS, s.TRUSTED_PROXY_COUNT, "
        "s.AXES_LOCKOUT_PARAMETERS, s.AUTHENTICATION_BACKENDS[0], s.MIDDLEWARE[-1])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "8",
        "0:30:00",
        "12",
        "1",
        "[['username',",
        "'ip_address'],",
        "'ip_address']",
        "axes.backends.AxesStandaloneBackend",
        "axes.middleware.AxesMiddleware",
    ]
    env["API_TOKEN_TTL_HOURS"] = "0"
    refused = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "API_TOKEN_TTL_HOURS must be at least 1" in refused.stderr


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(client: Client, ama) -> None:
    for n in range(5):
        _login(client, f"user{n}", "guess", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    assert _login(client, "ama", PASSWORD, HTTP_X_FORWARDED_FOR="10.9.9.200").status_code == 429


def test_behind_a_trusted_proxy_clients_are_told_apart(settings, ama) -> None:
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    attacker = Client()
    for n in range(5):
        # The attacker forges a leading entry; the proxy appends the address it really saw.
        _login(attacker, f"user{n}", "guess", ip=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 198.51.100.66")
    assert _login(attacker, "ama", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="1.2.3.9, 198.51.100.66").status_code == 429
    colleague = Client()  # same proxy, another client address: not locked out by the attacker
    assert _login(colleague, "ama", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.20").status_code == 302


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "10.0.0.2"),  # no proxy trusted: the header is ignored
        (1, "1.1.1.1, 203.0.113.9", "203.0.113.9"),
        (2, "1.1.1.1, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        (2, "203.0.113.9", "10.0.0.2"),  # fewer hops than proxies: not through them all
        (1, "not-an-address", "10.0.0.2"),
        (1, "", "10.0.0.2"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip(settings, trusted: int, forwarded: str, expected: str) -> None:
    settings.TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_drf_throttles_name_a_client_by_the_same_rule(settings) -> None:
    """DRF's anonymous throttles believed a whole X-Forwarded-For unless told how many proxies there are."""
    from rest_framework.request import Request
    from rest_framework.throttling import AnonRateThrottle

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT == 0
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9")
    assert AnonRateThrottle().get_ident(Request(request)) == client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert AnonRateThrottle().get_ident(Request(request)) == client_ip(request) == "203.0.113.9"


def test_lockouts_are_logged_without_passwords(client: Client, ama, caplog) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(5):
        _login(client, "ama", "hunter2-wrong")
    _login(client, "ama", PASSWORD)
    locked = [record.getMessage() for record in caplog.records if "[LOGIN-LOCKED]" in record.getMessage()]
    assert len(locked) == 2
    assert locked[0].startswith("[LOGIN-LOCKED] user=ama ip=203.0.113.7 path=/login/ event=start failures=5")
    assert locked[1].startswith("[LOGIN-LOCKED] user=ama ip=203.0.113.7 path=/login/ event=refused")
    assert all(record.levelno == logging.WARNING for record in caplog.records if "[LOGIN-LOCKED]" in record.msg)
    everything = caplog.text + "".join(str(row) for row in AccessAttempt.objects.values())
    assert "hunter2-wrong" not in everything and PASSWORD not in everything


def test_a_username_with_control_characters_stays_on_one_log_line(client: Client, caplog) -> None:
    caplog.set_level(logging.WARNING)
    for _ in range(5):
        _login(client, "evil\nuser=admin", "x")
    (line,) = [record.getMessage() for record in caplog.records if "[LOGIN-LOCKED]" in record.getMessage()]
    assert "\n" not in line and line.startswith("[LOGIN-LOCKED] user=evil?user=admin ip=")


def test_force_login_and_the_real_form_still_work(client: Client, ama) -> None:
    client.force_login(ama)
    assert client.get("/").status_code == 200
    fresh = Client()
    assert _login(fresh, "ama", PASSWORD).status_code == 302
    assert fresh.get("/").status_code == 200


def test_any_other_api_sign_in_that_axes_refuses_gets_the_json_shape(ama) -> None:
    from django.http import HttpResponse

    from primepre.accounts.lockout import lockout_response

    request = RequestFactory().post("/api/v1/some-other-login/", REMOTE_ADDR="203.0.113.7")
    request.request_id = "req-12345678"
    response = lockout_response(request, HttpResponse(status=400), {"username": "ama"})
    assert response.status_code == 429 and response["Retry-After"] == str(15 * 60)
    assert json.loads(response.content) == {
        "code": "too_many_attempts",
        "message": "Too many failed sign-ins; try again in 15 minutes.",
        "request_id": "req-12345678",
    }
