"""Customer search, shared by the admin, the API and the staff UI: one query box that understands phones in any
format, shipping marks however they are spaced or cased, names and emails."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from .marks import mark_key
from .phones import normalise_phone

_NON_DIGITS = re.compile(r"\D")
_PHONE_LIKE = re.compile(r"^[\d\s+\-().]+$")
# A search is one LIKE per word on every row: a pasted paragraph made a statement SQLite refuses (a 500) and
# PostgreSQL scans for long. Nobody looks a customer up by more than a few words.
SEARCH_MAX_LENGTH = 200
SEARCH_MAX_WORDS = 10


def check_search_words(query: str) -> None:
    """The form validator of a search box: at most SEARCH_MAX_WORDS words (the length is the field's max_length)."""
    words = len(query.split())
    if words > SEARCH_MAX_WORDS:
        raise ValidationError(
            "Search with at most %(limit)d words (this has %(words)d).",
            code="too_many_words",
            params={"limit": SEARCH_MAX_WORDS, "words": words},
        )


def search_condition(query: str) -> Q | None:
    """A Q matching customers for a free-text query, or None for an empty query.

    Everything is matched against `Customer.search_text` (names, company, email, mark key and E.164 phone, lower-case,
    kept by the database): every word somewhere in it, or the whole query as a mark, or as a phone.
    """
    # Callers that cannot show an error (the admin's search box) get the first words rather than a failed query.
    query = " ".join(query[:SEARCH_MAX_LENGTH].split()[:SEARCH_MAX_WORDS])
    if not query:
        return None
    key = mark_key(query)
    if _PHONE_LIKE.match(query):
        # Digits and phone punctuation only: a phone (whole or a fragment) or a numeric mark. Matched word by word,
        # "+233 24" would ask for every customer with "+233" and "24" anywhere, which is every Ghanaian number.
        condition = Q(search_text__contains=key.lower()) if key else Q(pk__in=[])
        phone = normalise_phone(query, settings.DEFAULT_PHONE_REGION)
        if phone.ok:
            condition |= Q(phone=phone.e164)
        digits = _NON_DIGITS.sub("", query)
        # A partial number: "024 123" is typed with the trunk zero that E.164 does not store.
        digits = digits[2:] if digits.startswith("00") else digits.lstrip("0")
        if len(digits) >= 3 and digits != key.lower():
            condition |= Q(search_text__contains=digits)
        return condition

    words = query.lower().split(" ")
    condition = Q()
    for word in words:
        condition &= Q(search_text__contains=word)
    if key and key.lower() not in words:
        condition |= Q(search_text__contains=key.lower())
    return condition


def exact_first(queryset: QuerySet, query: str) -> QuerySet:
    """The customer whose mark (however spaced or cased) or phone (in any format) is exactly the query comes first,
    then the queryset's own order: staff who type a whole mark are looking for that customer, not its neighbours."""
    key = mark_key(" ".join(query[:SEARCH_MAX_LENGTH].split()))
    if not key:
        return queryset
    exact = Q(mark_key=key)
    phone = normalise_phone(query, settings.DEFAULT_PHONE_REGION) if _PHONE_LIKE.match(query.strip()) else None
    if phone is not None and phone.ok:
        exact |= Q(phone=phone.e164)
    ordering = queryset.query.order_by or queryset.model._meta.ordering
    rank = Case(When(exact, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.annotate(search_rank=rank).order_by("search_rank", *ordering)


def search_customers(queryset: QuerySet, query: str) -> QuerySet:
    condition = search_condition(query)
    return queryset if condition is None else exact_first(queryset.filter(condition), query)
