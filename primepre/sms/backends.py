"""SMS backends, chosen by `SMS_BACKEND` the way Django chooses an e-mail backend: `twilio`, `console`, `locmem`,
`disabled`. Twilio without its settings is not an error: it is the disabled backend with a reason, logged once.

Backends raise `TemporarySmsError` for what is worth retrying (429, 5xx, network) and `PermanentSmsError` for what
is not (invalid number, unsubscribed recipient …); the outbox decides what to do with each.
"""

from __future__ import annotations

import functools
import logging
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from primepre.common.phonemask import mask_phone

logger = logging.getLogger("primepre.sms")


class SmsError(Exception):
    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TemporarySmsError(SmsError):
    """Worth retrying later: rate limited, provider down, network trouble."""


class PermanentSmsError(SmsError):
    """Retrying cannot help: the number is invalid or unreachable, the recipient unsubscribed, the account refuses."""


@dataclass(frozen=True)
class SendResult:
    provider_id: str


class BaseBackend:
    name = "base"
    enabled = True
    reason = ""

    def send(self, to: str, body: str) -> SendResult:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Prints each message: the default under `make run`."""

    name = "console"

    def send(self, to: str, body: str) -> SendResult:
        sys.stdout.write(f"[SMS-CONSOLE] to={mask_phone(to)} segments_body={body!r}\n")
        sys.stdout.flush()
        return SendResult(provider_id=f"console-{uuid.uuid4().hex[:12]}")


class LocmemBackend(BaseBackend):
    """Keeps messages in `LocmemBackend.outbox` (tests)."""

    name = "locmem"
    outbox: list[dict[str, str]] = []

    def send(self, to: str, body: str) -> SendResult:
        provider_id = f"locmem-{len(self.outbox) + 1}"
        self.outbox.append({"to": to, "body": body, "id": provider_id})
        return SendResult(provider_id=provider_id)


class DisabledBackend(BaseBackend):
    name = "disabled"
    enabled = False

    def __init__(self, reason: str = "SMS_BACKEND=disabled") -> None:
        self.reason = reason

    def send(self, to: str, body: str) -> SendResult:
        raise PermanentSmsError(f"SMS is off: {self.reason}", code="disabled")


# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
PERMANENT_TWILIO_CODES = {21211, 21214, 21408, 21601, 21602, 21604, 21610, 21612, 21614, 21617, 30003, 30005, 30006}


class TwilioBackend(BaseBackend):
    name = "twilio"

    def __init__(self) -> None:
        # Heavy (twilio and the requests stack): only when Twilio is the backend, not in every process start.
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        from .twilio_http import RedirectingHttpClient

        self.sender = settings.TWILIO_FROM
        self.messaging_service_sid = settings.TWILIO_MESSAGING_SERVICE_SID
        http_client = TwilioHttpClient(timeout=settings.SMS_HTTP_TIMEOUT_SECONDS)
        if settings.TWILIO_API_BASE_URL:
            http_client = RedirectingHttpClient(settings.TWILIO_API_BASE_URL, timeout=settings.SMS_HTTP_TIMEOUT_SECONDS)
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)

    def send(self, to: str, body: str) -> SendResult:
        import requests
        from twilio.base.exceptions import TwilioRestException

        options: dict[str, Any] = {"to": to, "body": body}
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        else:
            options["from_"] = self.sender
        if settings.SMS_STATUS_CALLBACK_URL:
            options["status_callback"] = settings.SMS_STATUS_CALLBACK_URL
        try:
            message = self.client.messages.create(**options)
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            if exc.status == 429 or exc.status >= 500:
                raise TemporarySmsError(f"Twilio answered {exc.status}: {exc.msg}", code=code) from exc
            if exc.code in PERMANENT_TWILIO_CODES or 400 <= exc.status < 500:
                raise PermanentSmsError(f"Twilio refused the message: {exc.msg}", code=code) from exc
            raise TemporarySmsError(str(exc), code=code) from exc
        except requests.RequestException as exc:
            raise TemporarySmsError(f"Network error talking to Twilio: {exc.__class__.__name__}", "network") from exc
        return SendResult(provider_id=message.sid)


def twilio_missing_settings() -> list[str]:
    missing = [name for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN") if not getattr(settings, name)]
    if not settings.TWILIO_FROM and not settings.TWILIO_MESSAGING_SERVICE_SID:
        missing.append("TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID")
    return missing


@functools.lru_cache(maxsize=1)
def get_backend() -> BaseBackend:
    choice = settings.SMS_BACKEND
    if choice == "twilio":
        missing = twilio_missing_settings()
        if missing:
            return DisabledBackend(f"SMS_BACKEND=twilio but {', '.join(missing)} not set")
        return TwilioBackend()
    if choice == "console":
        return ConsoleBackend()
    if choice == "locmem":
        return LocmemBackend()
    if choice == "disabled":
        return DisabledBackend()
    return DisabledBackend(f"unknown SMS_BACKEND={choice!r} (use twilio, console, locmem or disabled)")


def reset_backend() -> None:
    """Forget the cached backend (settings changed: tests, or a reload)."""
    get_backend.cache_clear()
