"""What the customer's page shows of goods: their receipts with totals, and unknown marks that look like theirs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from primepre.customers.models import Customer

from .models import GoodsReceipt, MarkAlias, ReceiptStatus
from .queue import edit_distance, fold, max_distance, near_sql, probes, unknown_marks

CUSTOMER_RECEIPTS_SHOWN = 50


@dataclass(slots=True)
class CustomerGoods:
    receipts: QuerySet  # newest first; slice it for display
    count: int
    cartons: int
    cbm: Decimal
    weight_kg: Decimal


def goods_for_customer(customer: Customer) -> CustomerGoods:
    """The customer's receipts and their totals; cancelled receipts are listed but not counted."""
    receipts = GoodsReceipt.objects.filter(customer=customer).order_by("-received_on", "-id")
    totals = receipts.exclude(status=ReceiptStatus.CANCELLED).aggregate(
        count=Count("id"), cartons=Sum("cartons"), cbm=Sum("cbm"), weight_kg=Sum("weight_kg")
    )
    return CustomerGoods(
        receipts=receipts,
        count=totals["count"],
        cartons=totals["cartons"] or 0,
        cbm=totals["cbm"] or Decimal("0.000"),
        weight_kg=totals["weight_kg"] or Decimal("0.00"),
    )


@dataclass(slots=True)
class ListTotals:
    """The goods list's figures for its whole filter (every page): how many receipts match, and the cartons, CBM and
    kg of those that are not cancelled (as on the customer's page: a cancelled receipt is no goods to ship)."""

    count: int
    cancelled: int
    cartons: int
    cbm: Decimal
    weight_kg: Decimal


def list_totals(receipts: QuerySet) -> ListTotals:
    """One aggregate query over the filtered receipts (its count also serves the list's pager)."""
    counted = ~Q(status=ReceiptStatus.CANCELLED)
    totals = receipts.aggregate(
        count=Count("id"),
        cancelled=Count("id", filter=~counted),
        cartons=Sum("cartons", filter=counted),
        cbm=Sum("cbm", filter=counted),
        weight_kg=Sum("weight_kg", filter=counted),
    )
    return ListTotals(
        count=totals["count"],
        cancelled=totals["cancelled"],
        cartons=totals["cartons"] or 0,
        cbm=totals["cbm"] or Decimal("0.000"),
        weight_kg=totals["weight_kg"] or Decimal("0.00"),
    )


def pending_marks_like(customer: Customer) -> list[dict[str, Any]]:
    """Queue rows (see `unknown_marks`) of unknown marks close to the customer's mark or one of their aliases, by the
    same rule as the queue's suggestions; read from the partial index of unidentified receipts, never all of it."""
    own = [customer.mark_key, *MarkAlias.objects.filter(customer=customer).values_list("mark_key", flat=True)[:20]]
    probed = sorted({probe for mark in own if mark for probe in probes(mark)})
    if not probed:
        return []
    unidentified = GoodsReceipt.objects.filter(status=ReceiptStatus.UNIDENTIFIED).values("mark_key").distinct()
    sql, params = near_sql(unidentified, probed)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        nearby = {row[0] for row in cursor.fetchall()}
    close = {
        key for key in nearby if any(edit_distance(fold(key), fold(mark)) <= max_distance(mark) for mark in own if mark)
    }
    if not close:
        return []
    return list(unknown_marks().filter(mark_key__in=close))


def customers_holding_goods(customers: QuerySet) -> QuerySet:
    """Those of `customers` that goods receipts or mark aliases point at. Deleting them is refused (receipts PROTECT
    their customer; a raw DELETE also fails on the aliases' foreign key), so an import's undo must keep them."""
    return customers.filter(
        Exists(GoodsReceipt.objects.filter(customer=OuterRef("pk")))
        | Exists(MarkAlias.objects.filter(customer=OuterRef("pk")))
    )
