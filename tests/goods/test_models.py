"""The goods rules hold in the database itself (raw writes and UPDATEs go around the model); SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError

from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptStatus

from ..customers.factories import make_customer
from .factories import make_receipt, receipt_data

pytestmark = pytest.mark.django_db


def _rejected(**values: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        GoodsReceipt.objects.create(**receipt_data(**values))


def _rejected_update(receipt: GoodsReceipt, **values: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        GoodsReceipt.objects.filter(pk=receipt.pk).update(**values)


def test_a_valid_receipt_is_stored_with_its_keys() -> None:
    receipt = make_receipt(shipping_mark="  pm4-Kofi ", tracking_number=" SF 1234 5678 ")
    receipt.refresh_from_db()
    assert (receipt.shipping_mark, receipt.mark_key) == ("pm4-Kofi", "pm4kofi")
    assert (receipt.tracking_number, receipt.tracking_key) == ("SF 1234 5678", "sf12345678")


def test_cartons_cbm_and_weight_bounds() -> None:
    _rejected(cartons=0)
    _rejected(cbm=Decimal("-0.001"))
    _rejected(weight_kg=Decimal("-1"))
    receipt = make_receipt()
    _rejected_update(receipt, cartons=0)
    _rejected_update(receipt, cbm=Decimal("-1"))


def test_dimensions_are_all_three_or_none() -> None:
    make_receipt(length_cm=50, width_cm=40, height_cm=30)
    make_receipt()
    _rejected(length_cm=50)
    _rejected(length_cm=50, width_cm=40, height_cm=0)


def test_status_and_method_must_be_known() -> None:
    receipt = make_receipt()
    _rejected_update(receipt, status="loaded")
    _rejected_update(receipt, method="bus")


def test_a_receipt_with_a_customer_is_never_unidentified_and_a_received_one_always_has_one() -> None:
    customer = make_customer()
    _rejected(customer=customer, status=ReceiptStatus.UNIDENTIFIED)
    _rejected(customer=None, status=ReceiptStatus.RECEIVED)
    held = make_receipt(status=ReceiptStatus.ON_HOLD)  # on hold or cancelled: with or without a customer
    make_receipt(customer=customer, status=ReceiptStatus.CANCELLED)
    _rejected_update(held, status=ReceiptStatus.RECEIVED)


def test_a_tracking_number_is_recorded_once_whatever_its_spacing_or_case() -> None:
    make_receipt(tracking_number="SF1234567890")
    _rejected(tracking_number="sf 1234 567 890")
    make_receipt(tracking_number="")
    make_receipt(tracking_number="")  # receipts without a number are never compared
    assert GoodsReceipt.objects.filter(tracking_key="").count() == 2


def test_the_tracking_key_goes_with_the_number() -> None:
    receipt = make_receipt(tracking_number="YT123")
    _rejected_update(receipt, tracking_key="")
    _rejected_update(receipt, tracking_number="", tracking_key="yt123")


def test_mark_and_warehouse_are_required() -> None:
    receipt = make_receipt()
    _rejected_update(receipt, mark_key="")
    _rejected_update(receipt, shipping_mark="")
    _rejected_update(receipt, warehouse="")


def test_two_lines_with_the_same_description_on_the_same_day_are_two_receipts() -> None:
    customer = make_customer()
    make_receipt(customer=customer, description="shoes")
    make_receipt(customer=customer, description="shoes")
    assert GoodsReceipt.objects.filter(customer=customer, description="shoes").count() == 2


def test_a_customer_with_goods_cannot_be_deleted() -> None:
    customer = make_customer()
    make_receipt(customer=customer)
    with pytest.raises(ProtectedError), transaction.atomic():
        customer.delete()


def test_an_alias_key_has_one_owner() -> None:
    first, second = make_customer(), make_customer()
    MarkAlias.objects.create(mark_key="pm4koffi", shipping_mark="PM4 KOFFI", customer=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        MarkAlias.objects.create(mark_key="pm4koffi", shipping_mark="PM4 KOFFI", customer=second)
    with pytest.raises(IntegrityError), transaction.atomic():
        MarkAlias.objects.create(mark_key="", shipping_mark="?", customer=second)


def test_full_clean_names_the_field(settings) -> None:
    customer = make_customer()
    make_receipt(tracking_number="SF1")
    receipt = GoodsReceipt(**receipt_data(customer=customer, status=ReceiptStatus.UNIDENTIFIED, tracking_number="sf 1"))
    with pytest.raises(ValidationError) as caught:
        receipt.full_clean()
    assert {"status", "tracking_number"} <= set(caught.value.error_dict)
    assert caught.value.error_dict["tracking_number"][0].code == "exists"
    receipt = GoodsReceipt(**receipt_data(warehouse="SH"))
    with pytest.raises(ValidationError) as caught:
        receipt.full_clean()
    assert caught.value.error_dict["warehouse"][0].code == "invalid_warehouse"
    settings.GOODS_WAREHOUSES = ["GZ:Guangzhou", "SH:Shanghai"]
    receipt.full_clean()  # the setting, not a fixed list, says which warehouses exist


def test_the_warehouse_setting_is_checked(settings) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from primepre.goods.warehouses import default_warehouse, warehouse_name, warehouses

    assert warehouses() == {"GZ": "Guangzhou", "YW": "Yiwu"} and default_warehouse() == "GZ"
    assert warehouse_name("YW") == "Yiwu" and warehouse_name("XX") == "XX"
    for bad in (["G Z:Guangzhou"], [], ["TOOLONGCODE:x"]):
        settings.GOODS_WAREHOUSES = bad
        with pytest.raises(ImproperlyConfigured):
            warehouses()
