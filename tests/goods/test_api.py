"""`/api/v1/goods/` and the unknown-mark queue: list, filters, search, edit with the model's validation, the queue
with suggestions, resolve, permissions (401 anonymous, 403 without the permission), the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from primepre.accounts.roles import ROLE_PERMISSIONS, WAREHOUSE_GROUP
from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptStatus

from ..customers.factories import make_customer
from .factories import DAY, make_receipt

pytestmark = pytest.mark.django_db
URL = "/api/v1/goods/"
QUEUE = "/api/v1/goods/unknown-marks/"


@pytest.fixture
def goods() -> dict[str, object]:
    kofi = make_customer(first_name="Kofi", last_name="Mensah", shipping_mark="PM4 KOFI", phone="+233241234567")
    ama = make_customer(first_name="Ama", last_name="Owusu", shipping_mark="PM7 AMA")
    return {
        "kofi": kofi,
        "ama": ama,
        "shoes": make_receipt(customer=kofi, description="Shoes", tracking_number="SF 1234 5678"),
        "bags": make_receipt(
            customer=ama, shipping_mark="PM7 AMA", description="Bags", warehouse="YW", method="air",
            received_on=DAY.replace(day=1),
        ),
        "unknown": make_receipt(shipping_mark="PM4 KOFFI", description="Phones"),
    }  # fmt: skip


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_list_search_and_filters(warehouse_api: APIClient, goods: dict) -> None:
    shoes, bags, unknown = goods["shoes"].pk, goods["bags"].pk, goods["unknown"].pk
    assert _ids(warehouse_api.get(URL)) == {shoes, bags, unknown}
    assert _ids(warehouse_api.get(URL, {"search": "pm4-kofi"})) == {shoes}  # the mark however spaced
    assert _ids(warehouse_api.get(URL, {"search": "pm4 koffi"})) == {unknown}
    assert _ids(warehouse_api.get(URL, {"search": "sf12345678"})) == {shoes}  # tracking number without its spaces
    assert _ids(warehouse_api.get(URL, {"search": "Owusu"})) == {bags}  # the customer's name
    assert _ids(warehouse_api.get(URL, {"search": "024 123 4567"})) == {shoes}  # the customer's phone, any format
    assert _ids(warehouse_api.get(URL, {"search": "phones"})) == {unknown}  # description
    assert _ids(warehouse_api.get(URL, {"warehouse": "YW"})) == {bags}
    assert _ids(warehouse_api.get(URL, {"method": "air"})) == {bags}
    assert _ids(warehouse_api.get(URL, {"unidentified": "true"})) == {unknown}
    assert _ids(warehouse_api.get(URL, {"unidentified": "false"})) == {shoes, bags}
    assert _ids(warehouse_api.get(URL, {"status": ["received"]})) == {shoes, bags}
    assert _ids(warehouse_api.get(URL, {"received_after": "2026-11-02", "received_before": "2026-11-30"})) == {
        shoes, unknown
    }  # fmt: skip
    assert _ids(warehouse_api.get(URL, {"customer": goods["kofi"].pk})) == {shoes}


def test_bad_filters_are_400_with_the_projects_error_shape(warehouse_api: APIClient, goods: dict) -> None:
    for params in [{"warehouse": "SH"}, {"received_after": "yesterday"}, {"customer": "9" * 30}, {"status": "lost"}]:
        response = warehouse_api.get(URL, params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "validation_error"


def test_detail_and_representation(warehouse_api: APIClient, goods: dict) -> None:
    data = warehouse_api.get(f"{URL}{goods['shoes'].pk}/").json()
    assert data["customer"] == goods["kofi"].pk and data["customer_mark"] == "PM4 KOFI"
    assert data["customer_name"] == "Kofi Mensah" and data["warehouse_name"] == "Guangzhou"
    assert data["cbm"] == "0.500" and data["tracking_key"] == "sf12345678"
    assert warehouse_api.get(f"{URL}{goods['unknown'].pk}/").json()["customer"] is None
    assert warehouse_api.get(f"{URL}999999/").json()["code"] == "not_found"


def test_edit_with_the_models_validation(warehouse_api: APIClient, goods: dict) -> None:
    url = f"{URL}{goods['shoes'].pk}/"
    response = warehouse_api.patch(url, {"cartons": 5, "cbm": "1,5"}, format="json")
    assert response.status_code == 400 and "cbm" in response.json()["fields"]
    response = warehouse_api.patch(url, {"cartons": 5, "notes": "two boxes wet"}, format="json")
    assert response.status_code == 200 and response.json()["cartons"] == 5
    assert warehouse_api.patch(url, {"status": "cancelled"}, format="json").json()["status"] == "cancelled"
    bad = warehouse_api.patch(url, {"cartons": 0, "warehouse": "SH", "status": "unidentified"}, format="json").json()
    assert bad["code"] == "validation_error" and {"cartons", "warehouse", "status"} <= set(bad["fields"])
    clash = warehouse_api.patch(f"{URL}{goods['bags'].pk}/", {"tracking_number": "sf12345678"}, format="json").json()
    assert clash["fields"]["tracking_number"][0]["code"] == "exists"
    response = warehouse_api.patch(f"{URL}{goods['bags'].pk}/", {"shipping_mark": " pm7  Ama "}, format="json")
    assert response.json()["mark_key"] == "pm7ama"


def test_no_create_and_no_delete(warehouse_api: APIClient, admin_api: APIClient, goods: dict) -> None:
    assert warehouse_api.post(URL, {}, format="json").status_code == 405
    assert admin_api.delete(f"{URL}{goods['shoes'].pk}/").status_code == 405
    assert GoodsReceipt.objects.count() == 3


def test_permissions(api: APIClient, staff_api: APIClient, goods: dict) -> None:
    url = f"{URL}{goods['shoes'].pk}/"
    assert api.get(URL).status_code == 401 and api.get(URL).json()["code"] == "not_authenticated"
    assert staff_api.get(URL).status_code == 403  # Staff has no goods permission
    assert staff_api.get(QUEUE).status_code == 403
    assert staff_api.patch(url, {"notes": "x"}, format="json").status_code == 403
    assert api.post(f"{QUEUE}pm4koffi/resolve/", {"action": "leave"}, format="json").status_code == 401


def test_the_roles_hold_exactly_what_roles_py_lists(warehouse_user, admin_user) -> None:
    listed = {f"{app}.{codename}" for app, codename in ROLE_PERMISSIONS[WAREHOUSE_GROUP]}
    assert warehouse_user.get_all_permissions() == listed
    assert not warehouse_user.has_perm("customers.send_sms") and not warehouse_user.has_perm("customers.add_customer")
    for permission in ["view_goodsreceipt", "change_goodsreceipt", "import_goods", "resolve_marks"]:
        assert admin_user.has_perm(f"goods.{permission}")


def test_the_queue_with_suggestions_paginated(warehouse_api: APIClient, goods: dict) -> None:
    make_receipt(shipping_mark="PM4 KOFFI", cartons=3, cbm=Decimal("1.25"), received_on=DAY - dt.timedelta(days=3))
    make_receipt(shipping_mark="XQ9 NOBODY")
    data = warehouse_api.get(QUEUE, {"page_size": 1}).json()
    assert data["count"] == 2 and len(data["results"]) == 1
    first = data["results"][0]
    assert (first["mark_key"], first["receipts"], first["cartons"], first["cbm"]) == ("pm4koffi", 2, 5, "1.750")
    assert first["first_received"] == "2026-11-25" and first["last_received"] == "2026-11-28"
    assert first["suggestions"][0]["shipping_mark"] == "PM4 KOFI"
    assert first["suggestions"][0]["customer"] == goods["kofi"].pk
    ordered = warehouse_api.get(QUEUE, {"ordering": "mark_key"}).json()["results"]
    assert [row["mark_key"] for row in ordered] == ["pm4koffi", "xq9nobody"]


def test_resolve_assign_then_conflict(warehouse_api: APIClient, admin_api: APIClient, goods: dict) -> None:
    response = warehouse_api.post(f"{QUEUE}pm4koffi/resolve/", {"action": "assign", "customer": goods["kofi"].pk},
                                  format="json")  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json() == {
        "mark_key": "pm4koffi", "action": "assign", "receipts": 1, "customer": goods["kofi"].pk, "messages_queued": 0
    }  # fmt: skip
    assert MarkAlias.objects.get().customer == goods["kofi"]
    again = admin_api.post(
        f"{QUEUE}pm4koffi/resolve/", {"action": "assign", "customer": goods["ama"].pk}, format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert "already" in again.json()["message"]
    missing = warehouse_api.post(f"{QUEUE}nosuchmark/resolve/", {"action": "leave"}, format="json")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_an_assignment_is_undone_through_the_api(warehouse_api: APIClient, goods: dict) -> None:
    url = f"{QUEUE}pm4koffi/resolve/"
    warehouse_api.post(url, {"action": "assign", "customer": goods["kofi"].pk}, format="json")
    undone = warehouse_api.post(url, {"action": "unassign"}, format="json")
    assert undone.status_code == 200 and undone.json()["receipts"] == 1, undone.content
    assert not MarkAlias.objects.exists()
    assert [row["mark_key"] for row in warehouse_api.get(QUEUE).json()["results"]].count("pm4koffi") == 1
    again = warehouse_api.post(url, {"action": "unassign"}, format="json")
    assert again.status_code == 409 and "nothing to undo" in again.json()["message"]


def test_resolve_input_errors(warehouse_api: APIClient, goods: dict) -> None:
    url = f"{QUEUE}pm4koffi/resolve/"
    for body, field in [({"action": "assign"}, "customer"), ({"action": "fly"}, "action"),
                        ({"action": "assign", "customer": 999999}, "customer")]:  # fmt: skip
        response = warehouse_api.post(url, body, format="json")
        assert response.status_code == 400 and field in response.json()["fields"], body
    assert warehouse_api.post(url, {"action": "leave"}, format="json").json()["receipts"] == 1


def test_resolve_create_needs_add_customer_and_validates(warehouse_api: APIClient, admin_api: APIClient, goods) -> None:
    url = f"{QUEUE}pm4koffi/resolve/"
    body = {"action": "create", "first_name": "Kofi", "last_name": "Boateng", "phone": "020 111 2222"}
    assert warehouse_api.post(url, body, format="json").status_code == 403  # Warehouse may not add customers
    missing = admin_api.post(url, {"action": "create", "first_name": "Kofi"}, format="json").json()
    assert {"last_name", "phone"} <= set(missing["fields"])
    bad = admin_api.post(url, {**body, "phone": "12345"}, format="json")
    assert bad.status_code == 400 and "phone" in bad.json()["fields"]
    response = admin_api.post(url, body, format="json")
    assert response.status_code == 200 and response.json()["receipts"] == 1
    assert GoodsReceipt.objects.get(pk=goods["unknown"].pk).customer.phone == "+233201112222"
    assert GoodsReceipt.objects.get(pk=goods["unknown"].pk).status == ReceiptStatus.RECEIVED


def test_every_goods_endpoint_is_in_the_openapi_schema(admin_api: APIClient) -> None:
    schema = admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert set(paths["/api/v1/goods/"]) >= {"get"} and "post" not in paths["/api/v1/goods/"]
    assert set(paths["/api/v1/goods/{id}/"]) == {"get", "put", "patch"}
    assert "get" in paths["/api/v1/goods/unknown-marks/"]
    resolve = paths["/api/v1/goods/unknown-marks/{mark_key}/resolve/"]["post"]
    assert resolve["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Resolve")
    assert {"200", "400", "401", "403", "404", "409"} <= set(resolve["responses"])
