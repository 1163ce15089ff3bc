"""'Send a test to my phone' on the SMS page: the current text, filled in for the first recipient, to the staff user's
own phone through the one outbox and the real twilio client (against the local fake of its API): the country check,
the drain and the provider are the customers'. The test is in the outbox as a test, not counted as a customer message;
a user with no phone is told where to set one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from primepre.sms.models import SmsMessage
from primepre.sms.selectors import sms_overview
from primepre.sms.views import checked_text

from ..customers.factories import make_customer
from .fake_twilio import FakeTwilio

pytestmark = pytest.mark.django_db
MY_PHONE = "+233201234567"
BODY = "Hello {first_name}, goods for {shipping_mark} arrive Friday."


@pytest.fixture
def me(admin_user) -> Any:
    admin_user.phone = MY_PHONE
    admin_user.save()
    return admin_user


@pytest.fixture
def client_of(me) -> Client:
    client = Client()
    client.force_login(me)
    return client


def _test(client: Client, body: str = BODY, query: str = "region=AA", nonce: str = "00112233aabbccdd", **extra: str):
    return client.post(f"/sms/send/?{query}", {"body": body, "test_send": "1", "test_nonce": nonce, **extra})


def _customers() -> None:
    make_customer(region="AA", first_name="Ama", last_name="Owusu", shipping_mark="PM1 AMA")
    make_customer(region="AA", first_name="Yaw", shipping_mark="PM2 YAW")
    make_customer(region="AH", first_name="Esi", shipping_mark="PM3 ESI")


def test_the_test_reaches_twilio_for_my_phone_filled_for_the_first_recipient(
    client_of: Client, me, fake: FakeTwilio, django_capture_on_commit_callbacks
) -> None:
    _customers()
    with django_capture_on_commit_callbacks(execute=True):  # the drain starts once the test is committed
        page = _test(client_of)
    html = page.content.decode()
    assert page.status_code == 200 and 'id="test-result"' in html
    assert "filled in for PM1 AMA (Ama Owusu)" in html and "“Hello Ama, goods for PM1 AMA arrive Friday.”" in html
    (request,) = fake.requests
    assert (request["To"], request["From"], request["Body"]) == (
        MY_PHONE,
        "PrimePre",
        "Hello Ama, goods for PM1 AMA arrive Friday.",
    )
    message = SmsMessage.objects.get()
    assert (message.kind, message.customer, message.staff_user, message.status) == ("test", None, me, "sent")
    assert message.provider_id.startswith("SM")
    # The page still holds the text, checked, so the real send to the 2 customers is one click away.
    assert f'value="{checked_text(BODY)}"' in html and "Send to 2 customers" in html


def test_the_test_is_in_the_outbox_as_a_test_and_not_counted_as_a_customer_message(
    client_of: Client, me, fake: FakeTwilio, django_capture_on_commit_callbacks
) -> None:
    _customers()
    with django_capture_on_commit_callbacks(execute=True):
        _test(client_of)
    overview = sms_overview()
    assert sum(overview.counts.values()) == 0 and overview.tests == 1
    assert '1 <a href="/sms/outbox/?kind=test">test staff sent' in client_of.get("/sms/").content.decode()
    assert client_of.get("/api/v1/sms/status/").json()["tests"] == 1
    outbox = client_of.get("/sms/outbox/", {"kind": "test"}).content.decode()
    assert '<span class="tag test">Test</span> to ama.admin' in outbox and MY_PHONE in outbox
    assert "Test to staff" in outbox
    # The real send afterwards reaches the customers only: the test does not spend any of their keys.
    with django_capture_on_commit_callbacks(execute=True):
        sent = client_of.post(
            "/sms/send/?region=AA", {"body": BODY, "confirm_recipients": "2", "checked_text": checked_text(BODY)}
        )
    assert sent.status_code == 302
    assert sorted(request["To"] for request in fake.requests[1:]) == sorted(
        SmsMessage.objects.filter(kind="group").values_list("phone", flat=True)
    )
    assert sms_overview().counts["sent"] == 2


def test_a_double_click_sends_one_test_and_a_new_click_another(
    client_of: Client, fake: FakeTwilio, django_capture_on_commit_callbacks
) -> None:
    _customers()
    with django_capture_on_commit_callbacks(execute=True):
        first = _test(client_of, nonce="aaaaaaaaaaaaaaaa")
        _test(client_of, nonce="aaaaaaaaaaaaaaaa")
    assert len(fake.requests) == 1
    nonce = first.context["test_nonce"]  # the page after a test offers a fresh one
    assert nonce != "aaaaaaaaaaaaaaaa"
    with django_capture_on_commit_callbacks(execute=True):
        _test(client_of, nonce=nonce)
    assert len(fake.requests) == 2 and SmsMessage.objects.filter(kind="test").count() == 2


def test_no_phone_is_refused_with_the_link_to_set_it(admin_user, fake: FakeTwilio) -> None:
    _customers()
    client = Client()
    client.force_login(admin_user)
    form = client.get("/sms/send/?region=AA").content.decode()
    assert "You have no phone set" in form and 'href="/account/?next=%2Fsms%2Fsend%2F%3Fregion%3DAA"' in form
    page = _test(client)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Test not sent: You have no phone number set" in html
    assert '<a href="/account/?next=%2Fsms%2Fsend%2F%3Fregion%3DAA" id="set-phone">Set my phone</a>' in html
    assert not SmsMessage.objects.exists() and fake.requests == []


def test_a_phone_outside_the_allowed_countries_is_refused_and_never_reaches_twilio(
    client_of: Client, me, fake: FakeTwilio, django_capture_on_commit_callbacks
) -> None:
    me.phone = "+447911123457"
    me.save()
    _customers()
    with django_capture_on_commit_callbacks(execute=True):
        html = _test(client_of).content.decode()
    said = "Test not sent: SMS may not go to your phone +447911123457: its country (GG) is not in"
    assert f"{said} SMS_ALLOWED_COUNTRIES (GH)." in html
    message = SmsMessage.objects.get()
    assert (message.kind, message.status, message.error_code) == ("test", "failed", "country_not_allowed")
    assert fake.requests == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twilio_refusing_my_number_is_said_on_the_page(client_of: Client, fake: FakeTwilio) -> None:
    _customers()
    fake.answer(400, 21614, "'To' number is not a valid mobile number")
    # Autocommit, as in production: the drain runs as soon as the test is queued (tasks run in-process here), so the
    # page already knows what Twilio answered.
    html = _test(client_of).content.decode()
    said = html.split('id="test-result">')[1].split("</p>")[0]
    assert said.startswith("Test not sent: Twilio refused the message:") and said.endswith("mobile number (21614)")
    message = SmsMessage.objects.get()
    assert (message.kind, message.status, message.error_code) == ("test", "failed", "21614")
    assert "21614" in client_of.get("/sms/").content.decode()  # among the failures, with a retry


def test_with_no_recipients_an_example_customer_fills_the_placeholders(
    client_of: Client, fake: FakeTwilio, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        html = _test(client_of, query="region=TV").content.decode()
    assert "filled in for an example customer (the list is empty)" in html
    assert fake.requests[0]["Body"] == "Hello Kofi, goods for PM4 KOFI arrive Friday."


@pytest.mark.parametrize(
    ("body", "says"),
    [("Hello {frist_name}", "the text cannot be sent as it is (see above)."), ("", "Write the text first.")],
)
def test_a_text_that_cannot_be_sent_is_not_tested(client_of: Client, fake: FakeTwilio, body: str, says: str) -> None:
    _customers()
    html = _test(client_of, body=body).content.decode()
    assert "Test not sent" in html and says in html
    assert not SmsMessage.objects.exists() and fake.requests == []


def test_a_forged_nonce_is_a_clear_refusal(client_of: Client, fake: FakeTwilio) -> None:
    html = _test(client_of, nonce="x" * 500).content.decode()
    assert "The form is out of date" in html and not SmsMessage.objects.exists()


def test_sms_off_says_why(client_of: Client, settings) -> None:
    from primepre.sms.backends import reset_backend

    settings.SMS_BACKEND, settings.TWILIO_ACCOUNT_SID = "twilio", ""
    reset_backend()
    html = _test(client_of).content.decode()
    assert "Test not sent: SMS is off: SMS_BACKEND=twilio but" in html and not SmsMessage.objects.exists()


def test_the_test_needs_send_sms(staff_user, fake: FakeTwilio) -> None:
    staff_user.phone = MY_PHONE
    staff_user.save()
    client = Client()
    client.force_login(staff_user)
    assert _test(client).status_code == 403
    assert not SmsMessage.objects.exists() and fake.requests == []
