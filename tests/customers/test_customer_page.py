"""A customer's page reads (every field, their goods, the texts sent to them) with an Edit button for whoever may
change customers; the form is its own page. Phones read in the national format, the stored E.164 on hover."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template
from django.test import Client

from primepre.customers.phones import display_phone
from primepre.sms.models import SmsMessage

from .factories import make_customer

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+233240000001", "024 000 0001"),
        ("+233302123456", "030 212 3456"),  # a landline: Ghana's own grouping
        ("+442079460958", "+44 20 7946 0958"),  # another country: international, never looks local
        ("+2348031234567", "+234 803 123 4567"),
        ("", ""),
        ("not a phone", "not a phone"),  # as it is: never raises
        ("+", "+"),
    ],
)
def test_display_phone(stored: str, shown: str) -> None:
    assert display_phone(stored, "GH") == shown


def test_the_filter_titles_the_national_form_with_e164_and_escapes_what_is_no_phone() -> None:
    template = Template("{% load phones %}{{ phone|national_phone }}")
    assert template.render(Context({"phone": "+233240000001"})) == (
        '<span class="phone" title="+233240000001">024 000 0001</span>'
    )
    assert template.render(Context({"phone": "<b>x</b>"})) == "&lt;b&gt;x&lt;/b&gt;"
    assert template.render(Context({"phone": None})) == ""


def test_the_list_and_the_page_show_phones_in_the_national_format(admin_user) -> None:
    ghana = make_customer(phone="+233240000001", shipping_mark="PM1 AMA")
    make_customer(phone="+442079460958", shipping_mark="PM2 LONDON")
    client = _client(admin_user)
    listed = client.get("/customers/").content.decode()
    assert '<td><span class="phone" title="+233240000001">024 000 0001</span></td>' in listed
    assert '<span class="phone" title="+442079460958">+44 20 7946 0958</span>' in listed
    page = client.get(f"/customers/{ghana.pk}/").content.decode()
    assert '<dd id="customer-phone"><span class="phone" title="+233240000001">024 000 0001</span></dd>' in page
    assert "/sms/send/?search=%2B233240000001" in page  # links and searches keep E.164


def test_the_customer_page_reads_every_field_with_edit_for_who_may_change(admin_user, staff_user) -> None:
    customer = make_customer(
        shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah", phone="+233241234567",
        email="kofi@example.com", region="AA", company_name="Kofi Ltd", customer_type="business",
    )  # fmt: skip
    html = _client(admin_user).get(f"/customers/{customer.pk}/").content.decode()
    facts = re.search(r'<dl class="facts" id="customer-facts">(.*?)</dl>', html, re.S).group(1)
    for label, value in [
        ("Shipping mark", "PM4 KOFI"), ("First name", "Kofi"), ("Last name", "Mensah"), ("Email", "kofi@example.com"),
        ("Region", "Greater Accra"), ("Company name", "Kofi Ltd"), ("Customer type", "Business"),
    ]:  # fmt: skip
        assert re.search(rf"<dt>{label}</dt><dd[^>]*>(<a [^>]*>)?{re.escape(value)}", facts), label
    assert "<input" not in html.split("<main")[1].split("</main>")[0].replace('name="csrfmiddlewaretoken"', "")
    assert f'href="/customers/{customer.pk}/edit/" class="button" id="edit-customer">Edit</a>' in html
    staff_html = _client(staff_user).get(f"/customers/{customer.pk}/").content.decode()
    assert "Kofi Ltd" in staff_html and 'id="edit-customer"' not in staff_html


def test_the_customer_page_takes_no_changes(admin_user) -> None:
    customer = make_customer(first_name="Kofi")
    data = {"first_name": "Changed", "last_name": "X", "phone": customer.phone, "shipping_mark": "PM1 X",
            "customer_type": "individual"}  # fmt: skip
    assert _client(admin_user).post(f"/customers/{customer.pk}/", data).status_code == 405
    customer.refresh_from_db()
    assert customer.first_name == "Kofi"


def test_the_edit_page_saves_and_returns_to_the_customer(admin_user) -> None:
    customer = make_customer(shipping_mark="PM4 KOFI", phone="+233241234567")
    client = _client(admin_user)
    form = client.get(f"/customers/{customer.pk}/edit/").content.decode()
    assert 'name="first_name"' in form and f'href="/customers/{customer.pk}/" id="cancel-edit"' in form
    data = {"shipping_mark": "PM4 KOFI", "first_name": "Kwame", "last_name": "Mensah", "phone": "024 123 4567",
            "customer_type": "individual", "region": "AH"}  # fmt: skip
    saved = client.post(f"/customers/{customer.pk}/edit/", data, follow=True)
    assert saved.redirect_chain == [(f"/customers/{customer.pk}/", 302)]
    assert "Saved PM4 KOFI." in saved.content.decode()
    customer.refresh_from_db()
    assert (customer.first_name, customer.region) == ("Kwame", "AH")


def test_the_texts_sent_to_a_customer_are_on_their_page_for_who_may_send(admin_user, staff_user) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI", phone="+233241234567")
    other = make_customer()
    for n in range(6):
        SmsMessage.objects.create(
            customer=kofi, phone=kofi.phone, kind="one_off", body=f"Parcel {n} is here", encoding="GSM-7",
            segments=1, status="sent", idempotency_key=f"kofi-{n}",
        )  # fmt: skip
    SmsMessage.objects.create(
        customer=other, phone=other.phone, kind="one_off", body="Not for Kofi", encoding="GSM-7", segments=1,
        idempotency_key="other",
    )  # fmt: skip
    html = _client(admin_user).get(f"/customers/{kofi.pk}/").content.decode()
    section = html.split('id="customer-sms-title"')[1]
    assert "Parcel 5 is here" in section and "Parcel 1 is here" in section and "Parcel 0 is here" not in section
    assert "Not for Kofi" not in section
    assert f'href="/sms/outbox/?customer={kofi.pk}" id="customer-sms-all"' in section
    outbox = _client(admin_user).get("/sms/outbox/", {"customer": kofi.pk}).content.decode()
    assert '<span id="message-count">6</span>' in outbox and "Not for Kofi" not in outbox
    assert 'id="customer-sms-title"' not in _client(staff_user).get(f"/customers/{kofi.pk}/").content.decode()
