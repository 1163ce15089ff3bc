"""Every change to a receipt is recorded (who, when, by which path, each field before → after) in the change's own
transaction: through the API's PUT/PATCH, the admin, and resolving a mark; shown as `history` in the API's detail and
on the receipt's admin page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.test import Client
from rest_framework.test import APIClient

from primepre.goods import history
from primepre.goods.models import GoodsReceipt, ReceiptChange, ReceiptStatus
from primepre.goods.resolve import assign_mark

from ..customers.factories import make_customer
from .factories import make_receipt

pytestmark = pytest.mark.django_db
URL = "/api/v1/goods/"


def test_a_patch_is_recorded_and_shown_as_history(warehouse_api: APIClient, warehouse_user) -> None:
    kofi, ama = make_customer(shipping_mark="PM4 KOFI"), make_customer(shipping_mark="PM7 AMA")
    receipt = make_receipt(customer=kofi, cartons=2, cbm=Decimal("0.500"))
    response = warehouse_api.patch(f"{URL}{receipt.pk}/", {"customer": ama.pk, "cartons": 3, "cbm": "0.75"})
    assert response.status_code == 200, response.content
    [entry] = response.json()["history"]
    assert entry["changed_by"] == warehouse_user.username and entry["source"] == "api" and entry["changed_at"]
    assert entry["changes"] == {
        "customer": {"before": kofi.pk, "after": ama.pk},
        "cartons": {"before": 2, "after": 3},
        "cbm": {"before": "0.500", "after": "0.750"},
    }
    warehouse_api.patch(f"{URL}{receipt.pk}/", {"notes": "wet box"})
    detail = warehouse_api.get(f"{URL}{receipt.pk}/").json()
    assert [set(change["changes"]) for change in detail["history"]] == [{"notes"}, {"customer", "cartons", "cbm"}]
    assert "history" not in warehouse_api.get(URL).json()["results"][0]  # the list leaves it out


def test_an_edit_that_changes_nothing_records_nothing(warehouse_api: APIClient) -> None:
    receipt = make_receipt(cartons=2)
    assert warehouse_api.patch(f"{URL}{receipt.pk}/", {"cartons": 2}).status_code == 200
    assert warehouse_api.put(f"{URL}{receipt.pk}/", _put_body(receipt), format="json").status_code == 200
    assert not ReceiptChange.objects.exists()


def _put_body(receipt: GoodsReceipt, **changes: object) -> dict[str, object]:
    return {**history.snapshot(receipt), **changes}


def test_a_put_is_recorded_too(warehouse_api: APIClient) -> None:
    receipt = make_receipt(cartons=2, weight_kg=None)
    response = warehouse_api.put(f"{URL}{receipt.pk}/", _put_body(receipt, weight_kg="12.5"), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["history"][0]["changes"] == {"weight_kg": {"before": None, "after": "12.50"}}


def test_the_change_and_its_record_commit_together(warehouse_api: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    receipt = make_receipt(cartons=2)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the history could not be written")

    monkeypatch.setattr(ReceiptChange.objects, "create", fail)
    with pytest.raises(RuntimeError):
        warehouse_api.patch(f"{URL}{receipt.pk}/", {"cartons": 9})
    receipt.refresh_from_db()
    assert receipt.cartons == 2  # no change without its record


def test_an_admin_edit_is_recorded_and_the_page_shows_the_history(django_user_model) -> None:
    root = django_user_model.objects.create_superuser(username="root", password="x" * 12)
    receipt = make_receipt(cartons=2, description="shoes")
    client = Client()
    client.force_login(root)
    page = client.get(f"/admin/goods/goodsreceipt/{receipt.pk}/change/")
    form = {key: value for key, value in page.context["adminform"].form.initial.items() if value is not None}
    formset = page.context["inline_admin_formsets"][0].formset
    form.update({f"{formset.prefix}-TOTAL_FORMS": "0", f"{formset.prefix}-INITIAL_FORMS": "0"})
    form.update({"cartons": "4", "description": "shoes and bags", "customer": "", "length_cm": "", "width_cm": ""})
    form.update({"height_cm": "", "weight_kg": "", "received_on": receipt.received_on.isoformat()})
    response = client.post(f"/admin/goods/goodsreceipt/{receipt.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    change = ReceiptChange.objects.get(receipt=receipt)
    assert (change.source, change.changed_by_name) == ("admin", "root")
    assert change.changes == {
        "description": {"before": "shoes", "after": "shoes and bags"},
        "cartons": {"before": 2, "after": 4},
    }
    shown = client.get(f"/admin/goods/goodsreceipt/{receipt.pk}/change/").content.decode()
    assert "cartons: 2 → 4" in shown and "description: shoes → shoes and bags" in shown


def test_resolving_a_mark_records_each_receipt_it_moved(warehouse_user) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    moved = [make_receipt(shipping_mark="PM4 KOFFI") for _ in range(3)]
    other = make_receipt(shipping_mark="PM9 OTHER")
    assign_mark(moved[0].mark_key, kofi, warehouse_user)
    changes = ReceiptChange.objects.filter(source="resolve")
    assert sorted(changes.values_list("receipt_id", flat=True)) == sorted(r.pk for r in moved)
    assert changes.first().changes == {
        "customer": {"before": None, "after": kofi.pk},
        "status": {"before": ReceiptStatus.UNIDENTIFIED, "after": ReceiptStatus.RECEIVED},
    }
    assert not ReceiptChange.objects.filter(receipt=other).exists()


def test_a_record_must_say_what_changed() -> None:
    receipt = make_receipt()
    with pytest.raises(IntegrityError, match=r"goods_change_not_empty|CHECK"):
        ReceiptChange.objects.create(receipt=receipt, source="api", changes={})
