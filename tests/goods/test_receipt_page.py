"""The page per receipt (issue #24 item 5): every field, its customer, import, SMS and history; a Warehouse user
corrects it, holds and releases it, cancels it and gives it to another customer, each kept with who and why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from primepre.goods.models import GoodsReceipt, ReceiptChange, ReceiptStatus
from primepre.goods.notify import sms_key
from primepre.sms.models import SmsMessage

from ..customers.factories import make_customer
from .factories import make_receipt

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, receipt: GoodsReceipt, **form: str) -> str:
    return client.post(f"/goods/{receipt.pk}/", form, follow=True).content.decode()


def test_the_page_shows_the_receipt_its_customer_sms_and_history(warehouse_user) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah")
    receipt = make_receipt(shipping_mark="PM4 KOFI", customer=kofi, cartons=3, description="shoes")
    SmsMessage.objects.create(
        customer=kofi, phone=kofi.phone, kind="received", body="PrimePre: we received 3 packages", encoding="GSM",
        segments=1, idempotency_key=sms_key(kofi.pk, receipt.received_on),
    )  # fmt: skip
    client = _client(warehouse_user)
    assert f'href="/goods/{receipt.pk}/"' in client.get("/goods/").content.decode()  # the list links to it
    html = client.get(f"/goods/{receipt.pk}/").content.decode()
    assert "PM4 KOFI — Kofi Mensah" in html and "shoes" in html and "we received 3 packages" in html
    assert 'id="receipt-edit"' in html and "Not changed since it was recorded." in html


def test_a_warehouse_user_corrects_holds_releases_and_cancels_with_reasons(warehouse_user) -> None:
    receipt = make_receipt(shipping_mark="PM4 KOFI", customer=make_customer(), cartons=3)
    client = _client(warehouse_user)
    form = {"cartons": "4", "cbm": "0.250", "description": "shoes", "warehouse": receipt.warehouse, "method": "air"}
    _post(client, receipt, action="edit", **form)
    receipt.refresh_from_db()
    assert (receipt.cartons, receipt.cbm, receipt.method) == (4, Decimal("0.250"), "air")
    refused = _post(client, receipt, action="hold", reason="")
    assert "Say why" in refused and GoodsReceipt.objects.get().status == ReceiptStatus.RECEIVED
    _post(client, receipt, action="hold", reason="customs paperwork missing")
    assert GoodsReceipt.objects.get().status == ReceiptStatus.ON_HOLD
    _post(client, receipt, action="release", reason="paperwork arrived")
    assert GoodsReceipt.objects.get().status == ReceiptStatus.RECEIVED
    _post(client, receipt, action="cancel", reason="entered twice")
    assert GoodsReceipt.objects.get().status == ReceiptStatus.CANCELLED
    after = _post(client, receipt, action="hold", reason="again")
    assert "is cancelled: it cannot be put on hold" in after
    reasons = list(ReceiptChange.objects.order_by("pk").values_list("reason", "source", "changed_by_name"))
    assert [r[0] for r in reasons] == ["", "customs paperwork missing", "paperwork arrived", "entered twice"]
    assert {r[1] for r in reasons} == {"page"} and {r[2] for r in reasons} == {warehouse_user.username}
    assert "entered twice" in after and "status: on_hold → received" in after


def test_bad_values_are_refused_with_the_reason_and_nothing_changes(warehouse_user) -> None:
    receipt = make_receipt(customer=make_customer(), cartons=3)
    page = _post(_client(warehouse_user), receipt, action="edit", cartons="0", cbm="x", warehouse="ZZ", method="sea")
    assert "Not saved" in page
    receipt.refresh_from_db()
    assert receipt.cartons == 3 and not ReceiptChange.objects.exists()


def test_reassigning_one_receipt_moves_it_alone(warehouse_user) -> None:
    ama = make_customer(shipping_mark="PM7 AMA", phone="+233201234567")
    unidentified = make_receipt(shipping_mark="PM7 AMAA", received_on=dt.date(2026, 11, 28))
    client = _client(warehouse_user)
    assert "Say why" in _post(client, unidentified, action="reassign", customer_search="PM7 AMA", reason="")
    _post(client, unidentified, action="reassign", customer_search="020 123 4567", reason="phoned, it is hers")
    unidentified.refresh_from_db()
    assert (unidentified.customer, unidentified.status) == (ama, ReceiptStatus.RECEIVED)
    assert "No customer has that mark or phone" in _post(
        client, unidentified, action="reassign", customer_search="nobody", reason="x"
    )


def test_who_may_see_and_change_a_receipt(client: Client, staff_user, warehouse_user) -> None:
    receipt = make_receipt(customer=make_customer())
    assert client.get(f"/goods/{receipt.pk}/").status_code == 302  # sign in first
    assert _client(staff_user).get(f"/goods/{receipt.pk}/").status_code == 403
    assert _client(warehouse_user).get("/goods/999999/").status_code == 404
    assert _client(staff_user).post(f"/goods/{receipt.pk}/", {"action": "cancel", "reason": "x"}).status_code == 403
    assert GoodsReceipt.objects.get().status == ReceiptStatus.RECEIVED
