"""What the warehouse's dashboard shows: the unknown marks waiting, the goods waiting to be loaded, what was received
today and this week per warehouse, and the last goods import. A few grouped queries over indexed columns, whatever the
table's size (the goods waiting to be loaded read the matched receipts until a partial index of the waiting ones
serves them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, F, Sum
from django.utils import timezone

from primepre.imports.models import ImportJob

from .models import GoodsReceipt, ReceiptStatus
from .queue import unknown_marks
from .warehouses import warehouses


def _received_since(day: dt.date) -> list[dict[str, Any]]:
    rows = (
        GoodsReceipt.objects.filter(received_on__gte=day)
        .exclude(status=ReceiptStatus.CANCELLED)
        .order_by()
        .values("warehouse")
        .annotate(lines=Count("id"), cartons=Sum("cartons"), cbm=Sum("cbm"))
    )
    names = warehouses()
    return [{**row, "name": names.get(row["warehouse"], row["warehouse"])} for row in rows.order_by("warehouse")]


def _waiting_to_load() -> dict[str, int]:
    """Matched receipts with cartons on no loading list yet (the shipments' waiting goods page), and those cartons."""
    totals = GoodsReceipt.objects.filter(status=ReceiptStatus.RECEIVED, cartons_loaded__lt=F("cartons")).aggregate(
        receipts=Count("id"), waiting_cartons=Sum(F("cartons") - F("cartons_loaded"))
    )
    return {"receipts": totals["receipts"], "cartons": totals["waiting_cartons"] or 0}


def warehouse_summary() -> dict[str, Any]:
    """Unknown marks waiting (the queue's own count: left marks aside), received today and since Monday per
    warehouse (lines, cartons, CBM), and the latest goods import."""
    today = timezone.localdate()
    return {
        "unknown_marks": unknown_marks().count(),
        "waiting": _waiting_to_load(),
        "today": _received_since(today),
        "this_week": _received_since(today - dt.timedelta(days=today.weekday())),
        "last_import": ImportJob.objects.filter(schema="goods").select_related("created_by").first(),
    }
