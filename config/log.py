"""Logging glue: a request id on every line of a request, phone numbers masked, one `[REQUEST]` line per request.

Log lines carry a tag and key=value fields (`[REQUEST] method=GET path=/api/v1/customers/ status=200 ms=12`), so the
same line reads well in a terminal and greps well in a hosted log viewer.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from primepre.common.log_context import request_id_var
from primepre.common.phonemask import mask_phones_in_log

_VALID_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
request_logger = logging.getLogger("primepre.request")


class RequestIdFilter(logging.Filter):
    """Stamps the current request id (or `-` outside a request) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class MaskPhonesFilter(logging.Filter):
    """Masks phone numbers in the final message, whatever code logged it (`+233241234567` → `+23324****567`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones_in_log(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # A database error quotes the values it refused (`Key (phone)=(+233…) already exists`). The traceback is
            # formatted here, masked, and handed on as text: both formatters print exc_text when exc_info is gone.
            record.exc_text = mask_phones_in_log(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class RequestIdMiddleware:
    """Gives each request an id (or reuses a sane incoming `X-Request-ID`), echoes it, logs one line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        # The one rule for the client's address (TRUSTED_PROXY_COUNT). Imported here, not at the top: this module is
        # loaded while logging is configured, before the apps whose models lockout.py imports.
        from primepre.accounts.lockout import client_ip

        self.get_response = get_response
        self.client_ip = client_ip

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_INCOMING_ID.match(incoming) else uuid.uuid4().hex[:16]
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            # Our [REQUEST] line reports the status; Django's own "Not Found: …" line would come after the request
            # id is gone. Unhandled exceptions are still logged, with their traceback, inside the request.
            response._has_been_logged = True  # type: ignore[attr-defined]
            elapsed_ms = (time.perf_counter() - started) * 1000
            # Under the ASGI server (config/asgi.py): how long the request waited for its turn before Django ran it.
            queued_at = getattr(request, "queued_at", None)
            wait_ms = (started - queued_at) * 1000 if queued_at is not None else 0.0
            level = logging.WARNING if response.status_code >= 500 else logging.INFO
            request_logger.log(
                level,
                "[REQUEST] method=%s path=%s status=%s ms=%.1f wait_ms=%.1f user=%s ip=%s",
                request.method,
                request.path,
                response.status_code,
                elapsed_ms,
                wait_ms,
                getattr(getattr(request, "user", None), "pk", None) or "-",
                self.client_ip(request) or "-",
            )
            return response
        finally:
            request_id_var.reset(token)
