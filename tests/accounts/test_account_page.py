"""The account page: a staff user sets their own phone (for test texts) in any format the customers' phone rules
accept; it is stored in E.164, a number that is not one is refused beside the field, and only E.164 (or nothing)
can reach the table."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from primepre.accounts.models import User

pytestmark = pytest.mark.django_db


def test_every_page_links_to_my_account(client_of: Client) -> None:
    html = client_of.get("/").content.decode()
    assert '<a href="/account/" id="account-link">kwame.staff' in html
    page = client_of.get("/account/").content.decode()
    assert 'id="account-link" aria-current="page"' in page
    assert "Signed in as <strong>kwame.staff</strong>" in page and "role: Staff" in page


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("024 123 4567", "+233241234567"), ("+233 (0)20 123 4567", "+233201234567"), ("233241234567", "+233241234567")],
)
def test_a_phone_in_any_common_format_is_stored_in_e164(client_of: Client, staff_user, typed: str, stored: str) -> None:
    response = client_of.post("/account/", {"phone": typed}, follow=True)
    assert response.redirect_chain == [("/account/", 302)]
    staff_user.refresh_from_db()
    assert staff_user.phone == stored
    assert f"Your phone is now {stored}." in response.content.decode()


def test_a_number_that_is_not_one_is_refused_beside_the_field(client_of: Client, staff_user) -> None:
    staff_user.phone = "+233241234567"
    staff_user.save()
    response = client_of.post("/account/", {"phone": "12345"})
    html = response.content.decode()
    assert response.status_code == 200
    assert '<p class="error" role="alert" id="phone-error">Too short to be a phone number.</p>' in html
    assert "autofocus" in html
    staff_user.refresh_from_db()
    assert staff_user.phone == "+233241234567"  # unchanged


def test_an_empty_phone_removes_it(client_of: Client, staff_user) -> None:
    staff_user.phone = "+233241234567"
    staff_user.save()
    client_of.post("/account/", {"phone": "  "})
    staff_user.refresh_from_db()
    assert staff_user.phone == ""


def test_a_phone_sms_cannot_reach_is_saved_with_a_warning(client_of: Client, staff_user) -> None:
    html = client_of.post("/account/", {"phone": "+44 7911 123457"}, follow=True).content.decode()
    staff_user.refresh_from_db()
    assert staff_user.phone == "+447911123457"
    assert "SMS cannot reach this number: its country (GG) is not in SMS_ALLOWED_COUNTRIES (GH)." in html


def test_back_to_the_page_that_asked_but_never_to_another_site(client_of: Client) -> None:
    back = client_of.post("/account/", {"phone": "0241234567", "next": "/sms/send/?region=AA"})
    assert back["Location"] == "/sms/send/?region=AA"
    form = client_of.get("/account/?next=/sms/send/%3Fregion%3DAA").content.decode()
    assert '<input type="hidden" name="next" value="/sms/send/?region=AA">' in form
    elsewhere = client_of.post("/account/", {"phone": "0241234567", "next": "https://evil.example/"})
    assert elsewhere["Location"] == "/account/"


def test_signed_out_users_are_sent_to_sign_in(client) -> None:
    assert client.get("/account/")["Location"].startswith("/login/")


def test_only_e164_or_nothing_reaches_the_table(staff_user) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=staff_user.pk).update(phone="0241234567")
    User.objects.filter(pk=staff_user.pk).update(phone="")
    User.objects.filter(pk=staff_user.pk).update(phone="+233241234567")


def test_model_validation_normalises_the_phone_too(staff_user) -> None:
    staff_user.phone = "020 123 4567"
    staff_user.full_clean()
    assert staff_user.phone == "+233201234567"
