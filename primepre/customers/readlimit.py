"""How often a user without `export_customers` may read the customer directory: CUSTOMER_LIST_RATE_FOR_VIEWERS,
one count per user for the API (list pages and single customers) and the staff pages (list and detail) together,
shared by every process (counted in the database: `primepre.accounts.ratelimit`).

"View" is looking customers up; copying the directory out is what the export permission is for. Over the limit the
API answers 429 `throttled` with `retry_after`, and the pages a 429 page that says when to come back; both send
`Retry-After`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework import throttling

from primepre.accounts.ratelimit import Decision, hit, parse_rate

EXPORT_PERMISSION = "customers.export_customers"
SCOPE = "customer_reads"
logger = logging.getLogger("primepre.customers")


def check_read(user: Any) -> Decision:
    """Count one read of the directory by `user` (exporters are not counted) and say whether it is allowed."""
    rate = parse_rate(getattr(settings, "CUSTOMER_LIST_RATE_FOR_VIEWERS", "600/hour"))
    if rate is None or not user.is_authenticated or user.has_perm(EXPORT_PERMISSION):
        return Decision(True)
    decision = hit(user, SCOPE, rate)
    if not decision.allowed:
        logger.warning("[READ-LIMIT] user=%s scope=%s retry_after=%s", user.pk, SCOPE, decision.retry_after)
    return decision


class ViewerReadThrottle(throttling.BaseThrottle):
    """The API's side of the limit (`list` and `retrieve` of customers)."""

    def __init__(self) -> None:
        self.retry_after: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        if getattr(view, "action", None) not in {"list", "retrieve"}:
            return True
        decision = check_read(request.user)
        self.retry_after = decision.retry_after or None
        return decision.allowed

    def wait(self) -> float | None:
        return self.retry_after


def limit_reads(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The pages' side: a GET over the limit gets the 429 page instead of the view."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET":
            decision = check_read(request.user)
            if not decision.allowed:
                return too_many_reads(request, decision.retry_after)
        return view(request, *args, **kwargs)

    return wrapper


def too_many_reads(request: HttpRequest, retry_after: int) -> HttpResponse:
    retry_at = timezone.localtime() + dt.timedelta(seconds=retry_after)
    minutes = max(1, -(-retry_after // 60))
    context = {"rate": settings.CUSTOMER_LIST_RATE_FOR_VIEWERS, "minutes": minutes, "retry_at": retry_at}
    response = render(request, "customers/too_many_reads.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response
