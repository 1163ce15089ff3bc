"""SMS's web endpoints: the staff pages (the overview with its retry button, and sending to the customers of a list
filter once their count is confirmed) and Twilio's delivery receipts.

Twilio's callback checks the signature with the twilio library's validator over the exact URL Twilio called;
anything unsigned or signed with another token is refused with 403."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from primepre.common.refusals import page_requires
from primepre.customers.filters import page_filter
from primepre.customers.models import Customer

from .api import body_too_long
from .backends import get_backend
from .models import SmsKind, SmsMessage, SmsStatus
from .preview import PLACEHOLDER_LABELS, longest_segments, longest_values, uses_placeholders
from .segments import count_segments
from .selectors import sms_overview
from .services import (
    TEXT_PLACEHOLDERS,
    SendToSelfRefused,
    placeholder_problem,
    record_delivery_status,
    retry_message,
    send_test,
    send_text,
)

logger = logging.getLogger("primepre.sms")
FAILURES_SHOWN = 20


@login_required
@page_requires("customers.send_sms")
def sms_page(request: HttpRequest) -> HttpResponse:
    """SMS at a glance: on or off (and why), counts, recent failures with a retry, the welcome text and its segments."""
    if request.method == "POST" and request.POST.get("retry", "").isdigit():
        if retry_message(int(request.POST["retry"])):
            messages.success(request, "The message is queued again.")
        return redirect("sms:overview")
    overview = sms_overview()
    return render(
        request,
        "sms/overview.html",
        {
            "backend": overview.backend,
            "counts": [(label, overview.counts[value]) for value, label in SmsStatus.choices],
            "tests": overview.tests,
            "failures": overview.failures[:FAILURES_SHOWN],
            "welcome": overview.welcome,
            "welcome_segments": overview.welcome_segments,
            "rate": overview.rate_per_second,
        },
    )


OUTBOX_PAGE_SIZE = 50


@login_required
@page_requires("customers.send_sms")
def sms_outbox(request: HttpRequest) -> HttpResponse:
    """Every message, newest first, by status and kind (and one customer's, from their page): what was sent to whom,
    and why one failed."""
    outbox = SmsMessage.objects.select_related("customer", "staff_user").order_by("-created_at", "-id")
    status, kind = request.GET.get("status", ""), request.GET.get("kind", "")
    if status in SmsStatus.values:
        outbox = outbox.filter(status=status)
    if kind in SmsKind.values:
        outbox = outbox.filter(kind=kind)
    customer_id = request.GET.get("customer", "")  # ASCII digits only, and never past a bigint
    customer = Customer.objects.filter(pk=customer_id).first() if re.fullmatch(r"[0-9]{1,18}", customer_id) else None
    if customer is not None:
        outbox = outbox.filter(customer=customer)
    page = Paginator(outbox, OUTBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "kind": kind, "statuses": SmsStatus.choices, "kinds": SmsKind.choices}
    context["customer"] = customer
    return render(request, "sms/outbox.html", context)


def checked_text(body: str) -> str:
    """A fingerprint of the text whose count and segments the page showed: a send goes out only with the same text."""
    return hashlib.sha256(body.encode()).hexdigest()[:16]


@login_required
@page_requires("customers.send_sms")
def sms_send(request: HttpRequest) -> HttpResponse:
    """A text to the customers of the current list filter (or one customer): see the count, then confirm it; or
    first send it to yourself ("Send a test to my phone"), filled in for the first recipient."""
    filterset, _ = page_filter(request)
    recipients = filterset.qs if filterset.is_valid() else Customer.objects.none()
    count = recipients.count()
    body = request.POST.get("body", "").strip()
    error = body_too_long(body) or placeholder_problem(body)  # the API's rules: nothing is queued, the page says why
    test = None
    if request.method == "POST" and request.POST.get("test_send"):
        test = _send_test(request, body, error, recipients)
    elif request.method == "POST" and body and not error and count and _confirmed(request, body, count):
        if not get_backend().enabled:
            messages.error(request, f"SMS is off: {get_backend().reason}.")
        else:
            queued = send_text(recipients, body, sender_id=request.user.pk)
            said = f"{queued:,} message{pluralize(queued)} queued; {'it goes' if queued == 1 else 'they go'} out"
            messages.success(request, f"{said} at {settings.SMS_RATE_PER_SECOND:g}/s.")
            return redirect("sms:overview")
    return render(
        request,
        "sms/send.html",
        {
            "count": count,
            "body": body,
            **_composer(body, error, recipients),
            "query": request.GET.urlencode(),
            "enabled": get_backend().enabled,
            "error": error,
            "filter_errors": filterset.errors,
            "max_length": settings.SMS_MAX_LENGTH,
            "checked_text": checked_text(body),
            "recipients": filterset.describe(),
            "test": test,
            "my_phone": request.user.phone,
            "test_nonce": secrets.token_hex(8),  # a new one per page: one test per click, however often it is posted
            "account_url": f"{reverse('web:account')}?{urlencode({'next': request.get_full_path()})}",
        },
    )


def _composer(body: str, error: str | None, recipients: QuerySet[Customer]) -> dict[str, Any]:
    """The placeholders (each with its longest value among the recipients, for the buttons and the live preview) and
    the count of the text as the longest recipient gets it: the text itself when it has no placeholder."""
    longest = longest_values(recipients)
    placeholders = [
        {"token": "{" + name + "}", "label": PLACEHOLDER_LABELS[name], "longest": longest[name]}
        for name in TEXT_PLACEHOLDERS
    ]
    filled = uses_placeholders(body) and not error  # a text that cannot be filled in is counted as typed
    preview, segments = longest_segments(body, longest) if filled else (body, count_segments(body))
    return {
        "placeholders": placeholders,
        "segments": segments if body else None,
        "preview": preview if filled else "",  # shown only when it differs from the text as typed
    }


def _confirmed(request: HttpRequest, body: str, count: int) -> bool:
    """The page showed this count and this text's segments, and the user pressed Send (not Check again)."""
    return (
        request.POST.get("confirm_recipients") == str(count)
        and request.POST.get("checked_text") == checked_text(body)
        and not request.POST.get("recheck")
    )


@dataclass(frozen=True)
class SelfTestOutcome:
    """What the page says after "Send a test to my phone": the queued message, or why not (`code` picks a link)."""

    message: SmsMessage | None = None
    refusal: str = ""
    code: str = ""
    sample: str = ""  # whose values filled the placeholders


TEST_NONCE = re.compile(r"^[0-9a-f]{16}$")


def _send_test(request: HttpRequest, body: str, error: str | None, recipients: QuerySet[Customer]) -> SelfTestOutcome:
    """The current text, filled in for the first recipient (the first the send would reach), to the user's phone."""
    if not body:
        return SelfTestOutcome(refusal="Write the text first.", code="no_text")
    if error:
        return SelfTestOutcome(refusal="the text cannot be sent as it is (see above).", code="invalid_text")
    nonce = request.POST.get("test_nonce", "")
    if not TEST_NONCE.match(nonce):
        return SelfTestOutcome(refusal="The form is out of date: reload the page and try again.", code="bad_form")
    sample = recipients.order_by("pk").first()
    try:
        message = send_test(request.user, body, sample, nonce=nonce)
    except SendToSelfRefused as refused:
        return SelfTestOutcome(refusal=refused.message, code=refused.code)
    if message.status in (SmsStatus.FAILED, SmsStatus.UNDELIVERED):  # the provider refused it already (a fast drain)
        return SelfTestOutcome(refusal=f"{message.error_message} ({message.error_code})", code="provider")
    who = f"{sample.shipping_mark} ({sample.full_name})" if sample else "an example customer (the list is empty)"
    return SelfTestOutcome(message=message, sample=who)


@csrf_exempt
@require_POST
def twilio_status_callback(request: HttpRequest) -> HttpResponse:
    signature = request.headers.get("X-Twilio-Signature", "")
    url = settings.SMS_STATUS_CALLBACK_URL or request.build_absolute_uri()
    params = request.POST.dict()
    if not settings.TWILIO_AUTH_TOKEN or not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
        url, params, signature
    ):
        logger.warning("[SMS-CALLBACK-REFUSED] reason=bad signature")
        return JsonResponse({"code": "bad_signature", "message": "The request is not signed by Twilio."}, status=403)
    known = record_delivery_status(
        params.get("MessageSid", ""), params.get("MessageStatus", ""), params.get("ErrorCode", "")
    )
    return HttpResponse(status=204 if known else 202)
