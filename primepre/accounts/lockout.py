"""Sign-in lockout (django-axes) and slowdown: the client's address (the one rule for it), whose failures lock
whom, how long a lockout has left, what a locked out client sees, and the `[LOGIN-LOCKED]` / `[LOGIN-SLOWED]` lines.

Axes locks a (username, address) pair and an address after LOGIN_FAILURE_LIMIT failures (`AXES_LOCKOUT_PARAMETERS`),
never a username alone: that let anyone lock the administrator out from everywhere with five wrong passwords. A
username attacked from many addresses is slowed down instead (`sign_in_delay`): each answer to a sign-in with it
waits a little longer, up to LOGIN_SLOWDOWN_MAX_SECONDS, in the event loop (config/server.py), not in a thread; the
owner signing in from an address they signed in from before (`remember_address`) does not wait.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt, AccessLog
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import Max, Sum
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from primepre.common.errors import error_body

logger = logging.getLogger("primepre.accounts")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: what a failed sign-in counts against (`AXES_CLIENT_IP_CALLABLE`), what the `[REQUEST]`
    and `[LOGIN-*]` lines say. The one place that decides it (config/server.py turns uvicorn's own rewriting off)."""
    return client_address(
        request.META.get("REMOTE_ADDR") or None,
        request.META.get("HTTP_X_FORWARDED_FOR", ""),
        settings.TRUSTED_PROXY_COUNT,
    )


def client_address(remote: str | None, forwarded_for: str, trusted: int) -> str | None:
    """`remote` (the address the connection came from), unless `trusted` proxies stand in front of the app, each
    appending the address it was called from to `X-Forwarded-For`: then the entry the outermost of them added,
    counted from the right. Everything left of it is whatever the client chose to send, so trusting it would let an
    attacker pick a fresh address for every guess.
    """
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    if len(hops) < trusted:
        return remote  # did not come through every proxy (an internal health check, a misconfiguration)
    try:
        return str(ipaddress.ip_address(hops[-trusted]))
    except ValueError:
        return remote


def time_left(request: HttpRequest, credentials: dict[str, Any] | None = None) -> dt.timedelta:
    """How long until this client may try again: the cool-off counted from the newest failure that locks it (an
    upper bound: the lockout lifts earlier if older failures age out first and the rest stay under the limit)."""
    cool_off = get_cool_off(request) or dt.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)
    AxesProxyHandler.update_request(request)
    newest = [
        attempts.aggregate(newest=Max("attempt_time"))["newest"]
        for attempts in AxesDatabaseHandler().get_user_attempts(request, credentials)
    ]
    newest = [moment for moment in newest if moment is not None]
    if not newest:
        return cool_off
    return max(max(newest) + cool_off - timezone.now(), dt.timedelta(0))


def lockout_message(left: dt.timedelta) -> str:
    minutes = max(1, math.ceil(left.total_seconds() / 60))
    return f"Too many failed sign-ins; try again in {minutes} minute{'' if minutes == 1 else 's'}."


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """What a locked-out client gets (`AXES_LOCKOUT_CALLABLE`): 429 with the time left, as JSON under /api/ and as
    a page elsewhere (the staff login, the admin login). A view that already answered 429 keeps its own answer."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    left = time_left(request, credentials)
    message = lockout_message(left)
    retry_after = str(max(1, math.ceil(left.total_seconds())))
    if request.path.startswith("/api/"):
        body = error_body("too_many_attempts", message, request_id=getattr(request, "request_id", None))
        response: HttpResponse = JsonResponse(body, status=429)
    else:
        response = render(request, "web/lockout.html", {"message": message}, status=429)
    response["Retry-After"] = retry_after
    return response


def _printable(value: Any) -> str:
    """A username as typed can hold anything: keep the log line one line and bounded."""
    text = "" if value is None else str(value)
    return "".join(char if char.isprintable() else "?" for char in text[:150]) or "-"


@receiver(user_locked_out)
def log_lockout(sender: Any, request: HttpRequest, username: Any, ip_address: Any, **kwargs: Any) -> None:
    """One warning when a lockout starts (`event=start`, with the failure count) and for each attempt refused during
    it (`event=refused`). Axes hands us the credentials without the password; we never log it."""
    failures = getattr(request, "axes_failures_since_start", None)
    logger.warning(
        "[LOGIN-LOCKED] user=%s ip=%s path=%s event=%s failures=%s",
        _printable(username),
        ip_address or "-",
        getattr(request, "path", "-"),
        "refused" if failures is None else "start",
        failures if failures is not None else "-",
    )


# --- slowing down a username under attack -------------------------------------------------------------------------

# The scope key config/server.py's PacedAnswers reads (`ANSWER_DELAY_KEY` there; not imported, so Django processes
# that never serve, like the import worker, do not load the web server).
ANSWER_DELAY_KEY = "primepre.answer_delay"
# An address the owner signed in from within this long is theirs: failures from elsewhere do not slow them there.
KNOWN_ADDRESS_DAYS = 90


def username_failures(request: HttpRequest, username: str) -> int:
    """Failures for this username from every address within the cool-off (axes keeps one row per address)."""
    since = timezone.now() - (get_cool_off(request) or dt.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES))
    rows = AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
    return rows.aggregate(total=Sum("failures_since_start"))["total"] or 0


def is_known_address(username: str, ip: str | None) -> bool:
    if ip is None:
        return False
    since = timezone.now() - dt.timedelta(days=KNOWN_ADDRESS_DAYS)
    return AccessLog.objects.filter(username=username, ip_address=ip, attempt_time__gte=since).exists()


def sign_in_delay(request: HttpRequest, username: str | None) -> tuple[float, int]:
    """Seconds the answer to this sign-in waits, and the username's failures: none below LOGIN_FAILURE_LIMIT, then 1 s
    doubling with each failure up to LOGIN_SLOWDOWN_MAX_SECONDS; none from an address the owner signed in from."""
    if not username:
        return 0.0, 0
    failures = username_failures(request, username)
    over = failures - settings.AXES_FAILURE_LIMIT
    if over < 0 or is_known_address(username, client_ip(request)):
        return 0.0, failures
    return float(min(settings.LOGIN_SLOWDOWN_MAX_SECONDS, 2 ** min(over, 30))), failures


def _pace(request: HttpRequest | None, username: str | None) -> None:
    """Ask the web server to hold this sign-in's answer back (`request.scope`, read by config/server.py once Django
    has answered). Under WSGI (tests, `runserver`) there is no scope: the delay is only recorded on the request."""
    if request is None or getattr(request, "axes_locked_out", False):
        return  # refused without a password check: nothing to slow down
    delay, failures = sign_in_delay(request, username)
    if delay <= 0:
        return
    request.sign_in_delay = delay  # type: ignore[attr-defined]
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict):
        scope[ANSWER_DELAY_KEY] = delay
    logger.info(
        "[LOGIN-SLOWED] user=%s ip=%s path=%s failures=%s seconds=%g",
        _printable(username),
        client_ip(request) or "-",
        getattr(request, "path", "-"),
        failures,
        delay,
    )


@receiver(user_login_failed)
def slow_down_failure(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any) -> None:
    # Connected after axes' own receiver (axes comes first in INSTALLED_APPS): this failure is counted already.
    _pace(request, credentials.get("username"))


@receiver(user_logged_in)
def remember_address(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """A password sign-in: its answer is paced like a failure's (a fast success would tell an attacker which guess
    was right), then its address is remembered as the owner's, one row per (username, address) in axes' access log
    (axes' own log, off, adds a row and a session per sign-in)."""
    ip = client_ip(request) if request is not None and hasattr(request, "META") else None
    if ip is None:
        return  # force_login and the like: no client
    username = user.get_username()
    _pace(request, username)
    now = timezone.now()
    details = {
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255],
        "http_accept": request.META.get("HTTP_ACCEPT", "")[:1025],
        "path_info": request.path[:255],
    }
    if not AccessLog.objects.filter(username=username, ip_address=ip).update(attempt_time=now, **details):
        AccessLog.objects.create(username=username, ip_address=ip, **details)
    AccessLog.objects.filter(username=username, attempt_time__lt=now - dt.timedelta(days=KNOWN_ADDRESS_DAYS)).delete()
