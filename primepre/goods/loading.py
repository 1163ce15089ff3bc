"""The goods side of loading: cartons of a receipt put on (or taken off) a loading list.

`GoodsReceipt.cartons_loaded` moves only here, by ONE conditional UPDATE each way, so the rule "cartons loaded ≤
cartons received, over all lines of a receipt" holds under concurrency: two staff loading the last 40 cartons into two
containers at once both send `… WHERE cartons_loaded + 40 <= cartons`; the row lock makes the second wait, then
re-check against the first's committed value and match nothing. The CHECK constraint
`goods_cartons_loaded_within_received` is the database's backstop. The caller's transaction holds it all.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import F

from .models import GoodsReceipt, ReceiptStatus


def reserve_cartons(receipt_id: int, cartons: int) -> bool:
    """Put `cartons` more of a received (matched, not held or cancelled) receipt on a list; False when fewer are
    waiting or the receipt may not be loaded."""
    if cartons < 1:
        return False
    return bool(
        GoodsReceipt.objects.filter(
            pk=receipt_id, status=ReceiptStatus.RECEIVED, cartons_loaded__lte=F("cartons") - cartons
        ).update(cartons_loaded=F("cartons_loaded") + cartons)
    )


def reserve_many(counts: dict[int, int]) -> bool:
    """`reserve_cartons` for many receipts in ONE conditional UPDATE joined to the wanted counts (loading 500 receipts
    is one statement, linear in their number): True only if every receipt matched (received, and with that many
    cartons still waiting); the caller rolls back otherwise."""
    if not counts or min(counts.values()) < 1:
        return False
    table = GoodsReceipt._meta.db_table
    rows = ", ".join(["(%s, %s)"] * len(counts))
    # `column1`, `column2`: what both PostgreSQL and SQLite call the columns of a bare VALUES list.
    sql = (
        f"UPDATE {table} SET cartons_loaded = {table}.cartons_loaded + wanted.n "  # noqa: S608 - names are ours
        f"FROM (SELECT column1 AS id, column2 AS n FROM (VALUES {rows}) AS given) AS wanted "
        f"WHERE {table}.id = wanted.id AND {table}.status = %s AND {table}.cartons_loaded + wanted.n <= {table}.cartons"
    )
    params = [value for pair in counts.items() for value in pair] + [ReceiptStatus.RECEIVED.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == len(counts)


def release_cartons(receipt_id: int, cartons: int) -> bool:
    """Take `cartons` off the lists again (a line unloaded or shortened); False if fewer were loaded."""
    return bool(
        GoodsReceipt.objects.filter(pk=receipt_id, cartons_loaded__gte=cartons).update(
            cartons_loaded=F("cartons_loaded") - cartons
        )
    )


def waiting_cartons(receipt: GoodsReceipt) -> int:
    return receipt.cartons - receipt.cartons_loaded
