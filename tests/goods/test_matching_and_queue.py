"""Matching marks to customers (one query per batch), the unknown-mark queue and its suggestions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from primepre.customers.marks import mark_key
from primepre.customers.models import Customer
from primepre.goods.matching import existing_tracking_keys, match_marks
from primepre.goods.models import MarkAlias
from primepre.goods.queue import (
    edit_distance,
    fold,
    probes,
    queued_mark,
    suggest_customers,
    unknown_marks,
    with_suggestions,
)
from primepre.goods.selectors import customers_holding_goods, goods_for_customer, pending_marks_like

from ..customers.factories import make_customer
from .factories import make_receipt

pytestmark = pytest.mark.django_db


def test_a_batch_of_marks_is_matched_in_one_query_own_marks_before_aliases() -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    ama = make_customer(shipping_mark="PM7 AMA")
    MarkAlias.objects.create(mark_key="pm4koffi", shipping_mark="PM4 KOFFI", customer=kofi)
    keys = [mark_key(m) for m in ["PM4 KOFI", "pm4-koffi", "PM7 AMA", "PM9 NOBODY", "", "PM4KOFI"]]
    with CaptureQueriesContext(connection) as queries:
        matched = match_marks(keys)
    assert len(queries) == 1
    assert matched == {"pm4kofi": kofi.pk, "pm4koffi": kofi.pk, "pm7ama": ama.pk}


def test_a_customers_own_mark_wins_over_an_alias_with_the_same_key() -> None:
    old_owner = make_customer(shipping_mark="PM1 YAW")
    MarkAlias.objects.create(mark_key="pm5esi", shipping_mark="PM5 ESI", customer=old_owner)
    esi = make_customer(shipping_mark="PM5 ESI")  # the mark was later given to a customer as their own
    assert match_marks(["pm5esi"]) == {"pm5esi": esi.pk}


def test_the_queue_groups_unidentified_receipts_by_mark_key() -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    make_receipt(shipping_mark="PM4 KOFFI", cartons=3, cbm=Decimal("1.250"), received_on=dt.date(2026, 11, 20))
    make_receipt(shipping_mark="pm4 koffi", cartons=2, cbm=Decimal("0.300"), received_on=dt.date(2026, 11, 28))
    make_receipt(shipping_mark="ZZ9 UNKNOWN", cartons=1, cbm=Decimal("0.010"), received_on=dt.date(2026, 11, 25))
    make_receipt(shipping_mark="PM4 KOFI", customer=kofi)  # matched: not in the queue
    with CaptureQueriesContext(connection) as queries:
        rows = list(unknown_marks())
    assert len(queries) == 1
    assert [row.pop("left_at") for row in rows] == [None, None]  # nobody left them for later
    assert all(row.pop("last_recorded") for row in rows)
    assert rows == [
        {
            "mark_key": "pm4koffi",
            "shipping_mark": "PM4 KOFFI",
            "receipts": 2,
            "cartons": 5,
            "cbm": Decimal("1.550"),
            "first_received": dt.date(2026, 11, 20),
            "last_received": dt.date(2026, 11, 28),
        },
        {
            "mark_key": "zz9unknown",
            "shipping_mark": "ZZ9 UNKNOWN",
            "receipts": 1,
            "cartons": 1,
            "cbm": Decimal("0.010"),
            "first_received": dt.date(2026, 11, 25),
            "last_received": dt.date(2026, 11, 25),
        },
    ]
    assert next(row["mark_key"] for row in unknown_marks("-receipts")) == "pm4koffi"
    assert [row["mark_key"] for row in unknown_marks("-last_received")] == ["pm4koffi", "zz9unknown"]


def test_edit_distance_and_folding() -> None:
    assert edit_distance("pm4kofi", "pm4koffi") == 1
    assert edit_distance("pm4kofi", "pm4kfoi") == 1  # two neighbours swapped
    assert edit_distance("", "abc") == 3
    assert fold("pm4k0fi") == fold("pm4kofi") == "pm4kofi"
    assert fold("pm1") == fold("pmi") == fold("pml")
    assert probes("pm4k0fi") == ["pm4k0fi", "pm4kofi"]
    assert probes("pm1okofi") == ["pm1okofi", "pmiokofi", "pm10kofi"]  # the 1 between letters, the o after a digit


@pytest.fixture
def directory() -> dict[str, object]:
    """Real-looking neighbours: many PM4 customers, so the right one is not simply the first in the index."""
    customers = {mark: make_customer(shipping_mark=mark) for mark in ["PM4 KOFI", "PM4 KOJO", "PM4 KWAME", "PM44 KOFI"]}
    for index in range(40):
        make_customer(shipping_mark=f"PM4 K{index:02d}")
        make_customer(shipping_mark=f"PM4 KA{chr(65 + index % 26)}{index}")
    return customers


@pytest.mark.parametrize("typed", ["PM4 KOFFI", "PM 4KOFI", "PM4 K0FI", "PM4 KOFl", "PM4 KOF", "PM4 KOIF"])
def test_misspelt_marks_suggest_the_customer_first(directory: dict, typed: str) -> None:
    suggestions = suggest_customers(mark_key(typed))
    assert suggestions, typed
    assert suggestions[0].customer_id == directory["PM4 KOFI"].pk, [s.shipping_mark for s in suggestions]
    assert len(suggestions) <= 5


def test_suggestions_are_few_and_close(directory: dict) -> None:
    marks = [s.shipping_mark for s in suggest_customers(mark_key("PM4 KOFFI"))]
    assert "PM4 KWAME" not in marks and "PM4 K01" not in marks
    assert suggest_customers(mark_key("XQ7 ZZZZZZ")) == []
    assert suggest_customers("") == []


def test_suggestions_read_a_bounded_number_of_rows_in_three_queries(directory: dict) -> None:
    for index in range(300):
        make_customer(shipping_mark=f"PM4 KOFI{index}")
    with CaptureQueriesContext(connection) as queries:
        suggest_customers(mark_key("PM4 K0FI"))
    assert len(queries) == 3  # customers near the probes, aliases near the probes, the chosen ones' receipts
    sql = queries[0]["sql"].upper()
    assert sql.count("LIMIT 8") >= 4  # neighbours of each probe, never the whole table


def test_suggestions_tell_two_kojos_apart() -> None:
    """Issue #24 item 4: the masked phone, the region and the receipts so far, beside mark and name."""
    accra = make_customer(shipping_mark="PM4 KOJO", first_name="Kojo", phone="+233241110001", region="AA")
    make_customer(shipping_mark="PM4 KOJO1", first_name="Kojo", phone="+233242220002")
    make_receipt(shipping_mark="PM4 KOJO", customer=accra)
    found = {s.shipping_mark: s for s in suggest_customers(mark_key("PM4 K0JO"))}
    assert (found["PM4 KOJO"].phone_masked, found["PM4 KOJO"].region, found["PM4 KOJO"].receipts) == (
        "+23324****001", "Greater Accra", 1
    )  # fmt: skip
    assert (found["PM4 KOJO1"].phone_masked, found["PM4 KOJO1"].region, found["PM4 KOJO1"].receipts) == (
        "+23324****002", "", 0
    )  # fmt: skip


def test_an_alias_close_to_the_mark_suggests_its_customer() -> None:
    esi = make_customer(shipping_mark="PM9 ESI")
    MarkAlias.objects.create(mark_key="esiaccra", shipping_mark="ESI ACCRA", customer=esi)
    suggestions = suggest_customers(mark_key("ESI ACRA"))
    assert [(s.customer_id, s.via_alias) for s in suggestions] == [(esi.pk, True)]


def test_the_queue_page_carries_suggestions(directory: dict) -> None:
    make_receipt(shipping_mark="PM4 K0FI")
    (row,) = with_suggestions(unknown_marks())
    assert row.mark_key == "pm4k0fi" and row.suggestions[0].shipping_mark == "PM4 KOFI"


def test_one_marks_row_for_its_page_left_or_not(directory: dict) -> None:
    from primepre.goods.resolve import leave_mark

    make_receipt(shipping_mark="PM4 K0FI", cartons=3)
    make_receipt(shipping_mark="PM4 K0FI", cartons=2, status="received", customer=directory["PM4 KOFI"])
    leave_mark("pm4k0fi")
    mark = queued_mark("pm4k0fi")
    assert (mark.receipts, mark.cartons, mark.still_left) == (1, 3, True)  # left: still on its own page
    assert mark.suggestions[0].shipping_mark == "PM4 KOFI" and queued_mark("pm4k0fi", suggest=False).suggestions == []
    make_receipt(shipping_mark="PM4 K0FI")
    assert not queued_mark("pm4k0fi").still_left  # a receipt arrived since: back in the queue
    assert queued_mark("pm4kofi") is None  # nothing unidentified with this key


def test_goods_for_a_customer_with_totals_and_marks_that_look_like_theirs() -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    make_receipt(customer=kofi, cartons=3, cbm=Decimal("1.250"), weight_kg=Decimal("20.5"))
    make_receipt(customer=kofi, cartons=1, cbm=Decimal("0.100"))
    make_receipt(customer=kofi, cartons=9, cbm=Decimal("9"), status="cancelled")  # listed, not counted
    make_receipt(shipping_mark="PM4 KOFFI")
    make_receipt(shipping_mark="PM4 K0FI")
    make_receipt(shipping_mark="PM9 YAW")
    goods = goods_for_customer(kofi)
    assert (goods.count, goods.cartons, goods.cbm, goods.weight_kg) == (2, 4, Decimal("1.350"), Decimal("20.50"))
    assert goods.receipts.count() == 3
    assert sorted(row["mark_key"] for row in pending_marks_like(kofi)) == ["pm4k0fi", "pm4koffi"]
    assert pending_marks_like(make_customer(shipping_mark="QQ1 NOBODY")) == []


def test_customers_holding_goods_for_an_imports_undo() -> None:
    with_goods, with_alias, free = make_customer(), make_customer(), make_customer()
    make_receipt(customer=with_goods)
    MarkAlias.objects.create(mark_key="x1", shipping_mark="X1", customer=with_alias)
    held = customers_holding_goods(Customer.objects.all())
    assert set(held) == {with_goods, with_alias} and free not in held


def test_tracking_numbers_already_recorded_in_one_query() -> None:
    make_receipt(tracking_number="SF 111")
    make_receipt(tracking_number="YT222")
    with CaptureQueriesContext(connection) as queries:
        found = existing_tracking_keys(["sf111", "yt222", "zz333", ""])
    assert found == {"sf111", "yt222"} and len(queries) == 1
