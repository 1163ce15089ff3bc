"""Customer search, shared by the admin, the API and the staff UI: one query box that understands phones in any
format, shipping marks however they are spaced or cased, names and emails."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
        digits = _NON_DIGITS.sub("", query)
        # A partial number: "024 123" is typed with the trunk zero that E.164 does not store.
        digits = digits[2:] if digits.startswith("00") else digits.lstrip("0")
        fragments = [key.lower()] if key else []
        if len(digits) >= 3:
            fragments.append(digits)
        condition = Q(pk__in=[])
        for fragment in _broadest(fragments):
            condition |= Q(search_text__contains=fragment)
        phone = normalise_phone(query, settings.DEFAULT_PHONE_REGION)
        if phone.ok:
            condition |= Q(phone=phone.e164)
        return condition

    return _words_or_mark(query.lower().split(" "), key.lower())


def _words_or_mark(words: list[str], key: str) -> Q:
    """Every word somewhere in the search text, or the whole query as a mark key, with each LIKE that cannot change
    the answer left out: every one is a scan of the table's search text.

    - `kofi mensah` has the key `kofimensah`, which contains each word: a row holding the key holds every word, so
      the words alone are the answer (and so for a one-word query that is its own key);
    - `@yahoo` has the key `yahoo`, inside the word: a row holding the word holds the key, so the key alone is;
    - the longest word is asked first: it is the rarest, so the others are asked of fewer rows.
    A test compares the result with the plain condition for queries of every kind.
    """
    words = sorted(set(words), key=lambda word: (-len(word), word))
    if len(words) == 1 and key and key in words[0]:
        return Q(search_text__contains=key)
    condition = Q()
    for word in words:
        condition &= Q(search_text__contains=word)
    if key and not all(word in key for word in words):
        condition |= Q(search_text__contains=key)
    return condition


def _broadest(fragments: list[str]) -> list[str]:
    """The fragments a row must hold one of, without those that hold another: "0241" is asked as "241" alone (a row
    holding "0241" holds "241"), one scan of the search text instead of two."""
    unique = set(fragments)
    return sorted(fragment for fragment in unique if not any(other in fragment for other in unique - {fragment}))


@dataclass(frozen=True)
class ExactLookup:
    """What a query would be if it named one customer exactly: a mark key, and a whole phone number (E.164) or email
    address when it is one. Each is unique in the table, with its own index."""

    mark_key: str
    phone: str = ""
    email: str = ""

    def condition(self) -> Q:
        condition = Q(mark_key=self.mark_key)
        if self.phone:
            condition |= Q(phone=self.phone)
        if self.email:
            condition |= Q(email=self.email)
        return condition

    def is_whole(self, phone: str, email: str | None) -> bool:
        """A customer found by its whole phone number or email address: nobody else can hold it."""
        return bool((self.phone and phone == self.phone) or (self.email and email == self.email))


def exact_lookup(query: str) -> ExactLookup | None:
    query = " ".join(query[:SEARCH_MAX_LENGTH].split())
    key = mark_key(query)
    if not key:
        return None
    if _PHONE_LIKE.match(query):
        phone = normalise_phone(query, settings.DEFAULT_PHONE_REGION)
        return ExactLookup(key, phone=phone.e164 if phone.ok else "")
    if "@" in query and " " not in query:
        return ExactLookup(key, email=query.lower())
    return ExactLookup(key)


def search_customers(queryset: QuerySet, query: str) -> QuerySet:
    """Customers matching a free-text query, an exact match first.

    The exact match is looked up first, through the unique indexes on mark key, phone and email (one indexed query).
    A whole phone number or email address that belongs to a customer is the answer, with no scan of the table: no
    one else can hold it. Otherwise it is every customer whose `search_text` matches, the exact one (a mark typed in
    full) first, then the queryset's own order; with no exact match the order is the queryset's alone, so the
    database reads the rows in its index's order and stops at the page's end instead of sorting every match.
    """
    condition = search_condition(query)
    if condition is None:
        return queryset
    exact = exact_lookup(query)
    found = (
        []
        if exact is None
        else list(queryset.filter(exact.condition()).order_by().values_list("pk", "phone", "email")[:3])
    )
    if any(exact.is_whole(phone, email) for _, phone, email in found):  # type: ignore[union-attr]
        return queryset.filter(pk__in=[pk for pk, _, _ in found])
    matching = queryset.filter(condition)
    return _exact_first(matching, [pk for pk, _, _ in found]) if found else matching


def _exact_first(queryset: QuerySet, pks: list[int]) -> QuerySet:
    """These customers first, then the queryset's own order: staff who type a whole mark are looking for that
    customer, not its neighbours."""
    ordering = queryset.query.order_by or queryset.model._meta.ordering
    rank = Case(When(pk__in=pks, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.annotate(search_rank=rank).order_by("search_rank", *ordering)
