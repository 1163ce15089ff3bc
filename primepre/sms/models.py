"""The SMS outbox: one row per message, unique on an idempotency key, so a customer never gets the same message
twice through retries, re-imports or resumed jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SmsStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    UNDELIVERED = "undelivered", "Undelivered"


class SmsKind(models.TextChoices):
    WELCOME = "welcome", "Welcome"
    ONE_OFF = "one_off", "One-off"
    GROUP = "group", "Group"
    RECEIVED = "received", "Goods received"
    # A text sent to a staff user's own phone before it goes to customers: no customer, not counted as one.
    TEST = "test", "Test to staff"


# Our own `error_code` beside the provider's: the number's country is not in SMS_ALLOWED_COUNTRIES, so the message
# was never handed to the provider.
COUNTRY_NOT_ALLOWED = "country_not_allowed"


class SmsMessage(models.Model):
    customer = models.ForeignKey("customers.Customer", null=True, on_delete=models.SET_NULL, related_name="+")
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For a test: the staff user who sent it to their own phone.",
    )
    phone = models.CharField(max_length=16, help_text="E.164 at the time of queueing.")
    kind = models.CharField(max_length=10, choices=SmsKind.choices)
    body = models.TextField()
    encoding = models.CharField(max_length=5)
    segments = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=SmsStatus.choices, default=SmsStatus.QUEUED, db_index=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"SMS #{self.pk} {self.kind} ({self.status})"


class SmsThrottle(models.Model):
    """A single row: whoever holds its lock is the one sender, so the rate limit holds across workers."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "SMS throttle"
