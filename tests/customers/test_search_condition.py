"""The search condition leaves out the LIKEs that cannot change the answer (`_words_or_mark`, `_broadest`): for
queries of every kind it finds exactly what the plain condition finds, every word or the whole mark, or any of the
phone fragments."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db.models import Q

from primepre.customers.marks import mark_key
from primepre.customers.models import Customer
from primepre.customers.phones import normalise_phone
from primepre.customers.search import _NON_DIGITS, _PHONE_LIKE, search_condition

from .factories import make_customer

pytestmark = pytest.mark.django_db

QUERIES = [
    "kofi", "KOFI MENSAH", "mensah kofi", "kofi kofi", "ama owusu", "pm 4 kofi", "pm4kofi", "PM-4 KOFI", "pm 4-kofi",
    "@yahoo", "mensah@", "gmail", "kofi@example.com", "kofi -", "& sons", "kofi & sons", "100%", "cotton_", "o'neil",
    "0241", "024 123", "+233 24", "055 12", "20 123", "0592", "00233 24", "12", "4", "+", "(024) 412-3456",
]  # fmt: skip


def _plain(query: str) -> Q:
    """The condition as first written: no LIKE left out."""
    query = " ".join(query.split())
    key = mark_key(query).lower()
    if _PHONE_LIKE.match(query):
        condition = Q(search_text__contains=key) if key else Q(pk__in=[])
        phone = normalise_phone(query, settings.DEFAULT_PHONE_REGION)
        if phone.ok:
            condition |= Q(phone=phone.e164)
        digits = _NON_DIGITS.sub("", query)
        digits = digits[2:] if digits.startswith("00") else digits.lstrip("0")
        if len(digits) >= 3:
            condition |= Q(search_text__contains=digits)
        return condition
    condition = Q()
    for word in query.lower().split(" "):
        condition &= Q(search_text__contains=word)
    return condition | Q(search_text__contains=key) if key else condition


@pytest.fixture
def directory() -> None:
    rows = [
        ("Kofi", "Mensah", "kofi@example.com", "PM4 KOFI", "", "+233241234567"),
        ("Kofi", "Boateng", "kb@yahoo.com", "PM40", "Kofi & Sons", "+233244123456"),
        ("Ama", "Owusu", "ama.owusu@gmail.com", "AMA-OWUSU", "100% Cotton_Ltd", "+233201234567"),
        ("Yaw", "O'Neil", None, "PM-4KOFI2", "", "+233551234567"),
        ("Akosua", "Mensah", "mensah@mail.test", "PM 1000", "Sons & Co", "+233592123456"),
        ("Esi", "Tetteh", "e.tetteh@yahoo.co.uk", "YAHOO1", "", "+233302412345"),
        ("Kwame", "Asante", None, "0241", "", "+233209123412"),
    ]
    for first, last, email, mark, company, phone in rows:
        make_customer(
            first_name=first, last_name=last, email=email, shipping_mark=mark, company_name=company, phone=phone
        )


@pytest.mark.parametrize("query", QUERIES)
def test_the_same_customers_as_the_plain_condition(directory: None, query: str) -> None:
    condition = search_condition(query)
    assert condition is not None
    found = set(Customer.objects.filter(condition).values_list("pk", flat=True))
    assert found == set(Customer.objects.filter(_plain(query)).values_list("pk", flat=True))


def _likes(condition: Q) -> int:
    return sum(
        _likes(child) if isinstance(child, Q) else child[0] == "search_text__contains" for child in condition.children
    )


@pytest.mark.parametrize(
    ("query", "likes"),
    [("ama owusu", 2), ("pm 4 kofi", 3), ("@yahoo", 1), ("kofi", 1), ("PM-4 KOFI", 3), ("0241", 1), ("024 123", 1)],
)
def test_each_left_out_like_is_a_scan_saved(query: str, likes: int) -> None:
    condition = search_condition(query)
    assert condition is not None and _likes(condition) == likes
