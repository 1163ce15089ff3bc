"""The unknown-mark queue: unidentified receipts grouped by mark key, each with up to 5 customers it may belong to.

The queue is one grouped query over the partial index of unidentified receipts. Suggestions never read the customer
table end to end: candidates are the customers whose keys sit next to the unknown key (and to its look-alike
spellings) in the `mark_key` index, a few dozen rows, ranked in Python by an edit distance that forgives the
confusions of hand-written marks (0/O, 1/I/L, 5/S).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.query import RawQuerySet

from primepre.common.phonemask import mask_phone
from primepre.customers.marks import mark_key as key_of
from primepre.customers.models import Customer

from .models import GoodsReceipt, MarkAlias, MarkLeft, ReceiptStatus

SUGGESTIONS = 5
NEIGHBOURS = 8  # keys read on each side of a probe in the index
QUEUE_ORDERINGS = {
    "first_received": ("first_received", "mark_key"),
    "-first_received": ("-first_received", "mark_key"),
    "last_received": ("last_received", "mark_key"),
    "-last_received": ("-last_received", "mark_key"),
    "receipts": ("receipts", "mark_key"),
    "-receipts": ("-receipts", "mark_key"),
    "cbm": ("cbm", "mark_key"),
    "-cbm": ("-cbm", "mark_key"),
    "mark_key": ("mark_key",),
}
# What the queue's ordering menu says for each ordering.
QUEUE_ORDERING_LABELS = {
    "first_received": "Oldest first",
    "-first_received": "Newest first",
    "last_received": "Longest untouched",
    "-last_received": "Most recently received",
    "receipts": "Fewest receipts",
    "-receipts": "Most receipts",
    "cbm": "Smallest CBM",
    "-cbm": "Largest CBM",
    "mark_key": "Mark A–Z",
}
# Hand-written look-alikes, folded to one letter before distances are measured: `PM4 K0FI` is `PM4 KOFI`.
_FOLD = str.maketrans({"0": "o", "1": "i", "l": "i", "5": "s"})
_TO_LETTER = {"0": "o", "1": "i", "5": "s"}
_TO_DIGIT = {"o": "0", "i": "1", "l": "1", "s": "5"}


@dataclass(slots=True)
class Suggestion:
    customer_id: int
    shipping_mark: str
    name: str
    matched_key: str  # the customer's mark key, or the alias key that was close
    via_alias: bool
    distance: int
    # What tells two KOJOs apart: the phone (masked), the region and how many receipts they already have.
    phone_masked: str = ""
    region: str = ""
    receipts: int = 0


@dataclass(slots=True)
class UnknownMark:
    mark_key: str
    shipping_mark: str  # one way it was written, for display
    receipts: int
    cartons: int
    cbm: Decimal
    first_received: dt.date
    last_received: dt.date
    last_recorded: dt.datetime | None = None
    left_at: dt.datetime | None = None
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def still_left(self) -> bool:
        """Left for later, and no receipt with the mark was recorded since (the queue hides it)."""
        return self.left_at is not None and self.last_recorded is not None and self.last_recorded <= self.left_at


def unknown_marks(
    ordering: str = "first_received", mark_key: str | None = None, left: bool | None = False, search: str = ""
) -> QuerySet:
    """One row per unknown mark key (dicts: mark_key, shipping_mark, receipts, cartons, cbm, first_received,
    last_received, left_at), oldest waiting first by default. Lazy: paginate it, then `with_suggestions` for the page.

    `left`: False (the queue) hides the marks staff left (`MarkLeft`) while no receipt arrived since; True shows
    only those; None shows every mark. `search`: marks whose key holds the search folded the same way (`kofi`,
    `PM4-K`)."""
    receipts = GoodsReceipt.objects.filter(status=ReceiptStatus.UNIDENTIFIED)
    if mark_key is not None:
        receipts = receipts.filter(mark_key=mark_key)
    if folded := key_of(search):
        receipts = receipts.filter(mark_key__contains=folded)
    left_at = MarkLeft.objects.filter(mark_key=OuterRef("mark_key")).values("left_at")[:1]
    rows = (
        receipts.order_by()  # no Meta ordering: it would be added to the GROUP BY
        .values("mark_key")
        .annotate(
            shipping_mark=Min("shipping_mark"),
            receipts=Count("id"),
            cartons=Sum("cartons"),
            cbm=Sum("cbm"),
            first_received=Min("received_on"),
            last_received=Max("received_on"),
            last_recorded=Max("created_at"),
            left_at=Subquery(left_at),
        )
        .order_by(*QUEUE_ORDERINGS.get(ordering, QUEUE_ORDERINGS["first_received"]))
    )
    still_left = Q(left_at__isnull=False, last_recorded__lte=F("left_at"))
    if left is None:
        return rows
    return rows.filter(still_left) if left else rows.exclude(still_left)


def with_suggestions(rows: Any) -> list[UnknownMark]:
    """The queue rows of one page, each with its suggested customers (two small indexed queries per mark)."""
    result = []
    for row in rows:
        mark = UnknownMark(**row)
        mark.suggestions = suggest_customers(mark.mark_key)
        result.append(mark)
    return result


def queued_mark(key: str, suggest: bool = True) -> UnknownMark | None:
    """One mark of the queue for its own page, left for later or not, with its suggestions when `suggest` (they name
    customers); None when no receipt with this key is unidentified (any more)."""
    row = unknown_marks(mark_key=key, left=None).first()
    if row is None:
        return None
    mark = UnknownMark(**row)
    if suggest:
        mark.suggestions = suggest_customers(key)
    return mark


def fold(key: str) -> str:
    """A mark key with look-alike characters made one (`pm4k0fi` → `pm4kofi`, `pm1` → `pmi`)."""
    return key.translate(_FOLD)


def edit_distance(a: str, b: str) -> int:
    """Damerau–Levenshtein (optimal string alignment): insertions, deletions, substitutions and swaps of two
    neighbours each cost 1. Marks are short (a dozen characters), so the full table is cheap."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, 1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def max_distance(key: str) -> int:
    """How different a suggestion may be: one slip in a short mark, two in a usual one, three in a long one."""
    return 1 if len(key) <= 4 else 2 if len(key) <= 10 else 3


def probes(key: str) -> list[str]:
    """Where to look in the index: the key, and the key with look-alikes read the other way in context (a digit
    between letters as a letter: `pm4k0fi` → `pm4kofi`; a letter after a digit as a digit: `pm1o` → `pm10`)."""
    letters = list(key)
    digits = list(key)
    for index, char in enumerate(key):
        before = key[index - 1] if index else ""
        after = key[index + 1] if index + 1 < len(key) else ""
        if char in _TO_LETTER and before.isalpha() and (not after or after.isalpha()):
            letters[index] = _TO_LETTER[char]
        if char in _TO_DIGIT and before.isdigit():
            digits[index] = _TO_DIGIT[char]
    return list(dict.fromkeys([key, "".join(letters), "".join(digits)]))


def near_sql(queryset: QuerySet, keys: list[str]) -> tuple[str, list[Any]]:
    """One statement for the rows whose mark_key is among the NEIGHBOURS keys on either side of each probe: a UNION
    ALL of index range scans with a LIMIT each, never a scan of the table. Raw SQL around the ORM's own compiled
    queries (values stay parameters) because Django refuses LIMITed parts in a UNION on SQLite, which accepts them as
    sub-selects."""
    parts: list[str] = []
    params: list[Any] = []
    for key in keys:
        for part in (
            queryset.filter(mark_key__gte=key).order_by("mark_key")[:NEIGHBOURS],
            queryset.filter(mark_key__lt=key).order_by("-mark_key")[:NEIGHBOURS],
        ):
            sql, part_params = part.query.sql_with_params()
            parts.append(f"SELECT * FROM ({sql}) AS near{len(parts)}")  # noqa: S608 - compiled by the ORM
            params.extend(part_params)
    return " UNION ALL ".join(parts), params


def _near(queryset: QuerySet, keys: list[str]) -> RawQuerySet:
    sql, params = near_sql(queryset, keys)
    return queryset.model.objects.raw(sql, params)


def suggest_customers(key: str, limit: int = SUGGESTIONS) -> list[Suggestion]:
    """Up to `limit` customers whose mark (or one of whose aliases) is within `max_distance` of `key`, closest first:
    by distance after folding look-alikes, then by plain distance (an exact look-alike beats a real typo)."""
    if not key:
        return []
    places = probes(key)
    folded, allowed = fold(key), max_distance(key)
    ranked: dict[int, tuple[int, int, str, Suggestion]] = {}

    def consider(customer: Customer, other_key: str, via_alias: bool) -> None:
        distance = edit_distance(folded, fold(other_key))
        if distance > allowed:
            return
        rank = (distance, edit_distance(key, other_key), other_key)
        if customer.pk in ranked and ranked[customer.pk][:3] <= rank:
            return
        suggestion = Suggestion(
            customer.pk,
            customer.shipping_mark,
            customer.full_name,
            other_key,
            via_alias,
            distance,
            phone_masked=mask_phone(customer.phone),
            region=customer.get_region_display() if customer.region else "",
        )
        ranked[customer.pk] = (*rank, suggestion)

    customers = Customer.objects.only("shipping_mark", "mark_key", "first_name", "last_name", "phone", "region")
    for customer in _near(customers, places):
        consider(customer, customer.mark_key, via_alias=False)
    aliases = list(_near(MarkAlias.objects.only("mark_key", "customer_id"), places))
    owners = customers.in_bulk({alias.customer_id for alias in aliases}) if aliases else {}
    for alias in aliases:
        consider(owners[alias.customer_id], alias.mark_key, via_alias=True)
    chosen = [entry[3] for entry in sorted(ranked.values(), key=lambda entry: entry[:3])[:limit]]
    _count_receipts(chosen)
    return chosen


def _count_receipts(suggestions: list[Suggestion]) -> None:
    """Each suggested customer's receipts so far: one grouped query over the (customer, received_on) index."""
    if not suggestions:
        return
    ids = [suggestion.customer_id for suggestion in suggestions]
    rows = GoodsReceipt.objects.filter(customer_id__in=ids).order_by().values("customer_id").annotate(n=Count("id"))
    counts = {row["customer_id"]: row["n"] for row in rows}
    for suggestion in suggestions:
        suggestion.receipts = counts.get(suggestion.customer_id, 0)
