"""Queueing and sending SMS. Queueing is a bulk insert keyed for idempotency; sending is one drain task at a time
(the throttle row's lock), at `SMS_RATE_PER_SECOND`, with exponential backoff on temporary errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import string
import time
from collections.abc import Iterable
from itertools import islice
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from primepre.common.phonemask import mask_phone
from primepre.customers.models import Customer

from .backends import PermanentSmsError, TemporarySmsError, get_backend
from .models import COUNTRY_NOT_ALLOWED, SmsKind, SmsMessage, SmsStatus, SmsThrottle
from .segments import count_segments

logger = logging.getLogger("primepre.sms")


class _SafeFormat(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_welcome(customer: Customer) -> str:
    return settings.SMS_WELCOME_TEMPLATE.format_map(_SafeFormat(_customer_values(customer)))


# What a text to customers may say per recipient: the same names as the welcome template.
TEXT_PLACEHOLDERS = ("first_name", "last_name", "shipping_mark", "company")


def placeholder_problem(body: str) -> str | None:
    """Why `body` cannot be filled in per recipient (an unknown `{name}`, a stray brace), or None. A text is checked
    before anything is queued, so a customer never receives `{frist_name}` literally."""
    try:
        names = [name for _, name, spec, conversion in string.Formatter().parse(body) if name is not None]
    except ValueError:
        return "A brace { or } must enclose a placeholder such as {first_name}; write {{ or }} for the character."
    unknown = sorted({name for name in names if name not in TEXT_PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in TEXT_PLACEHOLDERS)
        return f"Unknown placeholder {', '.join('{' + n + '}' for n in unknown)}: use {allowed}."
    return None


def render_text(body: str, customer: Customer) -> str:
    """`body` with each placeholder filled in for `customer` (checked first with `placeholder_problem`)."""
    if "{" not in body and "}" not in body:
        return body
    return body.format_map(_customer_values(customer))


def _customer_values(customer: Customer) -> dict[str, str]:
    return {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "shipping_mark": customer.shipping_mark,
        "company": customer.company_name or customer.full_name,
    }


def sms_enabled() -> bool:
    return get_backend().enabled


def sms_unavailable(user: Any) -> str:
    """Why `user` cannot send SMS right now, in words for a greyed-out option ("" when they can)."""
    if not sms_enabled():
        return "SMS is off"
    if not user.has_perm("customers.send_sms"):
        return "your role may not send SMS"
    return ""


def country_refusal(phone: str) -> str:
    """Why `phone` may not be texted ("" when it may): its country is not in `SMS_ALLOWED_COUNTRIES`. Checked when a
    message is queued and again just before it is sent, so a setting narrowed since also holds for the queue."""
    reason = country_not_allowed(phone)
    return f"Not sent: {reason}" if reason else ""


def country_not_allowed(phone: str) -> str:
    """ "its country (GB) is not in SMS_ALLOWED_COUNTRIES (GH)." for a number SMS may not reach, "" for one it may:
    the account page warns with it when a staff user saves such a phone."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        region = None
    allowed = settings.SMS_ALLOWED_COUNTRIES
    if region and region in allowed:
        return ""
    where = f"its country ({region})" if region else "its country (unknown)"
    return f"{where} is not in SMS_ALLOWED_COUNTRIES ({', '.join(allowed) or 'none'})."


def queue_welcome_messages(customers: Iterable[Customer]) -> int:
    """One welcome per customer, ever (the key is the customer's, not the import's). Returns how many were new."""
    if not sms_enabled():
        return 0
    iterator = iter(customers)
    queued = 0
    while chunk := list(islice(iterator, 2000)):
        queued += _queue_welcome_chunk(chunk)
    return queued


def _queue_welcome_chunk(customers: list[Customer]) -> int:
    messages = []
    for customer in customers:
        messages.append(
            new_message(customer, render_welcome(customer), kind=SmsKind.WELCOME, key=f"welcome:{customer.pk}")
        )
    return _queue(messages)


def queue_message(customers: Iterable[Customer], body: str, *, key: str, kind: str = SmsKind.ONE_OFF) -> int:
    """The same text to each customer; `key` names this send (a retried request with the same key sends nothing)."""
    if not sms_enabled():
        return 0
    problem = placeholder_problem(body)
    if problem:
        raise ValueError(problem)
    messages = []
    for customer in customers:
        messages.append(
            new_message(customer, render_text(body, customer), kind=kind, key=f"{kind}:{key}:{customer.pk}")
        )
    return _queue(messages)


def new_message(customer: Customer | None, body: str, *, kind: str, key: str, to_staff: Any = None) -> SmsMessage:
    """An outbox row for `customer` (not saved): its text's encoding and segments counted, under the idempotency `key`
    that makes sending it twice impossible. Every kind of message is built here; `queue_prepared` queues them. A
    test goes `to_staff` (a user, to their own phone) instead of a customer."""
    segments = count_segments(body)
    return SmsMessage(
        customer=customer,
        staff_user=to_staff,
        phone=to_staff.phone if to_staff is not None else customer.phone,
        kind=kind,
        body=body,
        encoding=segments.encoding,
        segments=segments.count,
        idempotency_key=key[:120],
    )


def queue_prepared(messages: Iterable[SmsMessage]) -> int:
    """Queue messages another app built (its own kind, body and idempotency key) through the outbox's one insert:
    keys already spent are skipped, countries outside `SMS_ALLOWED_COUNTRIES` are failed, the drain starts after the
    commit. Returns how many will be sent."""
    return _queue(list(messages))


def _queue(messages: list[SmsMessage]) -> int:
    """Insert the messages not queued before (by key) and return how many of them will be sent. A message to a
    country outside `SMS_ALLOWED_COUNTRIES` is stored already failed (`country_not_allowed`), so it shows in the
    outbox and its key is spent, but it never reaches the drain."""
    if not messages:
        return 0
    keys = [message.idempotency_key for message in messages]
    existing = set(SmsMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    refused = [message for message in messages if message.idempotency_key not in existing and _refuse_new(message)]
    SmsMessage.objects.bulk_create(messages, batch_size=1000, ignore_conflicts=True)
    new = SmsMessage.objects.filter(idempotency_key__in=keys).count() - len(existing) - len(refused)
    logger.info("[SMS-QUEUED] messages=%s already_queued=%s refused=%s", new, len(existing), len(refused))
    if new > 0:
        from .tasks import drain_outbox

        transaction.on_commit(lambda: drain_outbox.enqueue())
    return new


def _refuse_new(message: SmsMessage) -> bool:
    """Mark a message not yet saved as failed when its country is not allowed; True if it was."""
    reason = country_refusal(message.phone)
    if not reason:
        return False
    message.status, message.error_code, message.error_message = SmsStatus.FAILED, COUNTRY_NOT_ALLOWED, reason
    logger.warning(
        "[SMS-FAIL] message=- to=%s kind=%s code=%s reason=%s", mask_phone(message.phone), message.kind,
        COUNTRY_NOT_ALLOWED, reason,
    )  # fmt: skip
    return True


def _refuse_queued(message: SmsMessage, reason: str) -> bool:
    """Fail a queued message whose country is not allowed (any more), without sending it.

    Concurrency: one UPDATE that matches only while the message is still `queued`, so a message another drain has
    claimed or sent is never overwritten; False then."""
    refused = SmsMessage.objects.filter(pk=message.pk, status=SmsStatus.QUEUED).update(
        status=SmsStatus.FAILED, error_code=COUNTRY_NOT_ALLOWED, error_message=reason, next_attempt_at=None
    )
    if refused:
        logger.warning(
            "[SMS-FAIL] message=%s to=%s code=%s reason=%s", message.pk, mask_phone(message.phone),
            COUNTRY_NOT_ALLOWED, reason,
        )  # fmt: skip
    return bool(refused)


def _due() -> Any:
    now = timezone.now()
    return SmsMessage.objects.filter(status=SmsStatus.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def drain(max_seconds: float | None = None) -> dict[str, int]:
    """Send due messages at the configured rate until none are due (or `max_seconds` passed). Only one drain runs at
    a time: the others find the throttle row locked and return at once."""
    SmsThrottle.objects.get_or_create(pk=1)
    backend = get_backend()
    interval = 1.0 / max(settings.SMS_RATE_PER_SECOND, 0.001)
    deadline = time.monotonic() + (max_seconds or settings.SMS_DRAIN_MAX_SECONDS)
    counts = {"sent": 0, "failed": 0, "retry": 0}
    with transaction.atomic():
        throttle = SmsThrottle.objects.select_for_update(nowait=False, skip_locked=True).filter(pk=1).first()
        if throttle is None:
            return counts  # another drain holds the lock
        next_slot = time.monotonic()
        while time.monotonic() < deadline:
            message = _due().order_by("id").first()
            if message is None:
                break
            wait = next_slot - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            next_slot = max(next_slot, time.monotonic()) + interval
            outcome = send_one(message, backend)
            counts[outcome] += 1
    return counts


def send_one(message: SmsMessage, backend: Any = None) -> str:
    """Send one queued message and record what happened: 'sent', 'retry' or 'failed'."""
    backend = backend or get_backend()
    refusal = country_refusal(message.phone)
    if refusal:
        return "failed" if _refuse_queued(message, refusal) else "sent"
    claimed = SmsMessage.objects.filter(pk=message.pk, status=SmsStatus.QUEUED).update(
        status=SmsStatus.SENDING, attempts=message.attempts + 1
    )
    if not claimed:
        return "sent"  # someone else has it, or it is done: never twice
    message.attempts += 1
    try:
        result = backend.send(message.phone, message.body)
    except TemporarySmsError as exc:
        if message.attempts >= settings.SMS_MAX_ATTEMPTS:
            _fail(message, exc.code, exc.message)
            return "failed"
        delay = settings.SMS_RETRY_BASE_SECONDS * 2 ** (message.attempts - 1)
        SmsMessage.objects.filter(pk=message.pk).update(
            status=SmsStatus.QUEUED,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=delay),
            error_code=exc.code,
            error_message=exc.message,
        )
        logger.warning(
            "[SMS-RETRY] message=%s to=%s attempt=%s in=%.1fs code=%s", message.pk, message.phone, message.attempts,
            delay, exc.code,
        )  # fmt: skip
        return "retry"
    except PermanentSmsError as exc:
        _fail(message, exc.code, exc.message)
        return "failed"
    SmsMessage.objects.filter(pk=message.pk).update(
        status=SmsStatus.SENT, provider_id=result.provider_id, sent_at=timezone.now(), error_code="", error_message=""
    )
    logger.info(
        "[SMS-SENT] message=%s to=%s id=%s kind=%s", message.pk, message.phone, result.provider_id, message.kind
    )
    return "sent"


def _fail(message: SmsMessage, code: str, reason: str) -> None:
    SmsMessage.objects.filter(pk=message.pk).update(status=SmsStatus.FAILED, error_code=code, error_message=reason)
    logger.warning("[SMS-FAIL] message=%s to=%s code=%s reason=%s", message.pk, message.phone, code, reason)


TWILIO_STATUSES = {
    "queued": SmsStatus.SENT,
    "accepted": SmsStatus.SENT,
    "sending": SmsStatus.SENT,
    "sent": SmsStatus.SENT,
    "delivered": SmsStatus.DELIVERED,
    "undelivered": SmsStatus.UNDELIVERED,
    "failed": SmsStatus.FAILED,
}


def record_delivery_status(provider_id: str, provider_status: str, error_code: str = "") -> bool:
    status = TWILIO_STATUSES.get(provider_status)
    if status is None:
        return False
    updated = SmsMessage.objects.filter(provider_id=provider_id).update(status=status, error_code=error_code or "")
    return bool(updated)


def retry_message(message_id: int) -> bool:
    """Queue a failed or undelivered message again; False for any other status."""
    from .tasks import drain_outbox

    retried = SmsMessage.objects.filter(pk=message_id, status__in=[SmsStatus.FAILED, SmsStatus.UNDELIVERED]).update(
        status=SmsStatus.QUEUED, attempts=0, next_attempt_at=None, error_code="", error_message=""
    )
    if retried:
        transaction.on_commit(lambda: drain_outbox.enqueue())
    return bool(retried)


# Shown where no real customer's data belongs: the status page's welcome text, a test to an empty list.
EXAMPLE_CUSTOMER = {"first_name": "Kofi", "last_name": "Mensah", "shipping_mark": "PM4 KOFI"}


class SendToSelfRefused(Exception):
    """A test text that was not queued, with what the user can do about it (`code` for the page's link)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def send_test(user: Any, body: str, sample: Customer | None, *, nonce: str) -> SmsMessage:
    """`body`, filled in for `sample` (the first recipient; an example customer when there is none), to `user`'s own
    phone through the one outbox: the same country check, drain, rate and provider as a customer's text, so the test
    shows what customers will get. `nonce` is the form's: a double-click queues one test, a new click another.

    Raises SendToSelfRefused (nothing queued, or queued already failed by the country check) with the reason."""
    if not user.phone:
        raise SendToSelfRefused("You have no phone number set, so there is nowhere to send a test.", "no_phone")
    if not sms_enabled():
        raise SendToSelfRefused(f"SMS is off: {get_backend().reason}.", "sms_off")
    problem = placeholder_problem(body)
    if problem:
        raise SendToSelfRefused(problem, "invalid_text")
    text = render_text(body, sample or Customer(**EXAMPLE_CUSTOMER))
    message = new_message(None, text, kind=SmsKind.TEST, key=f"test:{user.pk}:{nonce}", to_staff=user)
    _queue([message])
    stored = SmsMessage.objects.get(idempotency_key=message.idempotency_key)
    if stored.error_code == COUNTRY_NOT_ALLOWED:
        reason = country_not_allowed(stored.phone) or stored.error_message  # allowed since: the stored reason
        raise SendToSelfRefused(f"SMS may not go to your phone {stored.phone}: {reason}", COUNTRY_NOT_ALLOWED)
    logger.info("[SMS-TEST] message=%s user=%s to=%s", stored.pk, user.pk, mask_phone(stored.phone))
    return stored


def send_text(customers: Any, body: str, *, sender_id: Any) -> int:
    """One text to each of `customers` (a queryset). The same sender, text and recipients make the same key, so a
    form posted twice, or a retried request, queues nothing more."""
    ids = list(customers.order_by("pk").values_list("pk", flat=True))
    key = hashlib.sha256(f"{sender_id}:{body}:{ids}".encode()).hexdigest()[:40]
    kind = SmsKind.ONE_OFF if len(ids) == 1 else SmsKind.GROUP
    return queue_message(customers.order_by("pk").iterator(chunk_size=2000), body, key=key, kind=kind)
