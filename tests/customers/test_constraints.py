"""The directory's rules hold in the database itself: these tests go around the model's own checks where they can.

They run on SQLite and on PostgreSQL (`make test` runs the suite on both).
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from primepre.customers.models import Customer

from .factories import customer_data, make_customer

pytestmark = pytest.mark.django_db


def _rejected(**values: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(**customer_data(**values))


def _rejected_raw(customer: Customer, **values: object) -> None:
    """A raw UPDATE skips save() and its normalisation, so only the database can refuse it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(**values)


def test_phones_differing_only_in_format_cannot_both_exist() -> None:
    make_customer(phone="+233241234567")
    for typed in ["0241234567", "233241234567", "+233 24 123 4567", "00233241234567"]:
        _rejected(phone=typed)
    assert Customer.objects.count() == 1


def test_a_phone_not_in_e164_is_refused_by_the_database() -> None:
    customer = make_customer()
    _rejected_raw(customer, phone="0241234567")
    _rejected_raw(customer, phone="+233")


def test_marks_differing_only_in_case_spacing_or_punctuation_cannot_both_exist() -> None:
    make_customer(shipping_mark="PM4 KOFI")
    for typed in ["pm4 kofi", "PM4-KOFI", "PM4  Kofi", "PM4KOFI", "ＰＭ４ ＫＯＦＩ"]:
        _rejected(shipping_mark=typed)
    assert Customer.objects.count() == 1


def test_the_mark_key_itself_is_unique_in_the_database() -> None:
    make_customer(shipping_mark="PM4 KOFI")
    other = make_customer(shipping_mark="PM5 AMA")
    _rejected_raw(other, mark_key="pm4kofi")


def test_many_customers_without_email_can_exist() -> None:
    for _ in range(5):
        make_customer(email="")
    for _ in range(5):
        make_customer(email=None)
    assert Customer.objects.filter(email__isnull=True).count() == 10


def test_emails_are_unique_whatever_their_case() -> None:
    make_customer(email="Kofi@Example.com")
    assert Customer.objects.get().email == "kofi@example.com"
    _rejected(email="KOFI@example.COM")


def test_the_database_refuses_upper_case_or_empty_emails() -> None:
    customer = make_customer(email="kofi@example.com")
    _rejected_raw(customer, email="Kofi@Example.com")
    _rejected_raw(customer, email="")


def test_names_and_mark_are_required_by_the_database() -> None:
    customer = make_customer()
    _rejected_raw(customer, first_name="")
    _rejected_raw(customer, last_name="")
    _rejected_raw(customer, shipping_mark="")
    _rejected_raw(customer, mark_key="")


def test_region_and_type_must_be_known_codes() -> None:
    customer = make_customer(region="AA")
    _rejected_raw(customer, region="XX")
    _rejected_raw(customer, customer_type="vip")
    Customer.objects.filter(pk=customer.pk).update(region="")  # no region is allowed


def test_save_normalises_what_people_type() -> None:
    customer = make_customer(
        first_name="  Kofi ",
        last_name="Mensah   Jnr",
        phone="024 123 4567",
        shipping_mark=" PM4   Kofi ",
        email=" Kofi@Example.COM ",
        region="Greater Accra",
    )
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Kofi", "Mensah Jnr")
    assert customer.phone == "+233241234567"
    assert (customer.shipping_mark, customer.mark_key) == ("PM4 Kofi", "pm4kofi")
    assert customer.email == "kofi@example.com"
    assert customer.region == "AA"
    assert customer.get_region_display() == "Greater Accra"


def test_full_clean_reports_every_problem_with_its_field_and_code() -> None:
    make_customer(phone="+233241234567", shipping_mark="PM4 KOFI", email="kofi@example.com")
    candidate = Customer(
        first_name="", last_name="Mensah", phone="0241234567", shipping_mark="pm4-kofi", email="KOFI@example.com"
    )
    with pytest.raises(Exception) as caught:
        candidate.full_clean()
    codes = {field: [e.code for e in errors] for field, errors in caught.value.error_dict.items()}
    assert codes == {"first_name": ["blank"], "phone": ["unique"], "shipping_mark": ["unique"], "email": ["unique"]}
    assert "PM4 KOFI" in caught.value.message_dict["shipping_mark"][0]


def test_full_clean_explains_a_bad_phone() -> None:
    candidate = Customer(first_name="Ama", last_name="Owusu", phone="2.33241E+11", shipping_mark="PM1 AMA")
    with pytest.raises(Exception) as caught:
        candidate.full_clean()
    (error,) = caught.value.error_dict["phone"]
    assert error.code == "phone_rounded"
