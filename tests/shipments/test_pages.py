"""The shipment pages (#26): the list and "New shipment", a shipment's page and its actions, the waiting goods page
and loading from it (ticked receipts in full or in part, all of a mark, a fill-to-capacity plan confirmed), the
customer's consignments; each for Warehouse and Admin, Staff's 403 page and the sign-in for anonymous callers; every
refusal a message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from primepre.goods.models import GoodsReceipt
from primepre.shipments.lifecycle import close_shipment, create_shipment
from primepre.shipments.loading import load_receipt
from primepre.shipments.models import Shipment, ShipmentAction, ShipmentChange, ShipmentLine

from ..customers.factories import make_customer
from ..goods.factories import make_receipt

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 2)
WAITING, LOAD = "/shipments/waiting/", "/shipments/waiting/load/"


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _box(equipment: str = "40HC", **fields: Any) -> Shipment:
    mode = "air" if equipment == "AIR" else "sea"
    return create_shipment(None, mode=mode, equipment_code=equipment, origin_warehouse="GZ", **fields)


def _goods(mark: str = "PM4 KOFI", days: int = 0, **fields: Any) -> GoodsReceipt:
    customer = make_customer(shipping_mark=mark, first_name="Kofi", last_name=f"Mensah {mark[-4:]}")
    values = {"cartons": 40, "cbm": Decimal("4.000"), "weight_kg": Decimal("400.00"), **fields}
    return make_receipt(customer=customer, shipping_mark=mark, received_on=DAY + dt.timedelta(days=days), **values)


def _text(response: Any) -> str:
    return response.content.decode()


@pytest.fixture
def box_with_goods() -> tuple[Shipment, GoodsReceipt]:
    box = _box()
    receipt = _goods(tracking_number="SF1001")
    load_receipt(box.pk, receipt.pk, 25, None)
    return box, receipt


@pytest.mark.parametrize("path", ["/shipments/", WAITING, "detail"])
def test_each_page_for_each_role(path, box_with_goods, warehouse_user, admin_user, staff_user, client) -> None:
    url = f"/shipments/{box_with_goods[0].pk}/" if path == "detail" else path
    for user in (warehouse_user, admin_user):
        response = _client(user).get(url)
        assert response.status_code == 200, (user, url)
        assert 'href="/shipments/"' in _text(response)  # the nav's Shipments link
    refused = _client(staff_user).get(url)
    assert refused.status_code == 403
    assert "Your role (Staff) cannot see shipments." in _text(refused)
    anonymous = client.get(url)
    assert (anonymous.status_code, anonymous["Location"].split("?")[0]) == (302, "/login/")


def test_the_nav_and_the_dashboard_lead_to_shipments(box_with_goods, warehouse_user, staff_user) -> None:
    dashboard = _text(_client(warehouse_user).get("/"))
    assert 'href="/shipments/">Shipments</a>' in dashboard
    assert (
        '<a href="/shipments/waiting/" id="goods-waiting-to-load"><span class="big">1</span> receipt waiting to be '
        "loaded (15 cartons)</a>"
    ) in dashboard  # the 15 of 40 cartons the shipment did not take
    assert "/shipments/" not in _text(_client(staff_user).get("/"))


def test_new_shipment_from_the_list(warehouse_user, staff_user) -> None:
    client = _client(warehouse_user)
    form = {"mode": "sea", "equipment": "40HC", "origin_warehouse": "GZ", "etd": "2026-12-01", "eta": "2027-01-10"}
    response = client.post("/shipments/new/", form, follow=True)
    shipment = Shipment.objects.get()
    assert response.redirect_chain == [(f"/shipments/{shipment.pk}/", 302)]
    assert f"Created {shipment.reference} (40 ft high cube)" in _text(response)
    assert (shipment.etd, shipment.created_by) == (dt.date(2026, 12, 1), warehouse_user)
    mismatch = client.post("/shipments/new/", {**form, "mode": "air"})
    assert mismatch.status_code == 400
    assert "40HC is not air equipment: choose Air batch." in _text(mismatch)
    backwards = client.post("/shipments/new/", {**form, "eta": "2026-11-01"})
    assert "The planned arrival is before the planned departure." in _text(backwards)
    assert Shipment.objects.count() == 1
    assert _client(staff_user).post("/shipments/new/", form).status_code == 403


def test_the_list_shows_fill_bars_and_filters_by_status(box_with_goods, warehouse_user) -> None:
    box, _ = box_with_goods
    empty = _box(equipment="20GP")
    page = _text(_client(warehouse_user).get("/shipments/"))
    assert box.reference in page and empty.reference in page
    assert '<meter class="shipment-meter" min="0" max="76.2" low="64" high="64" optimum="0" value="2.500"' in page
    assert "2.500 CBM · 3.9 %</span>" in page and "250.00 kg · 0.9 %</span>" in page
    close_shipment(box.pk, None, container_number="CSQU3054383")
    closed = _text(_client(warehouse_user).get("/shipments/?status=closed"))
    assert box.reference in closed and empty.reference not in closed
    assert "CSQU3054383" in closed


def test_load_ticked_receipts_one_in_part(warehouse_user) -> None:
    box = _box()
    kofi, ama = _goods(), _goods(mark="PM7 AMA", days=1, cartons=10, cbm=Decimal("1.000"), weight_kg=None)
    client = _client(warehouse_user)
    page = _text(client.get(f"{WAITING}?shipment={box.pk}"))
    assert f'name="cartons-{kofi.pk}" value="40"' in page  # all that wait, unless fewer are typed
    data = {"shipment": box.pk, "action": "selected", "receipt": [kofi.pk, ama.pk], f"cartons-{kofi.pk}": "25"}
    response = client.post(f"{LOAD}?warehouse=GZ", {**data, f"cartons-{ama.pk}": "10"}, follow=True)
    assert response.redirect_chain == [(f"{WAITING}?warehouse=GZ&shipment={box.pk}", 302)]
    assert f"Loaded 2 receipts (35 cartons, 3.500 CBM) into {box.reference}; 1 in part" in _text(response)
    kofi.refresh_from_db()
    assert (kofi.cartons_loaded, kofi.loading_state) == (25, "part loaded")
    waiting = _text(response)  # the rest waits, carried over; the receipt loaded whole is gone from the page
    assert '15 of 40 <span class="tag">carried over</span>' in waiting
    assert f'name="cartons-{kofi.pk}" value="15"' in waiting and f"pick-{ama.pk}" not in waiting
    detail = _text(client.get(f"/shipments/{box.pk}/"))
    assert "25 of 40" in detail and '<span class="tag">part</span> 15 still waiting' in detail
    assert "Subtotal PM4 KOFI (1 line)" in detail and "Subtotal PM7 AMA (1 line)" in detail
    later = _box()
    client.post(LOAD, {"shipment": later.pk, "action": "selected", "receipt": kofi.pk})
    assert f"carried over</span> from {box.reference}" in _text(client.get(f"/shipments/{later.pk}/"))


def test_one_refusal_loads_none_and_names_the_receipt(warehouse_user) -> None:
    box = _box()
    first, second = _goods(), _goods(mark="PM7 AMA", days=1, cartons=10)
    data = {"shipment": box.pk, "action": "selected", "receipt": [first.pk, second.pk], f"cartons-{second.pk}": "11"}
    response = _client(warehouse_user).post(LOAD, data, follow=True)
    assert (
        f"Nothing was loaded: at receipt {second.pk} (PM7 AMA, received 2026-11-03), Receipt {second.pk} (PM7 AMA) "
        "has 10 of 10 cartons waiting; 11 cannot be loaded."
    ) in _text(response)
    assert not ShipmentLine.objects.exists()
    assert GoodsReceipt.objects.filter(cartons_loaded__gt=0).count() == 0  # the first one was rolled back too


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"action": "selected"}, "Choose the open shipment to load into (or create one)."),
        ({"shipment": "9" * 40, "action": "selected"}, "Choose the open shipment to load into"),
        ({"action": "selected", "receipt": "RECEIPT", "cartons-RECEIPT": "lots"}, "is not a number of cartons"),
        ({"action": "selected", "receipt": "RECEIPT", "cartons-RECEIPT": "0"}, "is not a number of cartons"),
        ({"action": "selected"}, "Tick the receipts to load"),
        ({"action": "selected", "receipt": "9" * 30}, "Tick the receipts to load"),
        ({"mark": "GZ|pm4kofi|not-a-customer"}, "That mark is not on the waiting goods page (any more)."),
    ],
)
def test_bad_loads_are_messages_never_a_500(data, said, warehouse_user) -> None:
    box, receipt = _box(), _goods()
    data = {"shipment": box.pk, **data} if "shipment" not in data and "Choose" not in said else data
    data = {key.replace("RECEIPT", str(receipt.pk)): value for key, value in data.items()}
    data = {key: str(receipt.pk) if value == "RECEIPT" else value for key, value in data.items()}
    response = _client(warehouse_user).post(LOAD, data, follow=True)
    assert response.status_code == 200
    assert said in _text(response)
    assert not ShipmentLine.objects.exists()


def test_a_closed_shipment_is_not_loaded(box_with_goods, warehouse_user) -> None:
    box, receipt = box_with_goods
    close_shipment(box.pk, None, container_number="CSQU3054383")
    data = {"shipment": box.pk, "action": "selected", "receipt": receipt.pk}
    response = _client(warehouse_user).post(LOAD, data, follow=True)
    assert f"{box.reference} is closed (list frozen): it cannot be loaded." in _text(response)


def test_load_all_of_a_mark(warehouse_user) -> None:
    box = _box()
    customer = make_customer(shipping_mark="PM4 KOFI")
    older, newer = (
        make_receipt(customer=customer, shipping_mark="PM4 KOFI", received_on=DAY + dt.timedelta(days=n), cartons=3)
        for n in (0, 2)
    )
    other = _goods(mark="PM7 AMA", days=1)
    client = _client(warehouse_user)
    page = _text(client.get(WAITING))
    key = f"GZ|pm4kofi|{customer.pk}"
    assert f'name="mark" value="{key}"' in page and "Load all of PM4 KOFI" in page
    assert page.index("PM4 KOFI") < page.index("PM7 AMA")  # the mark waiting longest first
    response = client.post(LOAD, {"shipment": box.pk, "mark": key}, follow=True)
    assert f"Loaded 2 receipts (6 cartons, 1.000 CBM) into {box.reference}." in _text(response)
    assert set(ShipmentLine.objects.values_list("receipt_id", flat=True)) == {older.pk, newer.pk}
    other.refresh_from_db()
    assert other.cartons_loaded == 0


def test_fill_to_capacity_is_a_plan_to_confirm(warehouse_user) -> None:
    box = _box()
    big = [_goods(mark=f"PM{n} BIG", days=n, cartons=10, cbm=Decimal("30.000")) for n in (1, 2)]
    edge = _goods(mark="PM3 EDGE", days=3, cartons=10, cbm=Decimal("10.000"))
    _goods(mark="PM4 AIR", days=0, method="air")  # not sea goods: never planned into a container
    _goods(mark="PM5 YIWU", days=0, warehouse="YW")  # another warehouse than the box's origin
    client = _client(warehouse_user)
    plan = client.post(LOAD, {"shipment": box.pk, "action": "fill"})
    assert plan.status_code == 200
    page = _text(plan)
    assert "Nothing is loaded yet" in page
    assert "3 receipts, 24 cartons, 64.000 CBM" in page and "1 in part" in page
    assert '4 of 10 <span class="tag">part</span>' in page
    assert "where the next carton would not fit" in page
    assert not ShipmentLine.objects.exists()  # a plan loads nothing
    encoded = f"{big[0].pk}:10,{big[1].pk}:10,{edge.pk}:4"
    assert f'name="plan" value="{encoded}"' in page
    response = client.post(LOAD, {"shipment": box.pk, "action": "confirm", "plan": encoded}, follow=True)
    assert f"Loaded 3 receipts (24 cartons, 64.000 CBM) into {box.reference}; 1 in part" in _text(response)
    assert "It now holds 64.000 CBM, 100.0 % of its usable volume." in _text(response)
    again = client.post(LOAD, {"shipment": box.pk, "action": "fill"}, follow=True)
    assert f"{box.reference} is already full: 64.000 CBM of 64.000 usable" in _text(again)


def test_no_fill_plan_for_an_air_batch_or_without_goods(warehouse_user) -> None:
    client = _client(warehouse_user)
    air = _box(equipment="AIR")
    response = client.post(LOAD, {"shipment": air.pk, "action": "fill"}, follow=True)
    assert f"{air.reference} is an air batch: it has no volume to fill." in _text(response)
    response = client.post(LOAD, {"shipment": _box().pk, "action": "fill"}, follow=True)
    assert "Nothing to plan: no waiting sea goods at Guangzhou (under these filters) fit" in _text(response)


def test_over_capacity_is_refused_or_overridden_with_a_reason(warehouse_user, admin_user) -> None:
    box = _box(equipment="20GP")  # 33.2 CBM nominal
    heavy = _goods(cartons=10, cbm=Decimal("34.000"))
    data = {"shipment": box.pk, "action": "selected", "receipt": heavy.pk}
    refused = _text(_client(warehouse_user).post(LOAD, data, follow=True))
    assert "34.000 CBM is more than the box" in refused
    assert "Someone who may close shipments can load it with a reason." in refused
    assert 'name="override_reason"' not in refused
    admin = _client(admin_user)
    offered = admin.post(LOAD, data)
    assert offered.status_code == 409
    assert 'name="override_reason"' in _text(offered) and "Load past the limit, with this reason" in _text(offered)
    assert not ShipmentLine.objects.exists()
    confirm = {"shipment": box.pk, "action": "confirm", "plan": f"{heavy.pk}:10"}
    response = admin.post(LOAD, {**confirm, "override_reason": "customer paid for the whole box"}, follow=True)
    assert f"Loaded 1 receipt (10 cartons, 34.000 CBM) into {box.reference}" in _text(response)
    override = ShipmentChange.objects.get(action=ShipmentAction.OVERRIDE)
    assert override.reason == "customer paid for the whole box"
    page = _text(admin.get(f"/shipments/{box.pk}/"))
    assert "Past its limits (loaded with a recorded override)" in page
    assert "customer paid for the whole box" in page  # the history says why


def test_over_the_usable_volume_warns(warehouse_user) -> None:
    box = _box()
    load_receipt(box.pk, _goods(cartons=10, cbm=Decimal("65.000")).pk, None, None)
    page = _text(_client(warehouse_user).get(f"/shipments/{box.pk}/"))
    assert "Over the usable volume: 65.000 CBM loaded, 64.000 usable." in page
    assert "Volume: 101.6 % of the usable volume" in page  # the binding figure, named


def test_close_reopen_cancel_and_unload_forms(box_with_goods, admin_user, warehouse_user) -> None:
    box, receipt = box_with_goods
    url = f"/shipments/{box.pk}/"
    admin = _client(admin_user)
    page = _text(admin.get(url))
    assert 'id="close-form"' in page and 'id="cancel-form"' not in page and 'id="cancel-note"' in page
    said = {
        "close": "Give the container number before closing.",
        "close CSQU3054384": "check digit",
    }
    assert said["close"] in _text(admin.post(url, {"action": "close"}, follow=True))
    wrong = admin.post(url, {"action": "close", "container_number": "CSQU3054384"}, follow=True)
    assert said["close CSQU3054384"] in _text(wrong)
    done = admin.post(
        url, {"action": "close", "container_number": "csqu 305438 3", "seal_number": "S 123"}, follow=True
    )
    assert f"Closed {box.reference} in container CSQU3054383: its loading list is frozen" in _text(done)
    assert 'id="reopen-form"' in _text(done) and "Unload</button>" not in _text(done)
    line = ShipmentLine.objects.get()
    frozen = _client(warehouse_user).post(url, {"action": "unload", "line": line.pk}, follow=True)
    assert f"{box.reference} is closed (list frozen): it cannot be changed." in _text(frozen)
    assert "Say why the list is reopened." in _text(admin.post(url, {"action": "reopen", "reason": " "}, follow=True))
    reopened = admin.post(url, {"action": "reopen", "reason": "one more pallet for PM4 KOFI"}, follow=True)
    assert f"Reopened {box.reference}" in _text(reopened) and "one more pallet for PM4 KOFI" in _text(reopened)
    has_lines = admin.post(url, {"action": "cancel"}, follow=True)
    assert f"{box.reference} has lines: unload them before cancelling." in _text(has_lines)
    unloaded = _client(warehouse_user).post(url, {"action": "unload", "line": line.pk}, follow=True)
    assert f"Unloaded receipt {receipt.pk} (PM4 KOFI, received 2026-11-02): its 25 cartons wait again." in _text(
        unloaded
    )
    assert "Nothing is loaded yet." in _text(unloaded) and 'id="cancel-form"' in _text(unloaded)
    cancelled = _client(warehouse_user).post(url, {"action": "cancel", "reason": "booked twice"}, follow=True)
    assert f"Cancelled {box.reference}." in _text(cancelled)
    box.refresh_from_db()
    assert box.status == "cancelled"


def test_closing_needs_the_close_permission(box_with_goods, warehouse_user) -> None:
    box, _ = box_with_goods
    client = _client(warehouse_user)
    assert 'id="close-form"' not in _text(client.get(f"/shipments/{box.pk}/"))
    refused = client.post(f"/shipments/{box.pk}/", {"action": "close", "container_number": "CSQU3054383"})
    assert refused.status_code == 403
    assert "Your role (Warehouse) cannot close or reopen shipments." in _text(refused)
    unknown = client.post(f"/shipments/{box.pk}/", {"action": "explode"}, follow=True)
    assert "Choose unload, close, reopen or cancel." in _text(unknown)
    gone = client.post(f"/shipments/{box.pk}/", {"action": "unload", "line": "9" * 30}, follow=True)
    assert "That line is not on this shipment" in _text(gone)


def test_the_shipment_page_lists_consignments_and_history(box_with_goods, warehouse_user) -> None:
    box, receipt = box_with_goods
    page = _text(_client(warehouse_user).get(f"/shipments/{box.pk}/"))
    assert 'id="consignments"' in page and "Kofi Mensah KOFI" in page
    assert f'<a href="/goods/{receipt.pk}/">receipt {receipt.pk}</a> · 25 cartons' in page
    assert "Created" in page and "Loaded" in page


def test_the_customer_page_lists_their_consignments(box_with_goods, warehouse_user, staff_user) -> None:
    box, receipt = box_with_goods
    url = f"/customers/{receipt.customer_id}/"
    page = _text(_client(warehouse_user).get(url))
    assert 'id="customer-consignments"' in page
    assert f'<a href="/shipments/{box.pk}/">{box.reference}</a>' in page
    assert "2.500" in page
    assert 'id="customer-consignments"' not in _text(_client(staff_user).get(url))  # Staff may not see shipments


def test_the_waiting_goods_filter_and_page_by_mark(warehouse_user) -> None:
    for n in range(22):  # 22 marks at Guangzhou, the first with 21 receipts, and one mark at Yiwu
        customer = make_customer(
            shipping_mark=f"PM{n:02d} MARK", first_name="Ama", last_name="Quaye" if n == 7 else "Owusu"
        )
        for day in range(21 if n == 0 else 1):
            make_receipt(
                customer=customer, shipping_mark=customer.shipping_mark, received_on=DAY + dt.timedelta(days=n + day)
            )
    _goods(mark="PM9 YIWU", warehouse="YW", days=-5)
    client = _client(warehouse_user)
    first = _text(client.get(WAITING))
    assert "43</span> receipts of 23 marks waiting: 124 cartons, 25.000 CBM, 400.00 kg" in first
    assert first.count('class="shipment-mark"') == 20 and "Page 1 of 2" in first
    assert "and 1 younger receipt of this mark" in first  # a mark shows its oldest 20; "Load all" takes every one
    second = _text(client.get(f"{WAITING}?page=2"))
    assert second.count('class="shipment-mark"') == 3  # per warehouse, then the longest waiting first
    assert second.index("Guangzhou (GZ)") < second.index("PM21 MARK") < second.index("Yiwu (YW)")
    only_gz = _text(client.get(f"{WAITING}?warehouse=GZ&page=2"))
    assert only_gz.count('class="shipment-mark"') == 2 and "PM9 YIWU" not in only_gz
    by_customer = _text(client.get(f"{WAITING}?search=quaye"))
    assert "1</span> receipt of 1 mark waiting" in by_customer and "PM07 MARK" in by_customer
    by_mark = _text(client.get(f"{WAITING}?search=PM12MARK"))  # a mark however spaced ("12" would match phones)
    assert "1</span> receipt of 1 mark waiting" in by_mark and "PM12 MARK" in by_mark
    dated = _text(client.get(f"{WAITING}?received_after=2026-11-22&received_before=2026-11-23&method=sea"))
    assert "3</span> receipts of 3 marks waiting" in dated  # PM20's, PM21's and the last of PM00's
    wrong = _text(client.get(f"{WAITING}?received_after=yesterday"))
    assert "Some filters are not valid" in wrong and "0</span> receipts of 0 marks waiting" in wrong


def test_an_air_batch_page_has_no_limits_and_no_container(warehouse_user) -> None:
    air = _box(equipment="AIR")
    load_receipt(air.pk, _goods(method="air").pk, None, None)
    page = _text(_client(warehouse_user).get(f"/shipments/{air.pk}/"))
    assert "4.000 CBM <small>(no volume limit)</small>" in page and "(no payload limit)" in page
    assert "Container" not in page and "Master air waybill" in page
