"""What the API's `/api/v1/sms/status/` and the SMS page both show: whether SMS is on (and why not), the outbox by
status, the latest failures and what the welcome text costs. One function, so the two can never disagree."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, QuerySet

from primepre.customers.models import Customer

from .backends import BaseBackend, get_backend
from .models import SmsKind, SmsMessage, SmsStatus
from .segments import Segments, count_segments
from .services import EXAMPLE_CUSTOMER, render_welcome


@dataclass(frozen=True)
class SmsOverview:
    backend: BaseBackend
    counts: dict[str, int]  # every status, in SmsStatus's order, zero included: messages to customers only
    tests: int  # texts staff sent to their own phone, counted apart from the customers'
    failures: QuerySet[SmsMessage]  # failed or undelivered, latest first; each caller takes the few it shows
    welcome: str
    welcome_segments: Segments
    rate_per_second: float


def sms_overview() -> SmsOverview:
    """One query for the counts (by status and kind: a few dozen rows at most); `failures` is lazy, so the caller's
    slice is the only rows read."""
    counted: dict[str, int] = {}
    tests = 0
    for status, kind, n in SmsMessage.objects.values_list("status", "kind").annotate(n=Count("id")).order_by():
        if kind == SmsKind.TEST:
            tests += n
        else:
            counted[status] = counted.get(status, 0) + n
    welcome = render_welcome(Customer(**EXAMPLE_CUSTOMER))
    return SmsOverview(
        backend=get_backend(),
        counts={status: counted.get(status, 0) for status in SmsStatus.values},
        tests=tests,
        failures=SmsMessage.objects.filter(status__in=[SmsStatus.FAILED, SmsStatus.UNDELIVERED]).order_by(
            "-updated_at"
        ),
        welcome=welcome,
        welcome_segments=count_segments(welcome),
        rate_per_second=settings.SMS_RATE_PER_SECOND,
    )
