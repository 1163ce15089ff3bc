"""Loading receipts onto an open shipment's list, and taking them off again.

Each action is one transaction: the shipment row is locked first (so a close waits, or the load finds it closed:
409), then the receipt's cartons are reserved by `goods.loading.reserve_cartons`' one conditional UPDATE (so two
loads of the same receipt into two shipments at once cannot both take the last cartons: the second is refused with
409 `more_than_waiting`), then the line and the customer's consignment are written. Loading a receipt already on the
list adds to its line. CBM and kg are pro rata of the receipt unless measured at loading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction

from primepre.goods.loading import release_cartons, reserve_many
from primepre.goods.models import GoodsReceipt, ReceiptStatus

from .capacity import Fill, fill_of
from .errors import ShipmentRefused
from .lifecycle import locked_shipment, record_change, refuse_unless
from .models import Consignment, Shipment, ShipmentAction, ShipmentChange, ShipmentLine, ShipmentStatus

CBM_PLACES = Decimal("0.001")
KG_PLACES = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Measured:
    """CBM and kg as measured at loading, instead of the receipt's pro rata share."""

    cbm: Decimal
    weight_kg: Decimal | None = None


def load_receipt(
    shipment_id: int,
    receipt_id: int,
    cartons: int | None,
    user: Any,
    measured: Measured | None = None,
    override_reason: str = "",
    source: dict[str, Any] | None = None,
) -> ShipmentLine:
    """Put `cartons` of a receipt (None: all that are waiting) on the shipment's list (see `load_receipts`)."""
    return load_receipts(shipment_id, [(receipt_id, cartons)], user, measured, override_reason, source)[0]


def load_receipts(
    shipment_id: int,
    wanted: Sequence[tuple[int, int | None]],
    user: Any,
    measured: Measured | None = None,
    override_reason: str = "",
    source: dict[str, Any] | None = None,
) -> list[ShipmentLine]:
    """Load several receipts at once, all or nothing: (receipt, cartons or None for all waiting) pairs; a receipt named
    twice loads the sum. The receipts' rows are locked (in id order, so two loads never deadlock) and checked, then
    their cartons reserved by `goods.loading.reserve_many`. Past the box's nominal volume or its payload it is refused
    (409 `over_capacity`) unless `override_reason` is given by someone with `shipments.close_shipment`; the override
    is recorded. `source` goes into each load's record (an import: its job). `measured` only for a single receipt."""
    with transaction.atomic():
        shipment = locked_shipment(shipment_id)
        refuse_unless(shipment, ShipmentStatus.OPEN, "loaded")
        asked = _merged(wanted)
        receipts = GoodsReceipt.objects.select_for_update().order_by("pk").in_bulk(list(asked))
        counts = {rid: cartons_to_load(receipts.get(rid), rid, n) for rid, n in asked.items()}
        if not reserve_many(counts):  # pragma: no cover - the rows are locked and checked: the CHECK's backstop
            raise ShipmentRefused("more_than_waiting", "Some cartons were loaded meanwhile; try again.")
        lines = _write_lines(shipment, receipts, counts, user, measured)
        _check_capacity(shipment, fill_of(shipment), user, override_reason)
        ShipmentChange.objects.bulk_create(
            ShipmentChange(shipment=shipment, action=ShipmentAction.LOAD, changed_by=_who(user),
                           details={"receipt": receipt_id, "cartons": n, **(source or {})})
            for receipt_id, n in counts.items()
        )  # fmt: skip
    return [lines[receipt_id] for receipt_id in asked]


def _merged(wanted: Sequence[tuple[int, int | None]]) -> dict[int, int | None]:
    asked: dict[int, int | None] = {}
    for receipt_id, cartons in wanted:
        before = asked.get(receipt_id, 0)
        asked[receipt_id] = None if cartons is None or before is None else before + cartons
    return asked


def cartons_to_load(receipt: GoodsReceipt | None, receipt_id: int, cartons: int | None) -> int:
    """The cartons to load of a locked receipt, or why it cannot be loaded."""
    if receipt is None:
        raise ShipmentRefused("no_receipt", f"No receipt {receipt_id}.", status=404, receipt=receipt_id)
    if receipt.status == ReceiptStatus.UNIDENTIFIED:
        raise ShipmentRefused(
            "receipt_unidentified",
            f"Receipt {receipt.pk} ({receipt.shipping_mark}) has no customer yet: resolve its mark first.",
            receipt=receipt.pk,
        )
    if receipt.status != ReceiptStatus.RECEIVED:
        message = f"Receipt {receipt.pk} is {receipt.get_status_display().lower()}: it is not loaded."
        raise ShipmentRefused("receipt_not_loadable", message, receipt=receipt.pk)
    waiting = receipt.cartons - receipt.cartons_loaded
    wanted = waiting if cartons is None else cartons
    if wanted < 1 or wanted > waiting:
        raise ShipmentRefused(
            "more_than_waiting",
            f"Receipt {receipt.pk} ({receipt.shipping_mark}) has {waiting} of {receipt.cartons} cartons waiting; "
            f"{wanted} cannot be loaded.",
            waiting=waiting,
            receipt=receipt.pk,
        )
    return wanted


def _check_capacity(shipment: Shipment, after: Fill, user: Any, override_reason: str) -> None:
    """Refuse a load that leaves the shipment past a hard limit (the transaction rolls it back), unless overridden:
    every such load needs its own reason."""
    beyond = after.beyond_limits()
    if not beyond:
        return
    reason = " ".join(override_reason.split())[:500]
    if not reason or user is None or not user.has_perm("shipments.close_shipment"):
        raise ShipmentRefused(
            "over_capacity",
            f"{shipment.reference}: {'; '.join(beyond)}. Someone who may close shipments can load it with a reason.",
            beyond=beyond,
        )
    record_change(shipment, ShipmentAction.OVERRIDE, user, reason=reason, details={"beyond": beyond})


def _share(receipt: GoodsReceipt, cartons: int) -> tuple[Decimal, Decimal | None]:
    part = Decimal(cartons) / Decimal(receipt.cartons)
    cbm = (receipt.cbm * part).quantize(CBM_PLACES, ROUND_HALF_UP)
    kg = None if receipt.weight_kg is None else (receipt.weight_kg * part).quantize(KG_PLACES, ROUND_HALF_UP)
    return cbm, kg


def _who(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _write_lines(
    shipment: Shipment, receipts: dict[int, GoodsReceipt], counts: dict[int, int], user: Any, measured: Measured | None
) -> dict[int, ShipmentLine]:
    """Each receipt's line, new or added to, and each customer's consignment, in a few statements for the batch."""
    consignments = _consignments(shipment, {receipts[rid].customer_id for rid in counts})
    lines = {
        line.receipt_id: line for line in ShipmentLine.objects.filter(shipment=shipment, receipt_id__in=list(counts))
    }
    new, changed = [], []
    for receipt_id, cartons in counts.items():
        receipt, line = receipts[receipt_id], lines.get(receipt_id)
        total = cartons + (line.cartons if line else 0)
        cbm, kg = (measured.cbm, measured.weight_kg) if measured else _share(receipt, total)
        if line is None:
            lines[receipt_id] = ShipmentLine(
                shipment=shipment, consignment=consignments[receipt.customer_id], receipt=receipt, cartons=total,
                cbm=cbm, weight_kg=kg, measured=measured is not None, loaded_by=_who(user),
            )  # fmt: skip
            new.append(lines[receipt_id])
        else:
            line.cartons, line.cbm, line.weight_kg = total, cbm, kg
            line.measured = measured is not None or line.measured
            changed.append(line)
    ShipmentLine.objects.bulk_create(new)
    ShipmentLine.objects.bulk_update(changed, ["cartons", "cbm", "weight_kg", "measured", "updated_at"])
    return lines


def _consignments(shipment: Shipment, customer_ids: set[int]) -> dict[int, Consignment]:
    """One per customer and shipment: the shipment row is locked, so nobody else creates them meanwhile."""
    found = {c.customer_id: c for c in Consignment.objects.filter(shipment=shipment, customer_id__in=customer_ids)}
    missing = [Consignment(shipment=shipment, customer_id=cid) for cid in customer_ids if cid not in found]
    for consignment in Consignment.objects.bulk_create(missing):
        found[consignment.customer_id] = consignment
    return found


def unload_line(line_id: int, user: Any) -> None:
    """Take a line off an open shipment's list: its cartons wait again; an emptied consignment goes."""
    line = ShipmentLine.objects.filter(pk=line_id).first()
    if line is None:
        raise ShipmentRefused("not_found", f"No loading-list line {line_id}.", status=404)
    with transaction.atomic():
        shipment = locked_shipment(line.shipment_id)
        refuse_unless(shipment, ShipmentStatus.OPEN, "changed")
        line = ShipmentLine.objects.select_for_update().filter(pk=line_id).first()
        if line is None:
            raise ShipmentRefused("not_found", f"Line {line_id} was unloaded meanwhile.", status=404)
        if not release_cartons(line.receipt_id, line.cartons):  # pragma: no cover - the CHECK keeps them in step
            raise ShipmentRefused("out_of_step", f"Receipt {line.receipt_id}'s loaded cartons are out of step.")
        line.delete()
        if not ShipmentLine.objects.filter(consignment_id=line.consignment_id).exists():
            Consignment.objects.filter(pk=line.consignment_id).delete()
        record_change(
            shipment, ShipmentAction.UNLOAD, user, details={"receipt": line.receipt_id, "cartons": line.cartons}
        )


def unload_cartons(shipment_id: int, receipt_id: int, cartons: int, user: Any) -> None:
    """Take `cartons` of a receipt off an open shipment's list (a loading-list import undone): its line shrinks, or
    goes when none is left, and so does an emptied consignment."""
    with transaction.atomic():
        shipment = locked_shipment(shipment_id)
        refuse_unless(shipment, ShipmentStatus.OPEN, "changed")
        line = ShipmentLine.objects.select_for_update().filter(shipment=shipment, receipt_id=receipt_id).first()
        if line is None or line.cartons < cartons or not release_cartons(receipt_id, cartons):
            raise ShipmentRefused("out_of_step", f"Receipt {receipt_id} has fewer than {cartons} cartons on the list.")
        if line.cartons == cartons:
            line.delete()
            if not ShipmentLine.objects.filter(consignment_id=line.consignment_id).exists():
                Consignment.objects.filter(pk=line.consignment_id).delete()
        else:
            receipt = GoodsReceipt.objects.get(pk=receipt_id)
            line.cartons -= cartons
            if not line.measured:
                line.cbm, line.weight_kg = _share(receipt, line.cartons)
            line.save(update_fields=["cartons", "cbm", "weight_kg", "updated_at"])
        record_change(shipment, ShipmentAction.UNLOAD, user, details={"receipt": receipt_id, "cartons": cartons})
