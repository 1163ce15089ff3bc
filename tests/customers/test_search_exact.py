"""Exact lookups first: a whole phone number or email address is answered from its unique index, with no scan of
the table; an exact mark comes first, before the customers whose text merely contains it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from primepre.customers.models import Customer
from primepre.customers.search import search_customers

from .factories import make_customer

pytestmark = pytest.mark.django_db


def _search(query: str) -> tuple[list[int], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        found = list(
            search_customers(Customer.objects.order_by("-created_at", "-id"), query).values_list("pk", flat=True)
        )
    return found, [q["sql"] for q in queries.captured_queries]


def _scans(sql: list[str]) -> list[str]:
    return [statement for statement in sql if "LIKE" in statement.upper()]


@pytest.mark.parametrize("query", ["0241234567", "+233 24 123 4567", "233241234567"])
def test_a_whole_phone_number_is_answered_from_its_index(query: str) -> None:
    kofi = make_customer(phone="+233241234567", email="kofi0241234567@mail.test")
    make_customer(phone="+233201111111", email="ama@mail.test")
    found, sql = _search(query)
    assert found == [kofi.pk] and not _scans(sql)


def test_a_whole_email_is_answered_from_its_index() -> None:
    kofi = make_customer(email="kofi@example.com")
    make_customer(email="akofi@example.com")  # contains the query: not the customer asked for
    found, sql = _search("Kofi@Example.com")
    assert found == [kofi.pk] and not _scans(sql)


def test_an_unknown_phone_or_email_falls_back_to_the_text() -> None:
    kofi = make_customer(phone="+233241234567", email="kofi@example.com")
    assert _search("0241234")[0] == [kofi.pk]  # a fragment: scanned
    assert _search("kofi@example")[0] == [kofi.pk]
    found, sql = _search("nobody@example.com")
    assert found == [] and _scans(sql)


def test_an_exact_mark_comes_first_and_its_neighbours_follow() -> None:
    exact = make_customer(shipping_mark="PM7 MICHAEL")
    neighbours = [make_customer(shipping_mark=f"PM7 MICHAEL {n}") for n in range(3)]
    found, _ = _search("pm7michael")
    assert found[0] == exact.pk and set(found[1:]) == {c.pk for c in neighbours}


def test_without_an_exact_match_the_order_is_the_lists_own() -> None:
    older, newer = (
        make_customer(first_name="Kofi", shipping_mark="PM1 A"),
        make_customer(first_name="Kofi", shipping_mark="PM2 B"),
    )
    found, sql = _search("kofi")
    assert found == [newer.pk, older.pk]
    assert not any("CASE" in statement.upper() for statement in sql)  # nothing to rank: no sort of every match
