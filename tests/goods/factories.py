"""Small builders for goods receipts in tests."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from primepre.goods.models import GoodsReceipt, ReceiptStatus

_counter = itertools.count(1)
DAY = dt.date(2026, 11, 28)


def receipt_data(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    data: dict[str, Any] = {
        "shipping_mark": "PM4 KOFI",
        "warehouse": "GZ",
        "received_on": DAY,
        "description": f"shoes {n}",
        "cartons": 2,
        "cbm": Decimal("0.500"),
        "method": "sea",
        "status": ReceiptStatus.UNIDENTIFIED,
    }
    data.update(overrides)
    if data.get("customer") is not None and "status" not in overrides:
        data["status"] = ReceiptStatus.RECEIVED
    return data


def make_receipt(**overrides: Any) -> GoodsReceipt:
    return GoodsReceipt.objects.create(**receipt_data(**overrides))
