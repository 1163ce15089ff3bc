"""What staff do to one receipt from its page: correct it, hold it, release the hold, cancel it, give it to another
customer. Actions with domain exceptions and no HTTP, as `resolve.py`.

Each is one transaction through `history.save_with_history`: the row is locked (SELECT … FOR UPDATE), the rule of
the action is checked against the row as stored, the change is saved and recorded with who, when and why. Two staff
acting on one receipt at once are serialised by the lock: the second sees the first's result (a hold then a cancel
both apply; a second cancel is refused, `ReceiptActionRefused`). Model validation (cartons at least 1, a known
warehouse …) runs before the save; a ValidationError rolls everything back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from primepre.customers.models import Customer

from .history import save_with_history
from .models import ChangeSource, GoodsReceipt, ReceiptStatus

# What the page's edit form may change; the customer moves by `reassign`, the status by hold/cancel.
EDITABLE = ("cartons", "cbm", "description", "warehouse", "method")
# A receipt that left the warehouse's hands (cancelled) is not edited any more: its history is what it was.
OPEN = (ReceiptStatus.RECEIVED, ReceiptStatus.UNIDENTIFIED, ReceiptStatus.ON_HOLD)


class ReceiptActionRefused(Exception):
    """The receipt's state does not allow this action (HTTP 409 on an API; a message on the page)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _act(
    receipt_id: int, user: Any, reason: str, change: Callable[[GoodsReceipt], None], *, needs_reason: bool = True
) -> GoodsReceipt:
    reason = " ".join(reason.split())[:500]
    if needs_reason and not reason:
        raise ReceiptActionRefused("Say why: a hold, a cancel and a reassignment are kept with their reason.")

    def apply(stored: GoodsReceipt) -> GoodsReceipt:
        change(stored)
        stored.full_clean()
        stored.save()
        return stored

    return save_with_history(receipt_id, apply, user, ChangeSource.PAGE, reason)


def _must_be(receipt: GoodsReceipt, allowed: tuple[str, ...], action: str) -> None:
    if receipt.status not in allowed:
        raise ReceiptActionRefused(
            f"Receipt {receipt.pk} is {receipt.get_status_display().lower()}: it cannot be {action}."
        )


def edit_receipt(receipt_id: int, values: Mapping[str, Any], user: Any, reason: str = "") -> GoodsReceipt:
    """Correct the receipt's cartons, CBM, description, warehouse or method (a reason is welcome, not required)."""

    def change(receipt: GoodsReceipt) -> None:
        _must_be(receipt, OPEN, "edited")
        for name in EDITABLE:
            if name in values:
                setattr(receipt, name, values[name])

    return _act(receipt_id, user, reason, change, needs_reason=False)


def hold_receipt(receipt_id: int, user: Any, reason: str) -> GoodsReceipt:
    """Received or unidentified → on hold: it stays in the warehouse and is not loaded until released."""

    def change(receipt: GoodsReceipt) -> None:
        _must_be(receipt, (ReceiptStatus.RECEIVED, ReceiptStatus.UNIDENTIFIED), "put on hold")
        receipt.status = ReceiptStatus.ON_HOLD

    return _act(receipt_id, user, reason, change)


def release_receipt(receipt_id: int, user: Any, reason: str) -> GoodsReceipt:
    """On hold → received (it has a customer) or unidentified (it has none)."""

    def change(receipt: GoodsReceipt) -> None:
        _must_be(receipt, (ReceiptStatus.ON_HOLD,), "released")
        receipt.status = ReceiptStatus.RECEIVED if receipt.customer_id else ReceiptStatus.UNIDENTIFIED

    return _act(receipt_id, user, reason, change)


def cancel_receipt(receipt_id: int, user: Any, reason: str) -> GoodsReceipt:
    """Any open receipt → cancelled (entered twice, never arrived, returned to the supplier). Final."""

    def change(receipt: GoodsReceipt) -> None:
        _must_be(receipt, OPEN, "cancelled")
        receipt.status = ReceiptStatus.CANCELLED

    return _act(receipt_id, user, reason, change)


def reassign_receipt(receipt_id: int, customer: Customer, user: Any, reason: str) -> GoodsReceipt:
    """Give this one receipt to `customer` (an unidentified one becomes received). Its mark is not aliased: that is
    the queue's `assign_mark`, for every receipt of a mark."""

    def change(receipt: GoodsReceipt) -> None:
        _must_be(receipt, OPEN, "reassigned")
        if receipt.customer_id == customer.pk:
            raise ReceiptActionRefused(f"Receipt {receipt.pk} already belongs to {customer.shipping_mark}.")
        receipt.customer = customer
        if receipt.status == ReceiptStatus.UNIDENTIFIED:
            receipt.status = ReceiptStatus.RECEIVED

    return _act(receipt_id, user, reason, change)
