"""Sign-in lockout (django-axes): whose address a failure counts against, how long a lockout has left, what a locked
out client sees, and the `[LOGIN-LOCKED]` log line.

Axes counts failures per username and per client address separately (settings `AXES_LOCKOUT_PARAMETERS`), so both a
password sprayed over many usernames from one address and one username attacked from many addresses are stopped.
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
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Max
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from primepre.common.errors import error_body

logger = logging.getLogger("primepre.accounts")


def client_ip(request: HttpRequest) -> str | None:
    """The address a failed sign-in counts against (`AXES_CLIENT_IP_CALLABLE`).

    `REMOTE_ADDR`, unless `TRUSTED_PROXY_COUNT` proxies stand in front of the app, each appending the address it was
    called from to `X-Forwarded-For`: then the entry the outermost of them added, counted from the right. Everything
    left of it is whatever the client chose to send, so trusting it would let an attacker pick a fresh address for
    every guess.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
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
