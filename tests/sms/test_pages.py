"""The SMS pages: on/off with the reason, counts, the welcome text and its segments, sending to a filtered list only
after its recipient count is confirmed, retrying a failure."""

from __future__ import annotations

import pytest
from django.test import Client

from primepre.sms.backends import reset_backend
from primepre.sms.models import SmsMessage
from primepre.sms.views import checked_text

from ..customers.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_sms_page_shows_state_counts_and_the_welcome_text(admin: Client, staff_user) -> None:
    page = admin.get("/sms/").content.decode()
    assert "SMS is <strong>on</strong> (locmem)" in page
    assert "PM4 KOFI" in page and "GSM-7" in page and "segment" in page
    staff = Client()
    staff.force_login(staff_user)
    assert staff.get("/sms/").status_code == 403


def test_sending_to_a_filtered_list_needs_the_count_confirmed(admin: Client) -> None:
    for _ in range(3):
        make_customer(region="AA")
    make_customer(region="AH")
    assert "Send SMS to this list" in admin.get("/customers/", {"region": "AA"}).content.decode()
    check = admin.post("/sms/send/?region=AA", {"body": "Ship closes Friday"})
    html = check.content.decode()
    assert '<strong id="recipient-count">3</strong>' in html and "Send to 3 customers" in html
    assert not SmsMessage.objects.exists()
    wrong = admin.post(
        "/sms/send/?region=AA",
        {"body": "Ship closes Friday", "confirm_recipients": "4", "checked_text": checked_text("Ship closes Friday")},
    )
    assert wrong.status_code == 200 and not SmsMessage.objects.exists()
    sent = admin.post(
        "/sms/send/?region=AA",
        {"body": "Ship closes Friday", "confirm_recipients": "3", "checked_text": checked_text("Ship closes Friday")},
    )
    assert sent.status_code == 302
    assert SmsMessage.objects.filter(kind="group").count() == 3


def test_off_says_why_and_sends_nothing(admin: Client, settings) -> None:
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = ""
    reset_backend()
    assert "SMS is <strong>off</strong>: SMS_BACKEND=twilio but" in admin.get("/sms/").content.decode()
    make_customer()
    response = admin.post(
        "/sms/send/", {"body": "hi", "confirm_recipients": "1", "checked_text": checked_text("hi")}, follow=True
    )
    assert "SMS is off" in response.content.decode()
    assert not SmsMessage.objects.exists()


def test_retry_a_failed_message(admin: Client, django_capture_on_commit_callbacks) -> None:
    customer = make_customer()
    message = SmsMessage.objects.create(
        customer=customer,
        phone=customer.phone,
        kind="one_off",
        body="hi",
        encoding="GSM-7",
        segments=1,
        idempotency_key="x",
        status="failed",
        error_code="21610",
    )
    assert "21610" in admin.get("/sms/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the drain is queued once the retry is committed
        admin.post("/sms/", {"retry": message.pk})
    message.refresh_from_db()
    assert message.status == "sent"  # the (immediate, in tests) task backend drained it


def test_one_customer_from_their_page(admin: Client) -> None:
    kofi = make_customer(phone="+233241234567")
    make_customer(phone="+233201111111")
    link = admin.get(f"/customers/{kofi.pk}/").content.decode()
    assert "/sms/send/?search=%2B233241234567" in link
    page = admin.post("/sms/send/?search=%2B233241234567", {"body": "Your parcel is here"})
    assert '<strong id="recipient-count">1</strong>' in page.content.decode()
    admin.post(
        "/sms/send/?search=%2B233241234567",
        {"body": "Your parcel is here", "confirm_recipients": "1", "checked_text": checked_text("Your parcel is here")},
    )
    assert list(SmsMessage.objects.values_list("phone", "kind")) == [("+233241234567", "one_off")]


def test_placeholders_are_filled_for_each_recipient(admin: Client) -> None:
    make_customer(region="AA", first_name="Ama", shipping_mark="PM1 AMA")
    make_customer(region="AA", first_name="Yaw", shipping_mark="PM2 YAW")
    body = "Hello {first_name}, goods for {shipping_mark} arrive Friday."
    assert (
        admin.post(
            "/sms/send/?region=AA", {"body": body, "confirm_recipients": "2", "checked_text": checked_text(body)}
        ).status_code
        == 302
    )
    assert sorted(SmsMessage.objects.values_list("body", flat=True)) == [
        "Hello Ama, goods for PM1 AMA arrive Friday.",
        "Hello Yaw, goods for PM2 YAW arrive Friday.",
    ]


@pytest.mark.parametrize("body", ["Hello {frist_name}", "Price {50% off}", "Hello {"])
def test_a_text_with_a_placeholder_we_cannot_fill_is_refused(admin: Client, body: str) -> None:
    make_customer(region="AA")
    page = admin.post(
        "/sms/send/?region=AA", {"body": body, "confirm_recipients": "1", "checked_text": checked_text(body)}
    )
    error = page.content.decode().split('id="body-error">')[1].split("</p>")[0]  # the composer lists placeholders too
    assert page.status_code == 200 and "placeholder" in error
    assert not SmsMessage.objects.exists()


def test_a_text_edited_after_the_check_is_not_sent(admin: Client) -> None:
    make_customer(region="AA")
    checked = checked_text("Ship closes Friday")
    edited = {"body": "Ship closes Friday, pay 500 cedis now", "confirm_recipients": "1", "checked_text": checked}
    page = admin.post("/sms/send/?region=AA", edited)
    assert page.status_code == 200 and not SmsMessage.objects.exists()
    html = page.content.decode()
    assert f'value="{checked_text(edited["body"])}"' in html  # the page now offers to send the edited text
    assert 'data-checked="Ship closes Friday, pay 500 cedis now"' in html


def test_the_recipients_are_said_in_words(admin: Client) -> None:
    make_customer(region="AH", customer_type="business", company_name="Kofi Ltd", first_name="Kofi")
    html = admin.get("/sms/send/?region=AH&region=TV&customer_type=business&search=kofi").content.decode()
    assert "in Ashanti or Volta, type business, matching “kofi”" in html
    assert "region=AH" not in html.split('id="recipients"')[1].split("</span>")[0]
    assert "(everyone in the directory)" in admin.get("/sms/send/").content.decode()


def test_the_outbox_lists_every_message_by_status(admin: Client) -> None:
    customer = make_customer(shipping_mark="PM4 KOFI", phone="+233241234567")
    for n, status in enumerate(["sent", "failed", "queued"]):
        SmsMessage.objects.create(
            customer=customer, phone=customer.phone, kind="one_off", body=f"text {n}", encoding="GSM-7",
            segments=1, status=status, idempotency_key=f"k{n}", error_code="21211" if status == "failed" else "",
        )  # fmt: skip
    html = admin.get("/sms/outbox/").content.decode()
    assert '<span id="message-count">3</span>' in html and "+233241234567" in html and "PM4 KOFI" in html
    failed = admin.get("/sms/outbox/", {"status": "failed"}).content.decode()
    assert '<span id="message-count">1</span>' in failed and "21211" in failed
