"""A receipt's history: every change, on every path that edits receipts (the API's PUT/PATCH, the admin, resolving a
mark), is recorded as a `ReceiptChange` in the same transaction as the change itself, so the two commit or roll back
together.

Before → after is taken against the row as stored, read under its lock: two edits at once are recorded one after
the other, each with the values it really replaced. Values are JSON: the customer by id, decimals as text (`"1.250"`,
exact), dates as ISO text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction

from .models import ChangeSource, GoodsReceipt, ReceiptChange, ReceiptStatus

# What a receipt says, as staff and bills read it (derived keys and timestamps follow from these).
TRACKED = (
    "customer", "shipping_mark", "warehouse", "received_on", "description", "cartons", "cbm", "length_cm", "width_cm",
    "height_cm", "weight_kg", "tracking_number", "method", "status", "notes", "specification",
)  # fmt: skip


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def snapshot(receipt: GoodsReceipt) -> dict[str, Any]:
    """The tracked fields as JSON values (`customer` by id)."""
    return {name: _json(getattr(receipt, receipt._meta.get_field(name).attname)) for name in TRACKED}


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"before": before[name], "after": after[name]} for name in TRACKED if before[name] != after[name]}


def _who(user: Any) -> dict[str, Any]:
    known = user is not None and getattr(user, "is_authenticated", False)
    return {"changed_by": user if known else None, "changed_by_name": user.get_username() if known else ""}


def record(
    receipt: GoodsReceipt, before: dict[str, Any], user: Any, source: str, reason: str = ""
) -> ReceiptChange | None:
    """The change from `before` to the receipt as it is now, or None when no tracked field changed."""
    changes = changed_fields(before, snapshot(receipt))
    if not changes:
        return None
    return ReceiptChange.objects.create(
        receipt=receipt, source=source, changes=changes, reason=reason[:500], **_who(user)
    )


def save_with_history(
    receipt_id: int,
    apply: Callable[[GoodsReceipt], GoodsReceipt],
    user: Any,
    source: str,
    reason: str = "",
) -> Any:
    """Lock the stored receipt, let `apply` change and save it (it gets the locked row and returns the saved one),
    and record what changed (with `reason`), all in one transaction."""
    with transaction.atomic():
        stored = GoodsReceipt.objects.select_for_update().get(pk=receipt_id)
        before = snapshot(stored)
        saved = apply(stored)
        record(saved, before, user, source, reason)
        return saved


def record_resolution(receipt_ids: Iterable[int], customer_id: int, user: Any, *, undone: bool = False) -> int:
    """Resolving a mark moved these receipts from unidentified to `customer_id` (one UPDATE, `resolve.py`), or its
    undo (`undone`) moved them back: one record each, written by the caller's transaction."""
    customer = {"before": None, "after": customer_id}
    status = {"before": ReceiptStatus.UNIDENTIFIED.value, "after": ReceiptStatus.RECEIVED.value}
    if undone:
        customer, status = ({"before": c["after"], "after": c["before"]} for c in (customer, status))
    changes = {"customer": customer, "status": status}
    who = _who(user)
    rows = [ReceiptChange(receipt_id=pk, source=ChangeSource.RESOLVE, changes=changes, **who) for pk in receipt_ids]
    return len(ReceiptChange.objects.bulk_create(rows, batch_size=1000))
