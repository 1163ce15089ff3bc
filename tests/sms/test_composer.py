"""The SMS composer: the placeholders listed (buttons once composer.js runs, plain text without it), the text as the
longest recipient gets it with its segment count, and no promise of a cost the settings cannot back (no price per
segment is configured). Also the SMS pages' wording: plurals, thousands separators, the retry column's header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from primepre.customers.models import Customer
from primepre.sms.models import SmsMessage
from primepre.sms.preview import longest_values
from primepre.sms.services import TEXT_PLACEHOLDERS
from primepre.sms.views import checked_text

from ..customers.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def _accra() -> None:
    make_customer(region="AA", first_name="Ama", last_name="Owusu-Ansah", shipping_mark="PM1 AMA")
    make_customer(region="AA", first_name="Christabel", last_name="Ng", shipping_mark="PM22 LONGER MARK",
                  company_name="Kofi Ltd")  # fmt: skip
    make_customer(region="AA", first_name="Zé", last_name="Bo", shipping_mark="PM3")
    make_customer(region="AH", first_name="Longest-Name-In-Ashanti", shipping_mark="PM9 NOT A RECIPIENT")


def test_the_longest_value_of_each_placeholder_among_the_recipients() -> None:
    _accra()
    values = longest_values(Customer.objects.filter(region="AA"))
    assert values == {
        "first_name": "Christabel",  # the longest, not the greatest alphabetically (Zé)
        "last_name": "Owusu-Ansah",
        "shipping_mark": "PM22 LONGER MARK",
        "company": "Ama Owusu-Ansah",  # the full name of a customer with no company is longer than "Kofi Ltd"
    }
    assert set(values) == set(TEXT_PLACEHOLDERS)
    assert longest_values(Customer.objects.none())["shipping_mark"] == "PM4 KOFI"  # the example customer


def test_the_placeholders_are_listed_as_text_the_script_turns_into_buttons(admin: Client) -> None:
    _accra()
    html = admin.get("/sms/send/?region=AA").content.decode()
    for token, longest in [("{first_name}", "Christabel"), ("{shipping_mark}", "PM22 LONGER MARK")]:
        assert f'<code data-insert="{token}" data-longest="{longest}">{token}</code>' in html
    assert html.count("<code data-insert=") == len(TEXT_PLACEHOLDERS)
    script = re.search(r'<script src="([^"]+composer\.js)" defer></script>', html)
    assert script and finders.find("web/composer.js")
    assert "segments.js" not in html  # composer.js owns the live count now: one script writes #segments
    source = Path(finders.find("web/composer.js")).read_text()
    assert "setRangeText" in source and 'querySelectorAll("code[data-insert]")' in source


def test_the_check_shows_the_longest_filled_text_and_its_segments(admin: Client) -> None:
    _accra()
    body = "Hello {first_name}, goods for {shipping_mark} arrive Friday."
    html = admin.post("/sms/send/?region=AA", {"body": body}).content.decode()
    longest = "Hello Christabel, goods for PM22 LONGER MARK arrive Friday."
    assert f'<p class="sms-preview" id="longest-text">{longest}</p>' in html
    assert f"At most {len(longest)} characters, GSM-7, 1 segment, filled in with the longest values" in html
    assert "Send to 3 customers (1 segment each)" in html  # one segment for everyone: no "up to"


def test_a_text_that_a_long_value_pushes_over_a_segment_says_up_to(admin: Client) -> None:
    make_customer(region="AA", company_name="C" * 40)
    make_customer(region="AA", company_name="Ama Ltd")
    body = "x" * 130 + " {company}"  # 141 characters as typed; 171 for the 40-character company
    html = admin.post("/sms/send/?region=AA", {"body": body}).content.decode()
    assert "Send to 2 customers (up to 2 segments each)" in html
    assert "At most 171 characters, GSM-7, 2 segments" in html
    plain = admin.post("/sms/send/?region=AA", {"body": "x" * 170}).content.decode()
    assert "Send to 2 customers (2 segments each)" in plain and 'id="longest" hidden' in plain


def test_the_composer_promises_no_cost(admin: Client, settings) -> None:
    assert not hasattr(settings, "SMS_PRICE_PER_SEGMENT")  # when one is configured, the page may state a cost
    make_customer(region="AA")
    for page in (admin.get("/sms/send/?region=AA"), admin.post("/sms/send/?region=AA", {"body": "Ship Friday"})):
        assert "cost" not in page.content.decode().lower()
    assert "Check the count and the segments" in admin.get("/sms/send/").content.decode()


def test_counts_and_plurals_on_the_sms_pages(admin: Client, settings) -> None:
    customer = make_customer(region="AA")
    settings.SMS_WELCOME_TEMPLATE = "A"
    SmsMessage.objects.bulk_create(
        [SmsMessage(customer=customer, phone=customer.phone, kind="one_off", body="x", encoding="GSM-7", segments=1,
                    status="sent", idempotency_key=f"k{n}") for n in range(1000)]
        + [SmsMessage(phone="+233201234567", kind="test", body="x", encoding="GSM-7", segments=1, idempotency_key="t")]
    )  # fmt: skip
    overview = admin.get("/sms/").content.decode()
    assert '<span class="big">1,000</span> sent' in overview
    assert "<p>1 character, GSM-7, <strong>1 segment</strong> per customer.</p>" in overview
    assert "test staff sent to their own phone</a> is not among them." in overview
    response = admin.post(
        "/sms/send/?region=AA",
        {"body": "Ship Friday", "confirm_recipients": "1", "checked_text": checked_text("Ship Friday")},
        follow=True,
    )
    assert "1 message queued; it goes out at" in response.content.decode()
    Customer.objects.bulk_create(
        [Customer(first_name="A", last_name=f"B{n}", phone=f"+23320{n:07d}", shipping_mark=f"M{n}", mark_key=f"m{n}",
                  region="TV") for n in range(1000)]
    )  # fmt: skip
    check = admin.post("/sms/send/?region=TV", {"body": "Ship Friday"}).content.decode()
    assert '<strong id="recipient-count">1,000</strong> customers' in check and "Send to 1,000 customers" in check


def test_the_retry_column_has_a_header_for_screen_readers(admin: Client) -> None:
    SmsMessage.objects.create(
        phone="+233241234567", kind="one_off", body="x", encoding="GSM-7", segments=1, status="failed",
        idempotency_key="f",
    )  # fmt: skip
    html = admin.get("/sms/").content.decode()
    head = re.search(r'<table id="failures">\s*<thead>(.*?)</thead>', html, re.S).group(1)
    headers = re.findall(r"<th[^>]*>(.*?)</th>", head)
    assert all(re.sub(r"<[^>]+>", "", header).strip() for header in headers), headers
    assert '<th scope="col"><span class="sr-only">Retry</span></th>' in head


def test_the_outbox_shows_a_customers_phone_nationally_and_a_staff_phone_as_stored(admin: Client) -> None:
    customer = make_customer(phone="+233241234567")
    SmsMessage.objects.create(
        customer=customer, phone=customer.phone, kind="one_off", body="x", encoding="GSM-7", segments=1,
        idempotency_key="c",
    )  # fmt: skip
    SmsMessage.objects.create(
        phone="+233201234567", kind="test", body="x", encoding="GSM-7", segments=1, idempotency_key="t"
    )
    html = admin.get("/sms/outbox/").content.decode()
    assert '<td><span class="phone" title="+233241234567">024 123 4567</span></td>' in html
    assert "<td>+233201234567</td>" in html  # the user's own number, as their account page shows it


@pytest.mark.parametrize("junk", ["١٢", "99999999999999999999999", "-1", "x"])
def test_the_outbox_ignores_a_customer_filter_that_is_no_id(admin: Client, junk: str) -> None:
    make_customer()
    response = admin.get("/sms/outbox/", {"customer": junk})
    assert response.status_code == 200 and 'id="outbox-customer"' not in response.content.decode()
