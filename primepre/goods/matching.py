"""Which customer a mark belongs to: the customer whose own `mark_key` it is, else the customer it is an alias of.

A batch of lines is matched with one query for all its distinct keys (the old system scanned every customer for every
unmatched row).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from django.db.models import Value

from primepre.customers.models import Customer

from .models import GoodsReceipt, MarkAlias

# Keys per statement: two IN lists of this size stay far below SQLite's bound-parameter limit (32,766).
MATCH_CHUNK = 5000


def match_marks(keys: Iterable[str]) -> dict[str, int]:
    """mark_key → customer id for every key that belongs to someone; keys that match nobody are absent.

    One statement per MATCH_CHUNK distinct keys: customers by `mark_key IN …` UNION ALL aliases by `mark_key IN …`.
    A customer's own mark wins over an alias with the same key (resolving refuses to make one, but a customer may be
    given that mark later)."""
    distinct = iter(sorted({key for key in keys if key}))
    result: dict[str, int] = {}
    while chunk := list(islice(distinct, MATCH_CHUNK)):
        own = Customer.objects.filter(mark_key__in=chunk).annotate(alias=Value(False)).order_by()
        aliased = MarkAlias.objects.filter(mark_key__in=chunk).annotate(alias=Value(True)).order_by()
        rows = own.values_list("mark_key", "pk", "alias").union(
            aliased.values_list("mark_key", "customer_id", "alias"), all=True
        )
        for key, customer_id, is_alias in rows:
            if not is_alias or key not in result:
                result[key] = customer_id
    return result


def customer_for_mark(key: str) -> int | None:
    """The customer a single mark key belongs to, or None."""
    return match_marks([key]).get(key)


def existing_tracking_keys(keys: Iterable[str]) -> set[str]:
    """Those of `keys` already recorded on a receipt (a sheet line with one fails `exists`): one query per chunk, on
    the unique partial index."""
    distinct = iter(sorted({key for key in keys if key}))
    found: set[str] = set()
    while chunk := list(islice(distinct, MATCH_CHUNK * 2)):
        found.update(GoodsReceipt.objects.filter(tracking_key__in=chunk).values_list("tracking_key", flat=True))
    return found
