"""Per-user rate limits counted in the database, so every web process (and the API and the pages) shares one count.

A limit is DRF's rate format (`600/hour`). Each request is counted by ONE upsert of the user's row for the limit
(`RateCounter`), which also rolls the period over: the row keeps this period's count and the previous period's. The
limit slides: a request is allowed while `previous × (the share of the previous period still inside the window) +
count` is within the limit, so a client cannot take a whole limit at 10:59 and another at 11:00. A refused request is
not counted (its count is given back), so waiting the `retry_after` it was told is enough.

Concurrency: the upsert is one statement under the row's lock (PostgreSQL) or the database's write lock (SQLite):
two processes counting at once both count, and each sees the other's request.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from .models import RateCounter

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

# Counts a request and rolls the period over, in one statement. SET expressions read the row as it was, and a
# process whose clock is a little behind (`period` in the past) counts into the current period, never resets it.
_UPSERT = """
INSERT INTO {table} (user_id, scope, period, count, previous) VALUES (%s, %s, %s, 1, 0)
ON CONFLICT (user_id, scope) DO UPDATE SET
    count = CASE WHEN {table}.period >= excluded.period THEN {table}.count + 1 ELSE 1 END,
    previous = CASE
        WHEN {table}.period >= excluded.period THEN {table}.previous
        WHEN {table}.period = excluded.period - 1 THEN {table}.count
        ELSE 0
    END,
    period = CASE WHEN {table}.period >= excluded.period THEN {table}.period ELSE excluded.period END
"""


@dataclass(frozen=True, slots=True)
class Rate:
    limit: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # seconds until a request would be allowed again (0 when allowed)


def parse_rate(rate: str | None) -> Rate | None:
    """`600/hour` → Rate(600, 3600); empty → None (no limit). Raises ValueError for anything else."""
    if not rate:
        return None
    number, _, period = rate.partition("/")
    if not number.strip().isdigit() or period.strip()[:1] not in _PERIODS:
        raise ValueError(f"{rate!r} is not a rate: use N/second, N/minute, N/hour or N/day.")
    return Rate(int(number), _PERIODS[period.strip()[0]])


def _count(user_id: int, scope: str, period: int) -> tuple[int, int, int]:
    """Count one request; the row's (period, count, previous) after it."""
    sql = _UPSERT.format(table=RateCounter._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.features.can_return_rows_from_bulk_insert:  # RETURNING: PostgreSQL, SQLite 3.35+
            cursor.execute(sql + " RETURNING period, count, previous", [user_id, scope, period])
            return cursor.fetchone()
        cursor.execute(sql, [user_id, scope, period])  # older SQLite: the write lock is held to the commit
        row = RateCounter.objects.filter(user_id=user_id, scope=scope).values_list("period", "count", "previous")
        return row.get()


def _give_back(user_id: int, scope: str, period: int) -> None:
    RateCounter.objects.filter(user_id=user_id, scope=scope, period=period, count__gt=0).update(count=F("count") - 1)


def hit(user: Any, scope: str, rate: Rate, now: float | None = None) -> Decision:
    """Count a request of `user` under `scope` and say whether it is within `rate`."""
    now = time.time() if now is None else now
    current = int(now // rate.seconds)
    period, count, previous = _count(user.pk, scope, current)
    elapsed = min(max(now - period * rate.seconds, 0.0), rate.seconds)  # into the row's period
    share = 1 - elapsed / rate.seconds  # of the previous period still inside the sliding window
    if previous * share + count <= rate.limit:
        return Decision(True)
    _give_back(user.pk, scope, period)
    return Decision(False, _retry_after(count - 1, previous, elapsed, rate))


def _retry_after(count: int, previous: int, elapsed: float, rate: Rate) -> int:
    """Seconds until one more request fits, if none is made meanwhile: later in this period while the previous
    period's share shrinks, else in the next period while this one's does."""
    if count + 1 <= rate.limit and previous:
        # previous × (1 − (elapsed + t) / seconds) + count + 1 ≤ limit
        wait = rate.seconds * (1 - (rate.limit - count - 1) / previous) - elapsed
        return max(1, math.ceil(wait))
    to_next = rate.seconds - elapsed
    if count <= 0:
        return max(1, math.ceil(to_next))
    # In the next period: count × (1 − t / seconds) + 1 ≤ limit
    return max(1, math.ceil(to_next + max(0.0, rate.seconds * (1 - (rate.limit - 1) / count))))
