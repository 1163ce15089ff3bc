"""The shipments API (#26): every endpoint, each refusal with its code and status, loading many receipts in one
transaction (a bad 500th refuses them all), and who may do what (Warehouse loads, Admin closes, Staff sees nothing)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from rest_framework.test import APIClient
from werkzeug.test import Client as WsgiClient

from primepre.accounts.tokens import issue_token
from primepre.goods.models import GoodsReceipt, ReceiptStatus
from primepre.shipments.lifecycle import close_shipment, create_shipment
from primepre.shipments.loading import load_receipt
from primepre.shipments.models import Consignment, Shipment, ShipmentChange, ShipmentLine

from ..customers.factories import make_customer
from ..goods.factories import make_receipt

pytestmark = pytest.mark.django_db
SHIPMENTS = "/api/v1/shipments/"


@pytest.fixture
def warehouse_api(warehouse_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(warehouse_user)
    return client


def _received(customer: Any = None, cartons: int = 10, cbm: str = "1.000", **extra: Any) -> GoodsReceipt:
    customer = customer or make_customer()
    return make_receipt(customer=customer, shipping_mark=customer.shipping_mark, status=ReceiptStatus.RECEIVED,
                        cartons=cartons, cbm=Decimal(cbm), **extra)  # fmt: skip


def _box(equipment_code: str = "40HC") -> Shipment:
    mode = "air" if equipment_code == "AIR" else "sea"
    return create_shipment(None, mode=mode, equipment_code=equipment_code, origin_warehouse="GZ")


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"], body
    return body


def _load(client: APIClient, shipment: Shipment, *items: tuple[int, int | None], **extra: Any) -> Any:
    body = {"receipts": [{"receipt": receipt, "cartons": cartons} for receipt, cartons in items], **extra}
    return client.post(f"{SHIPMENTS}{shipment.pk}/lines/", body, format="json")


# --- create, list, detail, edit --------------------------------------------------------------------------------------


def test_create_list_and_filter(warehouse_api: APIClient) -> None:
    created = warehouse_api.post(SHIPMENTS, {"equipment": "40HC", "carrier": "MSC", "etd": "2026-12-20"}, format="json")
    assert created.status_code == 201, created.content
    sea = created.json()
    assert (sea["mode"], sea["origin_warehouse"], sea["status"], sea["carrier"]) == ("sea", "GZ", "open", "MSC")
    assert sea["reference"].startswith("GZ-SEA-") and created["Location"] == f"{SHIPMENTS}{sea['id']}/"
    assert sea["fill"]["usable_cbm"] == "64.000" and sea["fill"]["cbm"] == "0.000" and sea["consignments"] == []
    air = warehouse_api.post(SHIPMENTS, {"equipment": "AIR", "origin_warehouse": "YW"}, format="json").json()
    assert (air["mode"], air["reference"][:7], air["fill"]["usable_cbm"]) == ("air", "YW-AIR-", None)
    listed = warehouse_api.get(SHIPMENTS).json()
    assert listed["count"] == 2 and {row["id"] for row in listed["results"]} == {sea["id"], air["id"]}
    assert [row["id"] for row in warehouse_api.get(f"{SHIPMENTS}?mode=air").json()["results"]] == [air["id"]]
    assert [row["id"] for row in warehouse_api.get(f"{SHIPMENTS}?origin=GZ").json()["results"]] == [sea["id"]]
    assert warehouse_api.get(f"{SHIPMENTS}?status=closed").json()["count"] == 0
    assert warehouse_api.get(f"{SHIPMENTS}?status=open&status=closed").json()["count"] == 2
    _error(warehouse_api.get(f"{SHIPMENTS}?status=departed"), 400, "validation_error")
    _error(warehouse_api.get(f"{SHIPMENTS}?mode="), 400, "validation_error")


def test_create_refuses_unknown_equipment_or_warehouse(warehouse_api: APIClient) -> None:
    body = _error(warehouse_api.post(SHIPMENTS, {"equipment": "45HC"}, format="json"), 400, "validation_error")
    assert list(body["fields"]) == ["equipment"]
    body = _error(
        warehouse_api.post(SHIPMENTS, {"equipment": "20GP", "origin_warehouse": "SZ"}, format="json"),
        400,
        "validation_error",
    )
    assert list(body["fields"]) == ["origin_warehouse"]
    body = _error(warehouse_api.post(SHIPMENTS, {"equipment": "20GP", "notes": 0}, format="json"), 400,
                  "validation_error")  # fmt: skip
    assert body["fields"]["notes"][0]["code"] == "invalid"  # text is text: 0 is not "0"
    form = warehouse_api.post(SHIPMENTS, {"equipment": "20GP"})  # multipart: the API reads JSON only
    _error(form, 415, "unsupported_media_type")


def test_the_list_shows_each_shipment_s_fill_without_a_query_per_row(warehouse_api, django_assert_max_num_queries):
    for _ in range(3):
        box = _box()
        load_receipt(box.pk, _received(cartons=4, cbm="3.200", weight_kg=Decimal("80")).pk, 2, None)
    with django_assert_max_num_queries(4):  # session user, count, page (sums as subqueries)
        rows = warehouse_api.get(SHIPMENTS).json()["results"]
    assert {(row["fill"]["cartons"], row["fill"]["cbm"], row["fill"]["kg"]) for row in rows} == {(2, "1.600", "40.00")}
    assert rows[0]["fill"]["cbm_percent"] == "2.5" and rows[0]["fill"]["binding"] == "volume"


def test_detail_groups_the_lines_by_consignment_with_the_fill(warehouse_api: APIClient) -> None:
    kofi, ama = make_customer(shipping_mark="PM4 KOFI"), make_customer(shipping_mark="PM5 AMA")
    box = _box()
    first = _received(kofi, cartons=40, cbm="4.000", weight_kg=Decimal("400"))
    second = _received(kofi, cartons=2, cbm="0.500")
    load_receipt(box.pk, first.pk, 25, None)
    load_receipt(box.pk, second.pk, None, None)
    load_receipt(box.pk, _received(ama, cartons=5, cbm="1.250").pk, None, None)
    detail = warehouse_api.get(f"{SHIPMENTS}{box.pk}/").json()
    assert detail["fill"] == {
        "cartons": 32, "cbm": "4.250", "kg": "250.00", "usable_cbm": "64.000", "nominal_cbm": "76.200",
        "payload_kg": "26500.00", "cbm_percent": "6.6", "kg_percent": "0.9", "binding": "volume",
        "over_usable": False, "beyond_limits": [],
    }  # fmt: skip
    groups = {group["shipping_mark"]: group for group in detail["consignments"]}
    assert list(groups) == ["PM4 KOFI", "PM5 AMA"]  # by mark
    assert (groups["PM4 KOFI"]["cartons"], groups["PM4 KOFI"]["cbm"], groups["PM4 KOFI"]["weight_kg"]) == (
        27, "3.000", "250.00"
    )  # fmt: skip
    line = groups["PM4 KOFI"]["lines"][0]
    assert (line["receipt"], line["cartons"], line["cartons_received"], line["cbm"]) == (first.pk, 25, 40, "2.500")
    _error(warehouse_api.get(f"{SHIPMENTS}999999/"), 404, "not_found")


def test_edit_while_open_with_the_container_number_checked(warehouse_api: APIClient, admin_user) -> None:
    box = _box()
    url = f"{SHIPMENTS}{box.pk}/"
    changes = {
        "carrier": "Maersk", "seal_number": "ML-1", "bill_of_lading": "MAEU1", "vessel_or_flight": "MV Tema",
        "etd": "2026-12-20", "eta": "2027-01-25", "notes": "fragile", "container_number": "csqu 305438-3",
    }  # fmt: skip
    edited = warehouse_api.patch(url, changes, format="json")
    assert edited.status_code == 200, edited.content
    assert edited.json()["container_number"] == "CSQU3054383" and edited.json()["eta"] == "2027-01-25"
    cleared = warehouse_api.patch(url, {"etd": None, "container_number": " - "}, format="json").json()
    assert (cleared["etd"], cleared["container_number"]) == (None, "")
    for number, code in (("CSQU3054384", "invalid_check_digit"), ("CSQ3054383", "invalid_container_shape")):
        body = _error(warehouse_api.patch(url, {"container_number": number}, format="json"), 400, "validation_error")
        assert body["fields"]["container_number"][0]["code"] == code
    air = _box("AIR")
    refused = warehouse_api.patch(f"{SHIPMENTS}{air.pk}/", {"container_number": "CSQU3054383"}, format="json")
    _error(refused, 409, "air_has_no_container")
    load_receipt(box.pk, _received().pk, None, None)
    close_shipment(box.pk, admin_user, container_number="CSQU3054383")
    body = _error(warehouse_api.patch(url, {"notes": "too late"}, format="json"), 409, "wrong_state")
    assert body["current"] == "closed"
    assert warehouse_api.put(url, changes, format="json").status_code == 405


# --- loading and unloading -------------------------------------------------------------------------------------------


def test_load_in_full_and_in_part_then_unload(warehouse_api: APIClient) -> None:
    box, other = _box(), _box()
    whole, part = _received(cartons=3, cbm="0.300"), _received(cartons=40, cbm="4.000")
    loaded = _load(warehouse_api, box, (whole.pk, None), (part.pk, 25))
    assert loaded.status_code == 200, loaded.content
    result = loaded.json()
    assert {(line["receipt"], line["cartons"], line["cbm"]) for line in result["lines"]} == {
        (whole.pk, 3, "0.300"), (part.pk, 25, "2.500")
    }  # fmt: skip
    assert result["fill"]["cartons"] == 28 and result["warnings"] == []
    assert _load(warehouse_api, other, (part.pk, None)).json()["lines"][0]["cartons"] == 15  # the rest, carried over
    line = ShipmentLine.objects.get(shipment=box, receipt=part)
    _error(warehouse_api.delete(f"{SHIPMENTS}{other.pk}/lines/{line.pk}/"), 404, "not_found")  # not that list's line
    assert warehouse_api.delete(f"{SHIPMENTS}{box.pk}/lines/{line.pk}/").status_code == 204
    part.refresh_from_db()
    assert part.cartons_loaded == 15  # the 25 wait again
    _error(warehouse_api.delete(f"{SHIPMENTS}{box.pk}/lines/{line.pk}/"), 404, "not_found")


def test_every_refusal_of_a_load_has_its_code_and_names_the_receipt(warehouse_api: APIClient, admin_user) -> None:
    box = _box()
    fine = _received(cartons=5)
    unknown = make_receipt(status=ReceiptStatus.UNIDENTIFIED, customer=None)
    held = make_receipt(customer=make_customer(), status=ReceiptStatus.ON_HOLD)
    body = _error(_load(warehouse_api, box, (fine.pk, 6)), 409, "more_than_waiting")
    assert (body["receipt"], body["index"], body["waiting"]) == (fine.pk, 0, 5)
    assert _error(_load(warehouse_api, box, (fine.pk, 1), (999_999, 1)), 404, "no_receipt")["index"] == 1
    assert _error(_load(warehouse_api, box, (unknown.pk, None)), 409, "receipt_unidentified")["receipt"] == unknown.pk
    _error(_load(warehouse_api, box, (held.pk, None)), 409, "receipt_not_loadable")
    for bad in ({"receipts": []}, {"receipts": [{"receipt": fine.pk, "cartons": 0}]}, {"receipts": [{}]}):
        _error(warehouse_api.post(f"{SHIPMENTS}{box.pk}/lines/", bad, format="json"), 400, "validation_error")
    _error(_load(warehouse_api, Shipment(pk=999_999), (fine.pk, 1)), 404, "not_found")
    assert not ShipmentLine.objects.exists() and fine.cartons_loaded == 0
    close_box = _box()
    load_receipt(close_box.pk, _received().pk, None, None)
    close_shipment(close_box.pk, admin_user, container_number="CSQU3054383")
    assert _error(_load(warehouse_api, close_box, (fine.pk, 1)), 409, "wrong_state")["current"] == "closed"


def test_past_the_box_s_limits_only_someone_who_may_close_overrides(warehouse_api, admin_api) -> None:
    box = _box()  # 40HC: 64 usable, 76.2 nominal
    big, more = _received(cartons=65, cbm="65.000"), _received(cartons=20, cbm="20.000")
    loaded = _load(warehouse_api, box, (big.pk, None)).json()
    assert loaded["fill"]["over_usable"] is True and "65.000 CBM is past the 64" in loaded["warnings"][0]
    body = _error(_load(warehouse_api, box, (more.pk, None)), 409, "over_capacity")
    assert body["receipt"] == more.pk and "85.000 CBM is more than the box's 76.2 CBM" in body["beyond"][0]
    _error(_load(warehouse_api, box, (more.pk, None), override_reason="urgent"), 403, "permission_denied")
    _error(_load(admin_api, box, (more.pk, None)), 409, "over_capacity")  # a reason is needed too
    overridden = _load(admin_api, box, (more.pk, None), override_reason="Light cartons, measured")
    assert overridden.status_code == 200 and overridden.json()["fill"]["beyond_limits"]
    assert ShipmentChange.objects.get(shipment=box, action="override").reason == "Light cartons, measured"


def test_five_hundred_receipts_load_in_one_request_and_one_transaction(warehouse_api: APIClient) -> None:
    customers = [make_customer() for _ in range(10)]
    receipts = [_received(customers[n % 10], cartons=2, cbm="0.100") for n in range(500)]
    box = _box()
    items = [(receipt.pk, None) for receipt in receipts[:-1]] + [(receipts[-1].pk, 3)]  # the 500th asks for too many
    body = _error(_load(warehouse_api, box, *items), 409, "more_than_waiting")
    assert (body["receipt"], body["index"]) == (receipts[-1].pk, 499)
    # All or nothing: the 499 loads before it were undone with it.
    assert not ShipmentLine.objects.exists() and not Consignment.objects.exists()
    assert not GoodsReceipt.objects.filter(cartons_loaded__gt=0).exists()
    assert not ShipmentChange.objects.filter(action="load").exists()
    loaded = _load(warehouse_api, box, *[(receipt.pk, None) for receipt in receipts])
    assert loaded.status_code == 200, loaded.content
    assert len(loaded.json()["lines"]) == 500 and loaded.json()["fill"]["cbm"] == "50.000"
    assert ShipmentLine.objects.filter(shipment=box).count() == 500
    assert Consignment.objects.filter(shipment=box).count() == 10


# --- close, reopen, cancel -------------------------------------------------------------------------------------------


def test_close_reopen_and_cancel(warehouse_api: APIClient, admin_api: APIClient) -> None:
    box = _box()
    url = f"{SHIPMENTS}{box.pk}/"
    _error(admin_api.post(f"{url}close/", {"container_number": "CSQU3054383"}, format="json"), 409, "empty")
    load_receipt(box.pk, _received().pk, None, None)
    _error(admin_api.post(f"{url}close/", {}, format="json"), 400, "container_required")
    bad = _error(admin_api.post(f"{url}close/", {"container_number": "CSQU3054384"}, format="json"), 400,
                 "validation_error")  # fmt: skip
    assert bad["fields"]["container_number"][0]["code"] == "invalid_check_digit"
    _error(warehouse_api.post(f"{url}close/", {"container_number": "CSQU3054383"}, format="json"), 403,
           "permission_denied")  # fmt: skip
    closed = admin_api.post(f"{url}close/", {"container_number": "CSQU3054383", "seal_number": "S1"}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["seal_number"] == "S1"
    _error(admin_api.post(f"{url}close/", {}, format="json"), 409, "wrong_state")
    _error(warehouse_api.post(f"{url}reopen/", {"reason": "more cartons"}, format="json"), 403, "permission_denied")
    _error(admin_api.post(f"{url}reopen/", {"reason": "  "}, format="json"), 400, "validation_error")
    reopened = admin_api.post(f"{url}reopen/", {"reason": "Customer added 3 cartons"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"
    _error(admin_api.post(f"{url}reopen/", {"reason": "again"}, format="json"), 409, "wrong_state")
    _error(warehouse_api.post(f"{url}cancel/", {}, format="json"), 409, "has_lines")
    empty = _box()
    cancelled = warehouse_api.post(f"{SHIPMENTS}{empty.pk}/cancel/", {"reason": "booked elsewhere"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    _error(warehouse_api.post(f"{SHIPMENTS}{empty.pk}/cancel/", {}, format="json"), 409, "wrong_state")


def test_an_air_batch_closes_without_a_container_and_refuses_one(admin_api: APIClient) -> None:
    air = _box("AIR")
    load_receipt(air.pk, _received().pk, None, None)
    refused = admin_api.post(f"{SHIPMENTS}{air.pk}/close/", {"container_number": "CSQU3054383"}, format="json")
    _error(refused, 409, "air_has_no_container")
    closed = admin_api.post(f"{SHIPMENTS}{air.pk}/close/", {}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"


# --- consignments ----------------------------------------------------------------------------------------------------


def test_consignments_with_their_totals_by_shipment_or_customer(warehouse_api: APIClient) -> None:
    kofi, ama = make_customer(), make_customer()
    box, other = _box(), _box()
    load_receipt(box.pk, _received(kofi, cartons=4, cbm="0.400", weight_kg=Decimal("10")).pk, None, None)
    load_receipt(box.pk, _received(kofi, cartons=6, cbm="0.600").pk, None, None)
    load_receipt(box.pk, _received(ama).pk, None, None)
    load_receipt(other.pk, _received(kofi).pk, None, None)
    listed = warehouse_api.get(f"/api/v1/consignments/?shipment={box.pk}").json()
    assert listed["count"] == 2
    kofis = warehouse_api.get(f"/api/v1/consignments/?customer={kofi.pk}").json()["results"]
    assert {row["shipment"] for row in kofis} == {box.pk, other.pk}
    mine = next(row for row in kofis if row["shipment"] == box.pk)
    assert (mine["cartons"], mine["cbm"], mine["weight_kg"], mine["line_count"]) == (10, "1.000", "10.00", 2)
    detail = warehouse_api.get(f"/api/v1/consignments/{mine['id']}/").json()
    assert [line["cartons"] for line in detail["lines"]] == [4, 6] and detail["shipment_reference"] == box.reference
    _error(warehouse_api.get("/api/v1/consignments/?shipment=0"), 400, "validation_error")
    _error(warehouse_api.get("/api/v1/consignments/999999/"), 404, "not_found")


# --- loading-list files ----------------------------------------------------------------------------------------------


def test_the_loading_list_downloads(warehouse_api: APIClient) -> None:
    box = _box()
    load_receipt(box.pk, _received().pk, None, None)
    xlsx = warehouse_api.get(f"{SHIPMENTS}{box.pk}/loading-list.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"loading-list-{box.reference}.xlsx" in xlsx["Content-Disposition"]
    assert b"".join(xlsx.streaming_content)[:2] == b"PK"
    csv = warehouse_api.get(f"{SHIPMENTS}{box.pk}/loading-list.csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert box.reference in b"".join(csv.streaming_content).decode("utf-8-sig")
    _error(warehouse_api.get(f"{SHIPMENTS}999999/loading-list.csv"), 404, "not_found")


# --- who may do what -------------------------------------------------------------------------------------------------


def test_anonymous_callers_get_401_and_roles_without_view_shipment_403(api: APIClient, staff_api: APIClient) -> None:
    box = _box()
    consignment_free = ["/api/v1/consignments/", SHIPMENTS, f"{SHIPMENTS}{box.pk}/"]
    for url in [*consignment_free, f"{SHIPMENTS}{box.pk}/loading-list.xlsx", f"{SHIPMENTS}{box.pk}/loading-list.csv"]:
        _error(api.get(url), 401, "not_authenticated")
        _error(staff_api.get(url), 403, "permission_denied")
    for action in ("close", "reopen", "cancel", "lines"):
        _error(api.post(f"{SHIPMENTS}{box.pk}/{action}/", {}, format="json"), 401, "not_authenticated")
        _error(staff_api.post(f"{SHIPMENTS}{box.pk}/{action}/", {}, format="json"), 403, "permission_denied")
    _error(staff_api.post(SHIPMENTS, {"equipment": "40HC"}, format="json"), 403, "permission_denied")
    _error(staff_api.patch(f"{SHIPMENTS}{box.pk}/", {"notes": "x"}, format="json"), 403, "permission_denied")


def test_warehouse_creates_and_loads_but_only_admin_closes(warehouse_api: APIClient, admin_api: APIClient) -> None:
    created = warehouse_api.post(SHIPMENTS, {"equipment": "20GP"}, format="json").json()
    box = Shipment.objects.get(pk=created["id"])
    receipt = _received()
    assert _load(warehouse_api, box, (receipt.pk, None)).status_code == 200
    number = {"container_number": "CSQU3054383"}
    _error(warehouse_api.post(f"{SHIPMENTS}{box.pk}/close/", number, format="json"), 403, "permission_denied")
    assert admin_api.post(f"{SHIPMENTS}{box.pk}/close/", number, format="json").status_code == 200


# --- the schema says what the answers hold ---------------------------------------------------------------------------


@pytest.fixture
def wsgi_get() -> Callable[..., Any]:
    """GET through the Django app behind a WSGI test client, as schemathesis calls it, inside the test's transaction:
    the connection is kept open at the end of the request (Django's own test client does the same)."""
    client = WsgiClient(get_wsgi_application())

    def get(url: str, **kwargs: Any) -> Any:
        signals.request_started.disconnect(close_old_connections)
        signals.request_finished.disconnect(close_old_connections)
        try:
            response = client.get(url, **kwargs)
            response.get_data()  # read (and close) it while the connection is still ours
            return response
        finally:
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)

    return get


def test_a_loaded_shipment_and_its_consignment_answer_as_the_schema_says(
    admin_api: APIClient, admin_user: Any, settings: Any, wsgi_get: Callable[..., Any]
) -> None:
    """The fuzz (tests/test_api_schema.py) meets mostly empty shipments; a loaded one is checked here."""
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]  # the WSGI client and the API client
    schema = schemathesis.openapi.from_dict(admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json())
    box = _box()
    receipt = _received(cartons=4, weight_kg=None, length_cm=Decimal("50"), width_cm=Decimal("40"),
                        height_cm=Decimal("30"))  # fmt: skip
    load_receipt(box.pk, receipt.pk, 3, None)
    headers = {"Authorization": f"Token {issue_token(admin_user)[1]}"}
    consignment = Consignment.objects.get(shipment=box)
    for path, url in [
        ("/api/v1/shipments/{id}/", f"{SHIPMENTS}{box.pk}/"),
        ("/api/v1/shipments/", SHIPMENTS),
        ("/api/v1/consignments/{id}/", f"/api/v1/consignments/{consignment.pk}/"),
        ("/api/v1/consignments/", "/api/v1/consignments/"),
    ]:
        response = wsgi_get(url, headers=headers)
        assert response.status_code == 200, response.text
        schema[path]["GET"].validate_response(response)
