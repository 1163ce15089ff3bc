"""Shipments (#26): creating, loading receipts in full or in part, carry-over, closing, reopening, cancelling, and
every carton conserved (received = loaded + waiting)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from primepre.goods.models import GoodsReceipt, ReceiptStatus
from primepre.shipments.capacity import fill_of
from primepre.shipments.errors import ShipmentRefused
from primepre.shipments.lifecycle import cancel_shipment, close_shipment, create_shipment, reopen_shipment
from primepre.shipments.loading import Measured, load_receipt, unload_line
from primepre.shipments.models import Consignment, Shipment, ShipmentChange, ShipmentLine

from ..customers.factories import make_customer
from ..goods.factories import make_receipt

pytestmark = pytest.mark.django_db


def _box(**fields) -> Shipment:
    return create_shipment(None, mode="sea", equipment_code="40HC", origin_warehouse="GZ", **fields)


def _refused(code: str, action, *args, **kwargs) -> ShipmentRefused:
    with pytest.raises(ShipmentRefused) as caught:
        action(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


def _conserved(receipt: GoodsReceipt) -> None:
    receipt.refresh_from_db()
    on_lists = sum(ShipmentLine.objects.filter(receipt=receipt).values_list("cartons", flat=True))
    assert receipt.cartons_loaded == on_lists <= receipt.cartons


def test_references_count_per_origin_mode_and_year() -> None:
    first, second = _box(), _box()
    air = create_shipment(None, mode="air", equipment_code="AIR", origin_warehouse="GZ")
    year = first.created_at.year
    assert [first.reference, second.reference, air.reference] == [
        f"GZ-SEA-{year}-001", f"GZ-SEA-{year}-002", f"GZ-AIR-{year}-001"
    ]  # fmt: skip
    _refused("equipment_mode", create_shipment, None, mode="air", equipment_code="40HC", origin_warehouse="GZ")
    _refused("invalid_check_digit", _box, container_number="CSQU3054384")


def test_a_partial_load_carries_the_rest_over_to_the_next_shipment() -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    receipt = make_receipt(customer=kofi, shipping_mark="PM4 KOFI", status=ReceiptStatus.RECEIVED, cartons=40,
                           cbm=Decimal("4.000"), weight_kg=Decimal("400.00"))  # fmt: skip
    first, second = _box(), _box()
    line = load_receipt(first.pk, receipt.pk, 25, None)
    assert (line.cartons, line.cbm, line.weight_kg) == (25, Decimal("2.500"), Decimal("250.00"))
    receipt.refresh_from_db()
    assert (receipt.cartons_loaded, receipt.loading_state) == (25, "part loaded")
    refused = _refused("more_than_waiting", load_receipt, second.pk, receipt.pk, 16, None)
    assert refused.details == {"waiting": 15, "receipt": receipt.pk}
    rest = load_receipt(second.pk, receipt.pk, None, None)  # all that wait
    assert rest.cartons == 15
    receipt.refresh_from_db()
    assert receipt.loading_state == "loaded"
    _conserved(receipt)
    assert Consignment.objects.filter(customer=kofi).count() == 2  # one per customer and shipment
    _refused("more_than_waiting", load_receipt, first.pk, receipt.pk, None, None)  # nothing waits any more


def test_loading_the_same_receipt_again_adds_to_its_line_and_measured_wins() -> None:
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=10, cbm=Decimal("1.000"))
    box = _box()
    load_receipt(box.pk, receipt.pk, 4, None)
    line = load_receipt(box.pk, receipt.pk, 2, None, Measured(Decimal("0.700"), Decimal("55.5")))
    assert (ShipmentLine.objects.count(), line.cartons, line.cbm, line.measured) == (1, 6, Decimal("0.700"), True)
    _conserved(receipt)


def test_what_cannot_be_loaded() -> None:
    box = _box()
    unknown = make_receipt(status=ReceiptStatus.UNIDENTIFIED, customer=None)
    _refused("receipt_unidentified", load_receipt, box.pk, unknown.pk, 1, None)
    held = make_receipt(customer=make_customer(), status=ReceiptStatus.ON_HOLD)
    _refused("receipt_not_loadable", load_receipt, box.pk, held.pk, 1, None)
    fine = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=3)
    _refused("more_than_waiting", load_receipt, box.pk, fine.pk, 0, None)
    _refused("no_receipt", load_receipt, box.pk, 999_999, 1, None)


def test_close_freezes_reopen_needs_a_reason_cancel_only_when_empty() -> None:
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=5)
    box = _box()
    _refused("empty", close_shipment, box.pk, None, container_number="CSQU3054383")
    line = load_receipt(box.pk, receipt.pk, 5, None)
    _refused("container_required", close_shipment, box.pk, None)
    _refused("invalid_check_digit", close_shipment, box.pk, None, container_number="CSQU3054384")
    closed = close_shipment(box.pk, None, container_number="csqu3054383", seal_number="SEAL1")
    assert (closed.status, closed.container_number, closed.seal_number) == ("closed", "CSQU3054383", "SEAL1")
    _refused("wrong_state", load_receipt, box.pk, receipt.pk, 1, None)
    _refused("wrong_state", unload_line, line.pk, None)
    _refused("has_lines", cancel_shipment, _box_with(receipt_cartons=1).pk, None)
    _refused("reason_required", reopen_shipment, box.pk, None, "  ")
    reopened = reopen_shipment(box.pk, None, "Customer added 3 cartons")
    assert reopened.status == "open"
    assert ShipmentChange.objects.filter(shipment=box, action="reopen").get().reason == "Customer added 3 cartons"
    unload_line(line.pk, None)
    _conserved(receipt)
    assert not Consignment.objects.filter(shipment=box).exists()
    assert cancel_shipment(box.pk, None).status == "cancelled"
    _refused("wrong_state", cancel_shipment, box.pk, None)


def _box_with(receipt_cartons: int) -> Shipment:
    box = _box()
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=receipt_cartons)
    load_receipt(box.pk, receipt.pk, receipt_cartons, None)
    return box


def test_the_database_holds_the_carton_rule_whatever_the_path() -> None:
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=5)
    with pytest.raises(IntegrityError), transaction.atomic():
        GoodsReceipt.objects.filter(pk=receipt.pk).update(cartons_loaded=6)
    load_receipt(_box().pk, receipt.pk, 5, None)
    # A stale copy saved later (a form, the admin) never writes the loaded cartons back.
    stale = GoodsReceipt.objects.get(pk=receipt.pk)
    stale.cartons_loaded = 0
    stale.description = "corrected"
    stale.save()
    _conserved(receipt)
    receipt.refresh_from_db()
    receipt.cartons = 4
    with pytest.raises(Exception, match="cartons are on loading lists"):
        receipt.full_clean()


def test_capacity_warns_past_usable_and_refuses_past_nominal_unless_overridden(admin_user, warehouse_user) -> None:
    box = _box()  # 40HC: 64 usable, 76.2 nominal, 26,500 kg
    big = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=70, cbm=Decimal("70.000"),
                       weight_kg=Decimal("7000"))  # fmt: skip
    load_receipt(box.pk, big.pk, 65, warehouse_user)  # 65 CBM: past usable, within nominal
    fill = fill_of(Shipment.objects.get(pk=box.pk))
    assert (fill.cbm, fill.over_usable, fill.binding, fill.beyond_limits()) == (Decimal("65.000"), True, "volume", [])
    more = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=20, cbm=Decimal("20.000"))
    refused = _refused("over_capacity", load_receipt, box.pk, more.pk, 20, warehouse_user, override_reason="urgent")
    assert "85.000 CBM is more than the box's 76.2 CBM" in refused.message
    more.refresh_from_db()
    assert more.cartons_loaded == 0  # the refused load left nothing behind
    _refused("over_capacity", load_receipt, box.pk, more.pk, 20, admin_user)  # a reason is needed too
    load_receipt(box.pk, more.pk, 20, admin_user, override_reason="Light cartons, the agent measured them")
    change = ShipmentChange.objects.get(shipment=box, action="override")
    assert change.reason.startswith("Light cartons") and change.changed_by == admin_user


def test_settings_may_override_a_container_s_figures(settings) -> None:
    from primepre.shipments.equipment import equipment

    settings.SHIPMENT_EQUIPMENT = {"40HC": {"usable_cbm": "66"}}
    assert (equipment("40HC").usable_cbm, equipment("40HC").nominal_cbm) == (Decimal("66"), Decimal("76.2"))
    settings.SHIPMENT_EQUIPMENT = {"45HC": {"usable_cbm": "70"}}
    with pytest.raises(Exception, match="SHIPMENT_EQUIPMENT"):
        equipment("40HC")


def test_an_air_batch_closes_without_a_container() -> None:
    air = create_shipment(None, mode="air", equipment_code="AIR", origin_warehouse="GZ")
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=2)
    load_receipt(air.pk, receipt.pk, 2, None)
    _refused("air_has_no_container", close_shipment, air.pk, None, container_number="CSQU3054383")
    assert close_shipment(air.pk, None).status == "closed"
