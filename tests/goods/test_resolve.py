"""Resolving an unknown mark once: assign, create, leave; conflicts; aliases used by later matching; receipt SMS."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from primepre.customers.models import Customer
from primepre.goods import resolve
from primepre.goods.matching import match_marks
from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptStatus
from primepre.goods.notify import (
    count_receipt_sms,
    queue_receipt_sms,
    queue_receipt_sms_for_import,
    short_date,
    sms_key,
)
from primepre.goods.resolve import MarkConflict, MarkNotQueued, assign_mark, create_customer_for_mark, leave_mark
from primepre.imports.models import ImportJob
from primepre.sms.backends import reset_backend
from primepre.sms.models import SmsMessage

from ..customers.factories import make_customer
from .factories import DAY, make_receipt

pytestmark = pytest.mark.django_db


def _unknown(count: int = 3, mark: str = "PM4 KOFFI", **extra: object) -> list[GoodsReceipt]:
    return [make_receipt(shipping_mark=mark, **extra) for _ in range(count)]


def test_assign_moves_every_receipt_in_one_update_and_later_imports_match_the_alias(admin_user) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    _unknown(3)
    make_receipt(shipping_mark="PM9 OTHER")
    with CaptureQueriesContext(connection) as queries:
        result = assign_mark("pm4koffi", kofi, admin_user)
    updates = [q["sql"] for q in queries if q["sql"].upper().startswith("UPDATE")]
    assert len(updates) == 1 and "pm4koffi" in str(queries.captured_queries)
    assert (result.action, result.receipts, result.customer_id) == ("assign", 3, kofi.pk)
    assert GoodsReceipt.objects.filter(customer=kofi, status=ReceiptStatus.RECEIVED).count() == 3
    assert GoodsReceipt.objects.filter(status=ReceiptStatus.UNIDENTIFIED).count() == 1
    alias = MarkAlias.objects.get()
    assert (alias.mark_key, alias.shipping_mark, alias.customer, alias.created_by) == (
        "pm4koffi", "PM4 KOFFI", kofi, admin_user,
    )  # fmt: skip
    assert match_marks(["pm4koffi"]) == {"pm4koffi": kofi.pk}


def test_a_second_resolution_of_the_same_mark_is_a_conflict_and_changes_nothing() -> None:
    kofi, other = make_customer(shipping_mark="PM4 KOFI"), make_customer(shipping_mark="PM4 KOJO")
    _unknown(2)
    assign_mark("pm4koffi", kofi)
    _unknown(1)  # a later line with the same mark, before anyone re-resolves it (imports would match it)
    with pytest.raises(MarkConflict, match="already assigned to PM4 KOFI"):
        assign_mark("pm4koffi", other)
    with pytest.raises(MarkConflict):
        create_customer_for_mark("pm4koffi", first_name="Kofi", last_name="Two", phone="0241111111")
    assert MarkAlias.objects.get().customer == kofi
    assert not Customer.objects.filter(last_name="Two").exists()
    assert GoodsReceipt.objects.filter(customer=other).count() == 0


def test_resolving_a_mark_nobody_has_left_is_a_conflict_naming_the_owner() -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    _unknown(1)
    assign_mark("pm4koffi", kofi)
    with pytest.raises(MarkConflict, match=f"customer {kofi.pk}"):
        assign_mark("pm4koffi", make_customer())
    with pytest.raises(MarkNotQueued):
        assign_mark("neverseen", kofi)
    with pytest.raises(MarkConflict):
        assign_mark("pm4kofi", kofi)  # a customer's own mark needs no alias


def test_create_a_customer_with_the_mark_through_the_models_validation(admin_user) -> None:
    _unknown(2, mark="PM8 ESI")
    make_receipt(shipping_mark="pm8-esi")
    with pytest.raises(ValidationError) as caught:
        create_customer_for_mark("pm8esi", first_name="", last_name="Owusu", phone="12")
    assert {"first_name", "phone"} <= set(caught.value.error_dict)
    result = create_customer_for_mark(
        "pm8esi", first_name="Esi", last_name="Owusu", phone="024 999 8888", user=admin_user
    )
    customer = Customer.objects.get(pk=result.customer_id)
    assert (customer.shipping_mark, customer.phone, customer.created_by) == ("PM8 ESI", "+233249998888", admin_user)
    assert result.receipts == 3 and GoodsReceipt.objects.filter(customer=customer).count() == 3
    assert not MarkAlias.objects.exists()  # the mark is the customer's own: matched without an alias
    with pytest.raises(MarkConflict):
        create_customer_for_mark("pm8esi", first_name="Esi", last_name="Again", phone="0249998889")


def test_create_with_a_phone_another_customer_has_is_a_validation_error() -> None:
    make_customer(phone="+233241234567")
    _unknown(1, mark="PM8 ESI")
    with pytest.raises(ValidationError) as caught:
        create_customer_for_mark("pm8esi", first_name="Esi", last_name="Owusu", phone="0241234567")
    assert "phone" in str(caught.value)
    assert GoodsReceipt.objects.get().status == ReceiptStatus.UNIDENTIFIED


def test_leave_changes_nothing() -> None:
    _unknown(2)
    assert leave_mark("pm4koffi").receipts == 2
    assert GoodsReceipt.objects.filter(status=ReceiptStatus.UNIDENTIFIED).count() == 2
    with pytest.raises(MarkNotQueued):
        leave_mark("nothing")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections racing: PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_staff_resolving_the_same_mark_at_once_one_wins_one_gets_a_conflict(monkeypatch) -> None:
    kofi, kojo = make_customer(shipping_mark="PM4 KOFI"), make_customer(shipping_mark="PM4 KOJO")
    _unknown(5)
    inside = threading.Event()
    real_claim = resolve._claim_receipts

    def slow_claim(key: str, customer_id: int, user: object) -> int:
        inside.set()
        threading.Event().wait(0.3)  # hold the first transaction open while the second one starts
        return real_claim(key, customer_id, user)

    monkeypatch.setattr(resolve, "_claim_receipts", slow_claim)
    outcomes: dict[str, object] = {}

    def run(name: str, customer: Customer) -> None:
        try:
            outcomes[name] = assign_mark("pm4koffi", customer)
        except MarkConflict as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=run, args=("first", kofi))
    first.start()
    assert inside.wait(5)
    second = threading.Thread(target=run, args=("second", kojo))
    second.start()
    first.join(10)
    second.join(10)
    assert outcomes["first"].receipts == 5  # type: ignore[union-attr]
    assert isinstance(outcomes["second"], MarkConflict)
    assert GoodsReceipt.objects.filter(customer=kofi).count() == 5
    assert MarkAlias.objects.get().customer_id == kofi.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections racing: PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_create_racing_an_assign_rolls_the_new_customer_back(monkeypatch) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    _unknown(2)
    inside = threading.Event()
    real_claim = resolve._claim_receipts

    def slow_claim(key: str, customer_id: int, user: object) -> int:
        moved = real_claim(key, customer_id, user)
        if customer_id == kofi.pk:
            inside.set()
            threading.Event().wait(0.3)  # the assign holds its row locks while the create reaches its UPDATE
        return moved

    monkeypatch.setattr(resolve, "_claim_receipts", slow_claim)
    outcomes: dict[str, object] = {}

    def run(name: str, action) -> None:
        try:
            outcomes[name] = action()
        except MarkConflict as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    first = threading.Thread(target=run, args=("assign", lambda: assign_mark("pm4koffi", kofi)))
    first.start()
    assert inside.wait(5)
    args = {"first_name": "Kofi", "last_name": "Clone", "phone": "0245550000"}
    second = threading.Thread(target=run, args=("create", lambda: create_customer_for_mark("pm4koffi", **args)))
    second.start()
    first.join(10)
    second.join(10)
    assert outcomes["assign"].receipts == 2  # type: ignore[union-attr]
    assert isinstance(outcomes["create"], MarkConflict)
    assert not Customer.objects.filter(last_name="Clone").exists()


# --- receipt SMS ----------------------------------------------------------------------------------------------------


def test_one_sms_per_customer_per_day_with_the_days_totals(settings) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    ama = make_customer(shipping_mark="PM7 AMA")
    make_receipt(customer=kofi, cartons=2, cbm=Decimal("1.000"))
    make_receipt(customer=kofi, cartons=1, cbm=Decimal("0.250"), description="shoes")
    make_receipt(customer=kofi, cartons=1, cbm=Decimal("0.250"), received_on=DAY + dt.timedelta(days=1))
    make_receipt(customer=ama, cartons=4, cbm=Decimal("2.000"), warehouse="YW")
    make_receipt(customer=ama, cartons=1, cbm=Decimal("9"), status=ReceiptStatus.CANCELLED)
    pairs = [(kofi.pk, DAY), (kofi.pk, DAY), (kofi.pk, DAY + dt.timedelta(days=1)), (ama.pk, DAY)]
    assert count_receipt_sms(pairs) == 3
    assert queue_receipt_sms(pairs) == 3
    assert queue_receipt_sms(pairs) == 0  # a re-run sends nothing
    assert count_receipt_sms(pairs) == 0
    body = SmsMessage.objects.get(idempotency_key=sms_key(kofi.pk, DAY)).body
    assert body == "PrimePre: we received 3 packages (1.250 CBM) for PM4 KOFI at our Guangzhou warehouse on 28 Nov."
    ama_sms = SmsMessage.objects.get(idempotency_key=f"received:{ama.pk}:2026-11-28")
    assert "4 packages (2.000 CBM) for PM7 AMA at our Yiwu warehouse" in ama_sms.body
    assert ama_sms.kind == "received" and ama_sms.phone == ama.phone
    settings.SMS_RECEIPT_TEMPLATE = "{first_name}: {packages} ctns {date} {unknown}"
    other = make_customer(first_name="Yaw", shipping_mark="PM2 YAW")
    make_receipt(customer=other)
    queue_receipt_sms([(other.pk, DAY)])
    assert SmsMessage.objects.get(customer=other).body == "Yaw: 2 ctns 28 Nov {unknown}"


def test_receipt_sms_for_an_import_and_after_resolving_its_unknown_mark(admin_user) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    job = ImportJob.objects.create(file_name="goods.xlsx", created_by=admin_user, options={"send_receipt_sms": True})
    quiet = ImportJob.objects.create(file_name="quiet.xlsx", created_by=admin_user, options={})
    make_receipt(customer=kofi, import_job=job)
    make_receipt(shipping_mark="PM4 KOFFI", import_job=job, received_on=DAY - dt.timedelta(days=2))
    make_receipt(shipping_mark="PM4 KOFFI", import_job=quiet, received_on=DAY - dt.timedelta(days=5))
    assert queue_receipt_sms_for_import(job.pk) == 1
    assert queue_receipt_sms_for_import(job.pk) == 0  # a resumed or repeated job
    result = assign_mark("pm4koffi", kofi)
    assert result.messages_queued == 1  # only the receipt whose import asked for texts
    assert set(SmsMessage.objects.values_list("idempotency_key", flat=True)) == {
        sms_key(kofi.pk, DAY),
        sms_key(kofi.pk, DAY - dt.timedelta(days=2)),
    }


@pytest.fixture
def sms_off(settings) -> Iterator[None]:
    settings.SMS_BACKEND = "disabled"
    reset_backend()
    yield
    reset_backend()


def test_no_sms_is_queued_or_counted_while_sms_is_off(sms_off: None) -> None:
    kofi = make_customer()
    make_receipt(customer=kofi)
    assert count_receipt_sms([(kofi.pk, DAY)]) == 0
    assert queue_receipt_sms([(kofi.pk, DAY)]) == 0
    assert not SmsMessage.objects.exists()


def test_short_dates() -> None:
    assert short_date(dt.date(2026, 1, 3)) == "3 Jan"
    assert short_date(DAY) == "28 Nov"
