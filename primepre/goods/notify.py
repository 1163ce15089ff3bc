"""Telling customers their goods arrived: one SMS per customer per day of receipt, never one per parcel.

The outbox's idempotency key `received:<customer>:<date>` makes every path safe to repeat: a re-import, a resumed job,
or a mark resolved later queue nothing for a day whose text already went. The text sums all the customer's received
goods of that day (`SMS_RECEIPT_TEMPLATE`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from itertools import islice
from typing import Any

from django.conf import settings
from django.db.models import Sum

from primepre.customers.models import Customer
from primepre.sms.models import SmsKind, SmsMessage
from primepre.sms.services import country_refusal, new_message, queue_prepared, sms_enabled

from .models import GoodsReceipt, ReceiptStatus
from .warehouses import warehouse_name

KIND = SmsKind.RECEIVED
# The import option (ImportJob.options) that asks for receipt texts; it needs `customers.send_sms`, like every side
# effect. Receipts of such an import that are matched later, by resolving their mark, are told then.
SMS_OPTION = "send_receipt_sms"
_CHUNK = 1000
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

Pair = tuple[int, dt.date]  # (customer id, day of receipt)


def sms_key(customer_id: int, day: dt.date) -> str:
    return f"{KIND}:{customer_id}:{day.isoformat()}"


def short_date(day: dt.date) -> str:
    """`28 Nov`, whatever the server's locale."""
    return f"{day.day} {_MONTHS[day.month - 1]}"


class _SafeFormat(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_receipt_sms(customer: Customer, day: dt.date, packages: int, cbm: Decimal, warehouses: list[str]) -> str:
    names = sorted({warehouse_name(code) for code in warehouses})
    values = _SafeFormat(
        packages=packages,
        packages_text=f"{packages} package{'' if packages == 1 else 's'}",  # "1 package", "3 packages"
        cbm=f"{cbm.quantize(Decimal('0.001'))}",
        mark=customer.shipping_mark,
        warehouse=" and ".join(names),
        date=short_date(day),
        first_name=customer.first_name,
    )
    return settings.SMS_RECEIPT_TEMPLATE.format_map(values)


def _day_totals(pairs: list[Pair]) -> dict[Pair, tuple[int, Decimal, list[str]]]:
    """(customer, day) → (cartons, CBM, warehouses) of their received goods that day: one grouped query."""
    wanted = set(pairs)
    rows = (
        GoodsReceipt.objects.filter(
            status=ReceiptStatus.RECEIVED,
            customer_id__in={customer for customer, _ in wanted},
            received_on__in={day for _, day in wanted},
        )
        .order_by()
        .values_list("customer_id", "received_on", "warehouse")
        .annotate(cartons=Sum("cartons"), cbm=Sum("cbm"))
    )
    totals: dict[Pair, Any] = defaultdict(lambda: [0, Decimal(0), []])
    for customer_id, day, warehouse, cartons, cbm in rows:
        if (customer_id, day) in wanted:
            entry = totals[(customer_id, day)]
            entry[0] += cartons
            entry[1] += cbm
            entry[2].append(warehouse)
    return {pair: (entry[0], entry[1], entry[2]) for pair, entry in totals.items()}


def queue_receipt_sms(pairs: Iterable[Pair]) -> int:
    """Queue the day's text for each (customer, day) with received goods; returns how many are new in the outbox.
    Pairs already told (by key) are skipped by the outbox itself, so calling this twice sends nothing more."""
    if not sms_enabled():
        return 0
    iterator = iter(sorted(set(pairs)))
    queued = 0
    while chunk := list(islice(iterator, _CHUNK)):
        queued += _queue_chunk(chunk)
    return queued


def _queue_chunk(pairs: list[Pair]) -> int:
    totals = _day_totals(pairs)
    customers = Customer.objects.only("phone", "shipping_mark", "first_name").in_bulk({c for c, _ in totals})
    messages = []
    for (customer_id, day), (cartons, cbm, warehouses) in totals.items():
        customer = customers[customer_id]
        body = render_receipt_sms(customer, day, cartons, cbm, warehouses)
        messages.append(new_message(customer, body, kind=KIND, key=sms_key(customer_id, day)))
    return queue_prepared(messages)


def import_pairs(import_job_id: int) -> list[Pair]:
    """The (customer, day) pairs of an import's matched receipts."""
    rows = GoodsReceipt.objects.filter(import_job_id=import_job_id, status=ReceiptStatus.RECEIVED).order_by()
    return list(rows.values_list("customer_id", "received_on").distinct())


def queue_receipt_sms_for_import(import_job_id: int) -> int:
    """After an import's rows are committed (when its `send_receipt_sms` option is on): a resumed or repeated job
    queues only the days not told yet."""
    return queue_receipt_sms(import_pairs(import_job_id))


def queue_receipt_sms_for_mark(mark_key: str, customer_id: int) -> int:
    """After a mark is resolved: tell the customer about the receipts with that mark whose import asked for texts."""
    rows = GoodsReceipt.objects.filter(
        mark_key=mark_key,
        customer_id=customer_id,
        status=ReceiptStatus.RECEIVED,
        **{f"import_job__options__{SMS_OPTION}": True},
    ).order_by()
    return queue_receipt_sms(rows.values_list("customer_id", "received_on").distinct())


def count_receipt_sms(pairs: Iterable[Pair]) -> int:
    """How many texts `queue_receipt_sms` would add for these pairs (the import review shows it before confirm):
    days not told yet, to customers whose number may be texted. Counted without writing anything."""
    if not sms_enabled():
        return 0
    wanted = sorted(set(pairs))
    count = 0
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        keys = {sms_key(customer_id, day): customer_id for customer_id, day in chunk}
        told = set(SmsMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
        phones = dict(Customer.objects.filter(pk__in=set(keys.values())).values_list("pk", "phone"))
        count += sum(
            1
            for key, customer_id in keys.items()
            if key not in told and customer_id in phones and not country_refusal(phones[customer_id])
        )
    return count
