"""Resolving an unknown mark, once for all its receipts: give it to a customer, create the customer, or leave it.

Each action is one transaction whose receipts move with ONE conditional UPDATE (`WHERE mark_key = … AND status =
'unidentified'`), whatever their number, and get one history record each (`history.py`). Two staff resolving the
same mark at once: exactly one wins; the other gets `MarkConflict` (HTTP 409) and nothing of theirs is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from primepre.customers.models import Customer

from .history import record_resolution
from .matching import match_marks
from .models import GoodsReceipt, MarkAlias, MarkLeft, ReceiptStatus

logger = logging.getLogger("primepre.goods")


class MarkConflict(Exception):
    """Someone resolved this mark first (or the mark now belongs to a customer): nothing was changed."""

    code = "conflict"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MarkNotQueued(Exception):
    """No unidentified receipt has this mark key."""

    code = "not_found"


@dataclass(frozen=True, slots=True)
class Resolution:
    mark_key: str
    action: str  # assign | create | leave | unassign
    receipts: int  # receipts that moved (or, for leave, that stay unidentified)
    customer_id: int | None = None
    messages_queued: int = 0


def unidentified(key: str) -> Any:
    return GoodsReceipt.objects.filter(mark_key=key, status=ReceiptStatus.UNIDENTIFIED)


def _sample_mark(key: str) -> str:
    """The way this mark was written most often (the new customer's mark, the alias's label)."""
    row = unidentified(key).values("shipping_mark").annotate(n=Count("id")).order_by("-n", "shipping_mark").first()
    if row is None:
        owner = match_marks([key]).get(key)
        if owner is not None:
            raise MarkConflict(f"This mark was already resolved: it belongs to customer {owner} now.")
        raise MarkNotQueued(key)
    return row["shipping_mark"]


def _claim_receipts(key: str, customer_id: int, user: Any) -> int:
    """Give every unidentified receipt with this key to the customer: one UPDATE, then one history record each
    (`history.py`), in the caller's transaction.

    Concurrency: the WHERE re-checks `status = 'unidentified'` on each row as it is locked, so rows another
    resolution took first are not touched; zero rows means somebody else resolved the mark (the caller rolls back).
    The rows this UPDATE moved are the ones it stamped with its own `updated_at`: the history names exactly them."""
    now = timezone.now()
    moved = unidentified(key).update(customer_id=customer_id, status=ReceiptStatus.RECEIVED, updated_at=now)
    if moved:
        claimed = GoodsReceipt.objects.filter(mark_key=key, customer_id=customer_id, updated_at=now)
        record_resolution(claimed.values_list("pk", flat=True), customer_id, _user(user))
    return moved


def assign_mark(key: str, customer: Customer, user: Any = None) -> Resolution:
    """The mark becomes an alias of `customer` and all its unidentified receipts are theirs, now and in later imports.

    Concurrency: the alias is unique on its key, so of two staff assigning the same mark the second's INSERT fails
    (after the first commits, on PostgreSQL it waits for it) and they get MarkConflict; a concurrent `create_customer`
    is caught by the conditional UPDATE claiming no rows."""
    if customer.mark_key == key:
        raise MarkConflict(f"{customer.shipping_mark} is already this customer's own mark.")
    label = _sample_mark(key)
    try:
        with transaction.atomic():
            MarkAlias.objects.create(mark_key=key, shipping_mark=label, customer=customer, created_by=_user(user))
            moved = _claim_receipts(key, customer.pk, user)
            if moved == 0:
                raise MarkConflict(f"Mark {label} was resolved by someone else just now.")
    except IntegrityError:
        owner = MarkAlias.objects.filter(mark_key=key).select_related("customer").first()
        who = f" to {owner.customer.shipping_mark}" if owner else ""
        raise MarkConflict(f"Mark {label} was already assigned{who} by someone else.") from None
    logger.info("[GOODS-RESOLVE] action=assign mark=%s customer=%s receipts=%s", key, customer.pk, moved)
    return Resolution(key, "assign", moved, customer.pk, _notify(key, customer.pk))


def create_customer_for_mark(key: str, *, first_name: str, last_name: str, phone: str, user: Any = None) -> Resolution:
    """A new customer whose own mark is this one (as it was most often written), validated by the customer model
    (names and phone required, phone normalised, mark unique), and all the mark's unidentified receipts are theirs.

    Raises ValidationError for bad input. Concurrency: the customer's mark key is unique and aliases are checked
    first, so of two staff creating (or one creating, one assigning) the second gets MarkConflict: either its INSERT
    fails, or its conditional UPDATE claims no rows and its customer is rolled back with it."""
    label = _sample_mark(key)
    if MarkAlias.objects.filter(mark_key=key).exists():
        raise MarkConflict(f"Mark {label} was already assigned to a customer by someone else.")
    customer = Customer(first_name=first_name, last_name=last_name, phone=phone, shipping_mark=label)
    customer.created_by = _user(user)
    try:
        customer.full_clean()
    except ValidationError as exc:
        if any(error.code == "unique" for error in exc.error_dict.get("shipping_mark", [])):
            raise MarkConflict(f"Mark {label} now belongs to a customer; assign it instead.") from None
        raise
    try:
        with transaction.atomic():
            customer.save()
            moved = _claim_receipts(key, customer.pk, user)
            if moved == 0:
                raise MarkConflict(f"Mark {label} was resolved by someone else just now.")
    except IntegrityError:
        raise MarkConflict(f"Mark {label} or phone {customer.phone} was just taken by another customer.") from None
    logger.info("[GOODS-RESOLVE] action=create mark=%s customer=%s receipts=%s", key, customer.pk, moved)
    return Resolution(key, "create", moved, customer.pk, _notify(key, customer.pk))


@dataclass(frozen=True, slots=True)
class AssignPlan:
    """What assigning a mark to a customer would do, for the confirmation a clerk reads before it happens."""

    receipts: int
    cartons: int
    sms: int  # receipt texts it would queue (imports that asked for them, days the customer was not told yet)


def plan_assignment(key: str, customer: Customer) -> AssignPlan:
    """The receipts and cartons that would move and the SMS that would go out, counted without writing."""
    from .notify import SMS_OPTION, count_receipt_sms

    rows = unidentified(key)
    totals = rows.aggregate(receipts=Count("id"), cartons=Sum("cartons"))
    told = rows.filter(**{f"import_job__options__{SMS_OPTION}": True}).values_list("received_on", flat=True)
    sms = count_receipt_sms((customer.pk, day) for day in set(told))
    return AssignPlan(totals["receipts"] or 0, totals["cartons"] or 0, sms)


def unassign_mark(key: str, user: Any = None) -> Resolution:
    """Undo an assignment: the mark stops being the customer's alias, and every receipt it gave them goes back to
    the queue (unidentified, no customer), each with a history record. Texts already sent are not recalled.

    Concurrency: one transaction. The alias row is locked and deleted, so of two undos the second finds none
    (MarkConflict); the receipts move with ONE conditional UPDATE (this mark, the alias's customer, still
    `received`), so a receipt edited elsewhere meanwhile is left as it is."""
    with transaction.atomic():
        alias = MarkAlias.objects.select_for_update().filter(mark_key=key).first()
        if alias is None:
            raise MarkConflict("This mark is not assigned to a customer (any more): nothing to undo.")
        now = timezone.now()
        mine = GoodsReceipt.objects.filter(mark_key=key, customer_id=alias.customer_id)
        moved = mine.filter(status=ReceiptStatus.RECEIVED).update(
            customer=None, status=ReceiptStatus.UNIDENTIFIED, updated_at=now
        )
        returned = GoodsReceipt.objects.filter(mark_key=key, customer=None, updated_at=now).values_list("pk", flat=True)
        record_resolution(returned, alias.customer_id, _user(user), undone=True)
        alias.delete()
    logger.info("[GOODS-RESOLVE] action=unassign mark=%s customer=%s receipts=%s", key, alias.customer_id, moved)
    return Resolution(key, "unassign", moved, alias.customer_id)


def leave_mark(key: str, user: Any = None) -> Resolution:
    """Leave the mark unidentified for now: its receipts stay unidentified, and the queue hides the mark (`MarkLeft`)
    until a receipt with it arrives after this moment, or someone asks for the left marks.

    Concurrency: one upsert on the mark's unique key; two staff leaving it at once leave it once, at the later time."""
    count = unidentified(key).count()
    if count == 0:
        raise MarkNotQueued(key)
    MarkLeft.objects.update_or_create(mark_key=key, defaults={"left_at": timezone.now(), "left_by": _user(user)})
    logger.info("[GOODS-RESOLVE] action=leave mark=%s receipts=%s user=%s", key, count, getattr(user, "pk", None))
    return Resolution(key, "leave", count)


def _notify(key: str, customer_id: int) -> int:
    """Receipts that arrived by an import with receipt SMS on are told now that we know whose they are (the import's
    option was chosen by someone allowed to send SMS). After the commit: a failed text never undoes a resolution."""
    from .notify import queue_receipt_sms_for_mark

    return queue_receipt_sms_for_mark(key, customer_id)


def _user(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None
