"""Two staff loading the same receipt into two containers at the same moment, on two real PostgreSQL connections:
one wins, the other is refused (409 `more_than_waiting`), and no carton is loaded twice. Also a close racing a load."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from primepre.goods import loading as goods_loading
from primepre.goods.models import GoodsReceipt, ReceiptStatus
from primepre.shipments.errors import ShipmentRefused
from primepre.shipments.lifecycle import cancel_shipment, close_shipment, create_shipment
from primepre.shipments.loading import load_receipt
from primepre.shipments.models import ShipmentLine

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from ..goods.test_races import _race, _slow

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections racing: PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _box() -> Any:
    return create_shipment(None, mode="sea", equipment_code="40HC", origin_warehouse="GZ")


def test_two_loads_of_the_last_cartons_into_two_containers(monkeypatch) -> None:
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=40)
    first, second = _box(), _box()
    inside = threading.Event()
    _slow(goods_loading, "reserve_many", inside, monkeypatch)
    monkeypatch.setattr("primepre.shipments.loading.reserve_many", goods_loading.reserve_many)
    outcomes = _race(
        lambda: load_receipt(first.pk, receipt.pk, 40, None),
        lambda: load_receipt(second.pk, receipt.pk, 40, None),
        inside,
    )
    assert isinstance(outcomes[0], ShipmentLine), outcomes
    assert isinstance(outcomes[1], ShipmentRefused) and outcomes[1].code == "more_than_waiting", outcomes
    receipt.refresh_from_db()
    assert receipt.cartons_loaded == 40 == sum(ShipmentLine.objects.values_list("cartons", flat=True))
    assert GoodsReceipt.objects.get(pk=receipt.pk).loading_state == "loaded"


def test_a_close_waits_for_a_load_in_flight_and_counts_it(monkeypatch) -> None:
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=5)
    box = _box()
    inside = threading.Event()
    _slow(goods_loading, "reserve_many", inside, monkeypatch)
    monkeypatch.setattr("primepre.shipments.loading.reserve_many", goods_loading.reserve_many)
    outcomes = _race(
        lambda: load_receipt(box.pk, receipt.pk, 5, None),
        lambda: close_shipment(box.pk, None, container_number="CSQU3054383"),
        inside,
    )
    assert isinstance(outcomes[0], ShipmentLine), outcomes
    assert getattr(outcomes[1], "status", None) == "closed", outcomes  # it saw the line the load committed


def test_a_cancel_racing_a_load_of_an_empty_shipment_happens_or_the_load_does(monkeypatch) -> None:
    """Cancel needs an empty shipment; a load in flight holds the shipment row, so the cancel waits, then finds the
    committed line and is refused (409 `has_lines`): never a cancelled shipment with cartons on it."""
    receipt = make_receipt(customer=make_customer(), status=ReceiptStatus.RECEIVED, cartons=3)
    box = _box()
    inside = threading.Event()
    _slow(goods_loading, "reserve_many", inside, monkeypatch)
    monkeypatch.setattr("primepre.shipments.loading.reserve_many", goods_loading.reserve_many)
    outcomes = _race(lambda: load_receipt(box.pk, receipt.pk, 3, None), lambda: cancel_shipment(box.pk, None), inside)
    assert isinstance(outcomes[0], ShipmentLine), outcomes
    assert isinstance(outcomes[1], ShipmentRefused) and outcomes[1].code == "has_lines", outcomes
    box.refresh_from_db()
    assert box.status == "open"
