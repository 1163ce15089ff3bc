"""Search over `Customer.search_text`: what it matches, and that the database keeps it current."""

from __future__ import annotations

import pytest

from primepre.customers.models import Customer
from primepre.customers.search import search_customers

from .factories import make_customer

pytestmark = pytest.mark.django_db


def _found(query: str) -> list[int]:
    return sorted(search_customers(Customer.objects.all(), query).values_list("pk", flat=True))


def test_search_text_is_kept_by_the_database_on_create_update_and_bulk_update() -> None:
    kofi = make_customer(first_name="Kofi", last_name="Mensah", email="Kofi@Example.com", shipping_mark="PM4 KOFI")
    kofi.refresh_from_db()
    assert kofi.search_text == f"kofi mensah  kofi@example.com pm4kofi {kofi.phone}"
    Customer.objects.filter(pk=kofi.pk).update(last_name="Boateng", email=None)  # no save(), no Python in between
    kofi.refresh_from_db()
    assert kofi.search_text == f"kofi boateng   pm4kofi {kofi.phone}"


@pytest.mark.parametrize("query", ["ensah", "MENSAH", "kofi mensah", "mensah   kofi", "example.com", "pm 4-kofi"])
def test_every_word_anywhere_in_any_field_in_any_case(query: str) -> None:
    kofi = make_customer(first_name="Kofi", last_name="Mensah", email="kofi@example.com", shipping_mark="PM4 KOFI")
    make_customer(first_name="Ama", last_name="Owusu", email="ama@mail.test", shipping_mark="PM5 AMA")
    assert _found(query) == [kofi.pk]


def test_words_must_all_match_and_like_wildcards_are_literal() -> None:
    make_customer(first_name="Kofi", last_name="Mensah", shipping_mark="PM1 KOFI")
    make_customer(first_name="Ama", last_name="Owusu", shipping_mark="PM2 AMA", company_name="100% Cotton_Ltd")
    assert _found("kofi owusu") == []
    assert _found("%") == _found("100%") == _found("cotton_") != []
    assert len(_found("_")) == 1


def test_a_phone_fragment_matches_the_stored_number_not_other_digits() -> None:
    kofi = make_customer(phone="+233241234567", shipping_mark="PM4")
    make_customer(phone="+233201111111", shipping_mark="PM24")
    assert _found("024 123") == [kofi.pk]
    assert _found("0241234567") == [kofi.pk]


def test_a_numeric_query_is_a_phone_or_a_mark_never_every_customer_with_those_digits() -> None:
    kofi = make_customer(phone="+233241234567", shipping_mark="PM4")
    numeric_mark = make_customer(phone="+233201111111", shipping_mark="2024")
    make_customer(phone="+233501111111", shipping_mark="PM5", email="kofi2024@mail.test")
    assert _found("+233 24") == [kofi.pk]  # not everyone whose text holds "+233" and "24"
    assert _found("2024") == sorted([numeric_mark.pk, _found("kofi2024")[0]])
    assert _found("+") == _found("( )") == []


def test_the_exact_mark_comes_first() -> None:
    exact = make_customer(shipping_mark="PM7MICHAEL", first_name="Michael")  # the oldest: last by the list's order
    for n in range(12):
        make_customer(shipping_mark=f"PM 7 MICHAEL {n}", first_name="Michael")
    newest_first = Customer.objects.order_by("-created_at", "-id")
    found = list(search_customers(newest_first, "PM 7 MICHAEL"))
    assert len(found) == 13 and found[0] == exact
    by_phone = list(search_customers(newest_first, exact.phone.replace("+233", "0")))
    assert by_phone[0] == exact
