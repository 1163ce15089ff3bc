"""SMS only to `SMS_ALLOWED_COUNTRIES` (against SMS pumping): a message to any other country ends `failed` with
`country_not_allowed` and never reaches Twilio, whoever queued it: a welcome from an import, a group or one-off send,
a retry, or a message queued before the setting was narrowed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from primepre.customers.models import Customer
from primepre.sms.models import SmsMessage
from primepre.sms.services import (
    country_refusal,
    drain,
    queue_message,
    queue_welcome_messages,
    retry_message,
    send_text,
)

from ..customers.factories import make_customer
from ..imports.helpers import HEADER, run_import, write_csv
from .fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db
UK, GHANA = "+447911123457", "+233241234567"


def _sent_to(fake: FakeTwilio) -> list[str]:
    return [request["To"] for request in fake.requests]


def test_a_uk_number_is_refused_and_never_reaches_twilio(fake: FakeTwilio, caplog) -> None:
    caplog.set_level(logging.INFO)
    kofi, john = make_customer(phone=GHANA), make_customer(phone=UK)
    assert queue_welcome_messages([kofi, john]) == 1  # only the Ghanaian welcome will go out
    drain()
    assert _sent_to(fake) == [GHANA]
    refused = SmsMessage.objects.get(customer=john)
    assert (refused.status, refused.error_code, refused.attempts, refused.provider_id) == (
        "failed",
        "country_not_allowed",
        0,
        "",
    )
    assert refused.error_message == "Not sent: its country (GG) is not in SMS_ALLOWED_COUNTRIES (GH)."
    assert SmsMessage.objects.get(customer=kofi).status == "sent"
    (line,) = [record.getMessage() for record in caplog.records if "[SMS-FAIL]" in record.getMessage()]
    assert "code=country_not_allowed" in line and "to=+44791****457" in line and UK not in line


def test_queued_before_the_setting_changed_is_still_refused_at_send(fake: FakeTwilio, settings) -> None:
    settings.SMS_ALLOWED_COUNTRIES = ["GH", "GB", "GG"]
    queue_message([make_customer(phone=UK)], "Your parcel has arrived.", key="arrival")
    assert SmsMessage.objects.get().status == "queued"
    settings.SMS_ALLOWED_COUNTRIES = ["GH"]
    assert drain() == {"sent": 0, "failed": 1, "retry": 0}
    assert fake.requests == []
    message = SmsMessage.objects.get()
    assert (message.status, message.error_code, message.attempts) == ("failed", "country_not_allowed", 0)


def test_a_retry_is_refused_again(fake: FakeTwilio) -> None:
    queue_message([make_customer(phone=UK)], "hello", key="r")
    message = SmsMessage.objects.get()
    assert retry_message(message.pk)
    drain()
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "country_not_allowed")
    assert fake.requests == []


def test_group_and_one_off_sends_skip_foreign_numbers(fake: FakeTwilio) -> None:
    ghanaians = [make_customer() for _ in range(3)]
    foreign = [make_customer(phone=UK), make_customer(phone="+14155552671")]
    everyone = Customer.objects.filter(pk__in=[c.pk for c in ghanaians + foreign])
    assert send_text(everyone, "Ship closes Friday", sender_id=1) == 3
    assert send_text(Customer.objects.filter(pk=foreign[0].pk), "Hello John", sender_id=1) == 0
    drain()
    assert sorted(_sent_to(fake)) == sorted(c.phone for c in ghanaians)
    assert SmsMessage.objects.filter(error_code="country_not_allowed").count() == 3
    us = SmsMessage.objects.get(phone="+14155552671")
    assert "(US)" in us.error_message


def test_welcome_from_an_import_goes_only_to_allowed_countries(fake: FakeTwilio, tmp_path: Path) -> None:
    rows = [
        ["PM1 AMA", "Ama", "Owusu", "0241111111", "", "", ""],
        ["PM2 JOHN", "John", "Smith", UK, "", "", ""],
    ]
    job = run_import(write_csv(tmp_path / "w.csv", HEADER, rows), send_welcome_sms=True)
    assert job.created == 2
    drain()
    assert _sent_to(fake) == ["+233241111111"]
    assert SmsMessage.objects.get(phone=UK).error_code == "country_not_allowed"


def test_the_allowed_list_is_a_setting(fake: FakeTwilio, settings) -> None:
    settings.SMS_ALLOWED_COUNTRIES = ["GH", "GB"]
    london = make_customer(phone="+447400123456")
    queue_message([london, make_customer(phone=UK)], "hello", key="gb")  # UK is a Guernsey number: not GB
    drain()
    assert _sent_to(fake) == ["+447400123456"]


def test_requeueing_a_refused_message_sends_nothing_new(fake: FakeTwilio) -> None:
    john = make_customer(phone=UK)
    assert queue_welcome_messages([john]) == 0
    assert queue_welcome_messages([john]) == 0
    assert SmsMessage.objects.count() == 1 and fake.requests == []


@pytest.mark.parametrize(
    ("phone", "allowed", "refused"),
    [
        (GHANA, ["GH"], False),
        (UK, ["GH"], True),
        ("+447400123456", ["GB"], False),
        ("not a number", ["GH"], True),
        (GHANA, [], True),
    ],
)
def test_country_refusal(settings, phone: str, allowed: list[str], refused: bool) -> None:
    settings.SMS_ALLOWED_COUNTRIES = allowed
    assert bool(country_refusal(phone)) is refused


def test_messages_other_apps_build_go_through_the_same_check(fake: FakeTwilio) -> None:
    from primepre.sms.services import queue_prepared

    built = [
        SmsMessage(customer=c, phone=c.phone, kind="received", body="2 cartons received", encoding="GSM-7", segments=1,
                   idempotency_key=f"received:{c.pk}:2026-01-05")
        for c in (make_customer(phone=GHANA), make_customer(phone=UK))
    ]  # fmt: skip
    assert queue_prepared(built) == 1
    drain()
    assert _sent_to(fake) == [GHANA]
    assert SmsMessage.objects.get(phone=UK).error_code == "country_not_allowed"
