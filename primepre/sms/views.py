"""Twilio's delivery receipts. The signature is checked with the twilio library's validator over the exact URL
Twilio called; anything unsigned or signed with another token is refused with 403."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from .services import record_delivery_status

logger = logging.getLogger("primepre.sms")


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
