"""`sms_overview()`: the one source of what the status API and the SMS page show, so the two cannot disagree."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from primepre.sms.models import SmsMessage, SmsStatus
from primepre.sms.selectors import sms_overview

pytestmark = pytest.mark.django_db
STATUSES = ["sent", "sent", "delivered", "failed", "undelivered", "failed"]


def _messages() -> list[SmsMessage]:
    made = [
        SmsMessage.objects.create(
            phone=f"+23324123450{n}",
            kind="one_off",
            body="hi",
            encoding="GSM-7",
            segments=1,
            idempotency_key=f"k{n}",
            status=status,
        )
        for n, status in enumerate(STATUSES)
    ]
    for n, message in enumerate(made):  # a distinct, known order of last change
        SmsMessage.objects.filter(pk=message.pk).update(updated_at=timezone.now() - dt.timedelta(minutes=n))
    return made


def test_counts_every_status_and_lists_failures_latest_first() -> None:
    made = _messages()
    overview = sms_overview()
    assert overview.counts == {
        "queued": 0, "sending": 0, "sent": 2, "delivered": 1, "failed": 2, "undelivered": 1,
    }  # fmt: skip
    assert list(overview.counts) == SmsStatus.values
    assert [message.pk for message in overview.failures] == [made[3].pk, made[4].pk, made[5].pk]
    assert "PM4 KOFI" in overview.welcome and overview.welcome_segments.count >= 1


def test_the_api_and_the_page_show_the_same_status(admin_api, admin_user) -> None:
    _messages()
    overview = sms_overview()
    api = admin_api.get("/api/v1/sms/status/").json()
    assert api["counts"] == overview.counts
    assert [item["id"] for item in api["recent_failures"]] == [message.pk for message in overview.failures]
    assert api["welcome_example"]["text"] == overview.welcome
    client = Client()
    client.force_login(admin_user)
    page = client.get("/sms/")
    assert page.context["counts"] == [(label, overview.counts[value]) for value, label in SmsStatus.choices]
    assert list(page.context["failures"]) == list(overview.failures)
    assert page.context["welcome"] == overview.welcome
