"""REST API for SMS: `/api/v1/sms/`. Whether SMS is on (and why not), the outbox, one-off and group messages with
the recipient count confirmed before anything is sent, a retry for failed messages, and the welcome text preview."""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from primepre.common.api import error_body, error_responses
from primepre.common.filters import MAX_ID, IdFilter, StrictFilterBackend
from primepre.common.permissions import requires
from primepre.customers.filters import CustomerFilter
from primepre.customers.models import Customer

from .backends import get_backend
from .models import SmsMessage
from .segments import count_segments
from .selectors import sms_overview
from .services import placeholder_problem, retry_message, send_text


class SmsMessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = SmsMessage
        fields = [
            "id",
            "customer",
            "phone",
            "kind",
            "body",
            "encoding",
            "segments",
            "status",
            "provider_id",
            "error_code",
            "error_message",
            "attempts",
            "created_at",
            "sent_at",
            "updated_at",
        ]
        read_only_fields = fields


def body_too_long(body: str) -> str | None:
    """Why a text is too long to send (SMS_MAX_LENGTH characters, the same for the API and the staff page), or
    None: a longer text is almost always a paste gone wrong, and every segment of it is paid for."""
    limit = settings.SMS_MAX_LENGTH
    if len(body) > limit:
        return f"Keep the message to at most {limit} characters (this one has {len(body)})."
    return None


class SendSerializer(serializers.Serializer):
    # The limit is a setting, read per request: the staff page checks the same one (SMS_MAX_LENGTH).
    body = serializers.CharField(trim_whitespace=True)
    customer_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False, allow_empty=False, min_length=1
    )
    filter = serializers.DictField(required=False, help_text="The customers list's filters: search, region, …")
    confirm_recipients = serializers.IntegerField(required=False, min_value=0, max_value=MAX_ID)

    def validate_body(self, body: str) -> str:
        problem = body_too_long(body)
        if problem:
            raise serializers.ValidationError(problem, code="max_length")
        problem = placeholder_problem(body)  # filled in per recipient, or refused before anything is queued
        if problem:
            raise serializers.ValidationError(problem, code="invalid_placeholder")
        return body


class SmsFilter(django_filters.FilterSet):
    """The outbox's filters; `customer` is an id in the primary key's range (a 30-digit one is a 400, not a 500)."""

    customer = IdFilter(field_name="customer_id")

    class Meta:
        model = SmsMessage
        fields = ["status", "kind", "customer"]


def _status_payload() -> dict[str, Any]:
    overview = sms_overview()
    segments = overview.welcome_segments
    return {
        "enabled": overview.backend.enabled,
        "backend": overview.backend.name,
        "reason": overview.backend.reason,
        "rate_per_second": overview.rate_per_second,
        "counts": overview.counts,
        "tests": overview.tests,
        "recent_failures": SmsMessageSerializer(overview.failures[:10], many=True).data,
        "welcome_example": {"text": overview.welcome, "encoding": segments.encoding, "segments": segments.count},
    }


@extend_schema(tags=["sms"])
class SmsViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The SMS outbox."""

    permission_classes = [requires("customers.send_sms")]
    serializer_class = SmsMessageSerializer
    queryset = SmsMessage.objects.all()
    filterset_class = SmsFilter
    filter_backends = [StrictFilterBackend, OrderingFilter]  # `?status=` (no value) is a 400, not "every row"
    ordering = ["-created_at", "-id"]

    @extend_schema(
        summary="Is SMS on (and why not), counts by status, recent failures, the welcome text",
        responses=inline_serializer(
            "SmsStatus",
            {
                "enabled": serializers.BooleanField(),
                "backend": serializers.CharField(),
                "reason": serializers.CharField(help_text="Why SMS is off; empty when on."),
                "rate_per_second": serializers.FloatField(),
                "counts": serializers.DictField(
                    child=serializers.IntegerField(), help_text="Messages to customers per status."
                ),
                "tests": serializers.IntegerField(help_text="Test texts staff sent to their own phone (not counted)."),
                "recent_failures": SmsMessageSerializer(many=True),
                "welcome_example": inline_serializer(
                    "SmsWelcomeExample",
                    {
                        "text": serializers.CharField(),
                        "encoding": serializers.CharField(),
                        "segments": serializers.IntegerField(),
                    },
                ),
            },
        ),
    )
    @action(detail=False, methods=["get"])
    def status(self, request: Request) -> Response:
        return Response(_status_payload())

    @extend_schema(
        summary="Send a text to customers: first the recipient count, then confirm it",
        request=SendSerializer,
        responses={
            200: inline_serializer(
                "SmsSendPreview",
                {
                    "recipients": serializers.IntegerField(),
                    "segments": serializers.IntegerField(),
                    "encoding": serializers.CharField(),
                    "confirm_required": serializers.BooleanField(),
                    "message": serializers.CharField(),
                },
            ),
            202: inline_serializer(
                "SmsSendQueued", {"queued": serializers.IntegerField(), "recipients": serializers.IntegerField()}
            ),
            **error_responses(_409="`sms_disabled`: SMS is off (the message says why)"),
        },
    )
    @action(detail=False, methods=["post"])
    def send(self, request: Request) -> Response:
        if not get_backend().enabled:
            return Response(
                error_body("sms_disabled", f"SMS is off: {get_backend().reason}."), status=status.HTTP_409_CONFLICT
            )
        data = SendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recipients = self._recipients(request, data.validated_data)
        segments = count_segments(data.validated_data["body"])
        count = recipients.count()
        confirmed = data.validated_data.get("confirm_recipients")
        if confirmed is None or confirmed != count:
            return Response(
                {
                    "recipients": count,
                    "segments": segments.count,
                    "encoding": segments.encoding,
                    "confirm_required": True,
                    "message": f"This sends {segments.count} segment(s) to {count} customer(s). "
                    f"Send again with confirm_recipients={count}.",
                }
            )
        queued = send_text(recipients, data.validated_data["body"], sender_id=request.user.pk)
        return Response({"queued": queued, "recipients": count}, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _recipients(request: Request, data: dict[str, Any]) -> Any:
        customers = Customer.objects.order_by("pk")
        if data.get("customer_ids"):
            return customers.filter(pk__in=data["customer_ids"])
        if data.get("filter") is not None:
            filterset = CustomerFilter(data["filter"], queryset=customers, request=request)
            if not filterset.is_valid():
                raise exceptions.ValidationError({"filter": filterset.errors})
            return filterset.qs
        # A code of its own: "one of the two" is a rule the schema cannot state, so clients match on it.
        message = "Name the customers, or give a filter ({} for all)."
        raise exceptions.ValidationError({"customer_ids": [exceptions.ErrorDetail(message, code="no_recipients")]})

    @extend_schema(
        summary="Queue a failed message again",
        request=None,
        responses={200: SmsMessageSerializer, **error_responses(_409="`not_failed`: only a failed message is retried")},
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        message = self.get_object()
        if not retry_message(message.pk):
            return Response(
                error_body("not_failed", f"Message #{message.pk} is {message.status}; only a failed one is retried."),
                status=status.HTTP_409_CONFLICT,
            )
        message.refresh_from_db()
        return Response(SmsMessageSerializer(message).data)
