"""SMS through the real twilio client against a local fake of its API; the outbox's retries, rate limit and
idempotency; welcome messages on import; delivery receipts with real signatures; the disabled path."""

from __future__ import annotations

from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from primepre.sms.backends import LocmemBackend, get_backend, reset_backend
from primepre.sms.models import SmsMessage
from primepre.sms.segments import count_segments
from primepre.sms.services import drain, queue_message, queue_welcome_messages, send_one

from ..customers.factories import make_customer
from ..imports.helpers import HEADER, run_import, write_csv
from .fake_twilio import SID, TOKEN, FakeTwilio

pytestmark = pytest.mark.django_db


def test_body_sender_and_number_reach_twilio(fake: FakeTwilio) -> None:
    kofi = make_customer(first_name="Kofi", shipping_mark="PM4 KOFI", phone="+233241234567")
    assert queue_welcome_messages([kofi]) == 1
    assert drain()["sent"] == 1
    (request,) = fake.requests
    assert request["_path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert (request["To"], request["From"]) == ("+233241234567", "PrimePre")
    assert "PM4 KOFI" in request["Body"] and "Kofi" in request["Body"]
    message = SmsMessage.objects.get()
    assert (message.status, message.provider_id[:2], message.attempts) == ("sent", "SM", 1)


def test_messaging_service_instead_of_a_sender(fake: FakeTwilio, settings) -> None:
    settings.TWILIO_FROM, settings.TWILIO_MESSAGING_SERVICE_SID = "", "MG" + "2" * 32
    reset_backend()
    queue_message([make_customer()], "Your parcel has arrived.", key="arrival-1")
    drain()
    assert fake.requests[0]["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in fake.requests[0]


def test_retries_on_429_and_5xx_but_not_on_an_invalid_number(fake: FakeTwilio) -> None:
    fake.answer(429)
    fake.answer(500)
    queue_message([make_customer()], "hello", key="a")
    drain()
    message = SmsMessage.objects.get()
    assert (message.status, message.attempts, len(fake.requests)) == ("sent", 3, 3)
    fake.answer(400, code=21211, message="The 'To' number is not a valid phone number.")
    queue_message([make_customer()], "hello", key="b")
    drain()
    failed = SmsMessage.objects.get(status="failed")
    assert (failed.attempts, failed.error_code, len(fake.requests)) == (1, "21211", 4)


def test_a_message_that_keeps_failing_ends_failed_after_the_last_attempt(fake: FakeTwilio, settings) -> None:
    settings.SMS_MAX_ATTEMPTS = 3
    for _ in range(5):
        fake.answer(503)
    queue_message([make_customer()], "hello", key="c")
    drain()
    message = SmsMessage.objects.get()
    assert (message.status, message.attempts, len(fake.requests)) == ("failed", 3, 3)


def test_the_rate_limit_holds(fake: FakeTwilio, settings) -> None:
    settings.SMS_RATE_PER_SECOND = 20
    queue_message([make_customer() for _ in range(6)], "hello", key="burst")
    drain()
    times = [request["at"] for request in fake.requests]
    assert len(times) == 6
    assert times[-1] - times[0] >= 5 / 20 * 0.9  # six messages at 20/s span at least a quarter of a second


def test_idempotency_across_a_retried_task_and_a_repeated_request(fake: FakeTwilio) -> None:
    customer = make_customer()
    assert queue_welcome_messages([customer]) == 1
    assert queue_welcome_messages([customer]) == 0  # the same welcome again: nothing new
    message = SmsMessage.objects.get()
    assert send_one(message) == "sent"
    assert send_one(message) == "sent"  # the task ran twice: the second finds it sent
    assert len(fake.requests) == 1


def test_welcome_goes_to_created_customers_only_once_even_on_reimport(tmp_path: Path) -> None:
    existing = make_customer(phone="+233201111111", shipping_mark="PM1 OLD")
    rows = [
        ["PM1 OLD", "Old", "Renamed", "0201111111", "", "", ""],  # updated: no welcome
        ["PM2 NEW", "Ama", "Owusu", "0202222222", "", "", ""],  # created: welcome
        ["PM3 BAD", "Bad", "", "0203333333", "", "", ""],  # failed: no welcome
    ]
    path = write_csv(tmp_path / "w.csv", HEADER, rows)
    run_import(path, mode="upsert", send_welcome_sms=True)
    run_import(path, mode="upsert", send_welcome_sms=True)  # again: nothing new to welcome
    assert list(SmsMessage.objects.values_list("phone", "kind")) == [("+233202222222", "welcome")]
    drain()
    assert [sent["to"] for sent in LocmemBackend.outbox] == ["+233202222222"]
    assert existing.pk not in SmsMessage.objects.values_list("customer_id", flat=True)


def test_twilio_without_settings_is_off_with_a_reason_and_never_fails_an_import(settings, tmp_path: Path) -> None:
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.TWILIO_FROM = ""
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    reset_backend()
    backend = get_backend()
    assert not backend.enabled and "TWILIO_ACCOUNT_SID" in backend.reason
    path = write_csv(tmp_path / "off.csv", HEADER, [["PM1", "Ama", "Owusu", "0241234567", "", "", ""]])
    job = run_import(path, send_welcome_sms=True)
    assert (job.status, job.created) == ("succeeded", 1)
    assert not SmsMessage.objects.exists()


def _signed_post(client, settings, params: dict, token: str = TOKEN):
    url = "http://testserver/api/v1/sms/twilio/status/"
    settings.SMS_STATUS_CALLBACK_URL = url
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post("/api/v1/sms/twilio/status/", params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_delivery_receipts_need_a_valid_signature(client, settings, fake: FakeTwilio) -> None:
    queue_message([make_customer()], "hello", key="d")
    drain()
    message = SmsMessage.objects.get()
    params = {"MessageSid": message.provider_id, "MessageStatus": "delivered", "AccountSid": SID}
    assert _signed_post(client, settings, params, token="wrong-token").status_code == 403
    assert client.post("/api/v1/sms/twilio/status/", params).status_code == 403
    assert _signed_post(client, settings, params).status_code == 204
    message.refresh_from_db()
    assert message.status == "delivered"
    undelivered = {"MessageSid": message.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert _signed_post(client, settings, undelivered).status_code == 204
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("undelivered", "30003")


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("€" * 80, "GSM-7", 1),  # extension characters count twice
        ("€" * 81, "GSM-7", 2),
        ("Akwaaba Ɛfua", "UCS-2", 1),
        ("Ɛ" * 71, "UCS-2", 2),
    ],
)
def test_segment_counts(text: str, encoding: str, count: int) -> None:
    segments = count_segments(text)
    assert (segments.encoding, segments.count) == (encoding, count)


def test_console_backend_prints_with_a_masked_number(settings, capsys) -> None:
    settings.SMS_BACKEND = "console"
    reset_backend()
    queue_message([make_customer(phone="+233241234567")], "hello", key="e")
    drain()
    out = capsys.readouterr().out
    assert "[SMS-CONSOLE] to=+23324****567" in out


def test_sms_api_status_send_with_confirmation_and_retry(admin_api, staff_api, fake: FakeTwilio) -> None:
    assert staff_api.get("/api/v1/sms/status/").status_code == 403  # Staff may not send SMS
    status = admin_api.get("/api/v1/sms/status/").json()
    assert status["enabled"] and status["backend"] == "twilio"
    assert status["welcome_example"]["encoding"] == "GSM-7" and "PM4 KOFI" in status["welcome_example"]["text"]
    accra = [make_customer(region="AA") for _ in range(3)]
    make_customer(region="AH")
    preview = admin_api.post(
        "/api/v1/sms/send/", {"body": "Ship closes Friday", "filter": {"region": ["AA"]}}, format="json"
    )
    assert preview.status_code == 200
    assert (preview.json()["recipients"], preview.json()["confirm_required"]) == (3, True)
    assert not SmsMessage.objects.exists()
    wrong = admin_api.post(
        "/api/v1/sms/send/", {"body": "Ship closes Friday", "filter": {"region": ["AA"]}, "confirm_recipients": 4},
        format="json",
    )  # fmt: skip
    assert wrong.status_code == 200 and not SmsMessage.objects.exists()
    sent = admin_api.post(
        "/api/v1/sms/send/", {"body": "Ship closes Friday", "filter": {"region": ["AA"]}, "confirm_recipients": 3},
        format="json",
    )  # fmt: skip
    assert sent.status_code == 202 and sent.json()["queued"] == 3
    assert set(SmsMessage.objects.values_list("customer_id", flat=True)) == {c.pk for c in accra}
    fake.answer(400, code=21610, message="Attempt to send to unsubscribed recipient")
    drain()
    failed = SmsMessage.objects.get(status="failed")
    assert failed.error_code == "21610"
    retried = admin_api.post(f"/api/v1/sms/{failed.pk}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] in {"queued", "sent"}
    listing = admin_api.get("/api/v1/sms/", {"status": "sent"}).json()
    assert listing["count"] >= 2


def test_sms_api_says_when_sms_is_off(admin_api, settings) -> None:
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = ""
    reset_backend()
    status = admin_api.get("/api/v1/sms/status/").json()
    assert not status["enabled"] and "TWILIO_ACCOUNT_SID" in status["reason"]
    response = admin_api.post("/api/v1/sms/send/", {"body": "hi", "customer_ids": [make_customer().pk]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "sms_disabled"


def test_the_api_refuses_a_placeholder_it_cannot_fill(admin_api) -> None:
    customer = make_customer()
    body = {"body": "Hi {frist_name}", "customer_ids": [customer.pk], "confirm_recipients": 1}
    response = admin_api.post("/api/v1/sms/send/", body, format="json")
    assert response.status_code == 400 and response.json()["fields"]["body"][0]["code"] == "invalid_placeholder"
    assert not SmsMessage.objects.exists()
