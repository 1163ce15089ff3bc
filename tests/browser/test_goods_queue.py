"""Issue #24 item 6 in Chromium: the unknown-mark queue as a compact table (34 marks made an 11,000 px page of cards),
at a desktop's and a phone's width. Search, ordering, paging, then a mark resolved from its own page with a typed phone
through the confirmation to a success notice that names the SMS it queued."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from primepre.customers.marks import mark_key
from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptStatus
from primepre.imports.models import ImportJob
from primepre.sms.models import SmsMessage

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
NAMES = ["ABENA", "ADJOA", "AKOSUA", "AFUA", "ESI", "KOJO", "KWESI", "KWAKU", "YAA", "EFUA", "KWABENA"]
TYPED = "KWAME ACCRA"  # no customer's mark is near it: resolved by the phone the clerk types
VIEWPORTS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


def _queue_of_34(admin_user) -> dict[str, Decimal]:
    """34 unknown marks and their CBM, every total different (so "Largest CBM" has one answer); the typed one came
    by an import that asked for receipt SMS. Three customers, so some marks carry suggestions."""
    make_customer(shipping_mark="PM4 KWAME", first_name="Kwame", last_name="Amoah", phone="+233240000001")
    make_customer(shipping_mark="PM7 AMA", first_name="Ama", last_name="Owusu", phone="+233240000002")
    make_customer(shipping_mark="PM7 AMMA", first_name="Ama", last_name="Mensah", phone="+233240000003")
    texts = ImportJob.objects.create(file_name="gz.xlsx", created_by=admin_user, options={"send_receipt_sms": True})
    marks = ["PM4 KWAMME", "PM7 AMAA", TYPED] + [f"GZ{n:02d} {NAMES[n % len(NAMES)]}" for n in range(31)]
    day = dt.date(2026, 11, 1)
    totals = {}
    for index, mark in enumerate(marks):
        receipts = [
            make_receipt(
                shipping_mark=mark,
                cartons=2 + extra,
                cbm=Decimal(index + 1) / 100 + Decimal(extra) / 1000,
                received_on=day + dt.timedelta(days=index % 20 + extra),
                import_job=texts if mark == TYPED else None,
            )
            for extra in range(1 + index % 3)  # 1 to 3 receipts a mark
        ]
        totals[mark] = sum(receipt.cbm for receipt in receipts)
    return totals


def _rows(page: Page):
    return page.locator("#unknown-marks tbody tr")


@pytest.mark.parametrize("size", VIEWPORTS)
def test_the_queue_table_searches_orders_pages_and_resolves_a_mark(page: Page, admin_user, size: str) -> None:
    marks = _queue_of_34(admin_user)
    base = page.base  # type: ignore[attr-defined]
    page.set_viewport_size(VIEWPORTS[size])
    page.goto(f"{base}/goods/unknown-marks/")
    expect(page.locator("#mark-count")).to_have_text("34")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2500, f"{size}: the queue is {height} px tall"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), size
    expect(_rows(page)).to_have_count(25)
    expect(page.locator("tr", has_text="PM7 AMAA")).to_contain_text("PM7 AMA — Ama Owusu +1 more")
    screenshot(page, "goods-unknown-marks" if size == "desktop" else "phone-goods-unknown-marks")

    page.locator("#search").fill("kwa")
    page.get_by_role("button", name="Show").click()
    wanted = sorted(mark for mark in marks if "kwa" in mark_key(mark))
    expect(page.locator("#mark-count")).to_have_text(str(len(wanted)))
    assert sorted(_rows(page).locator("th").all_inner_texts()) == wanted

    page.locator("#search").fill("")
    page.get_by_label("Order", exact=True).select_option(label="Largest CBM")
    page.get_by_role("button", name="Show").click()
    expect(_rows(page).first).to_have_attribute("data-mark", mark_key(max(marks, key=marks.__getitem__)))
    cbms = [Decimal(text) for text in _rows(page).locator("td:nth-of-type(3)").all_inner_texts()]
    assert cbms == sorted(cbms, reverse=True) and len(cbms) == 25

    page.get_by_role("link", name="Next").click()
    expect(page.locator("nav.pages")).to_contain_text("Page 2 of 2")
    expect(_rows(page)).to_have_count(9)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), size

    page.locator("#search").fill("accra")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("link", name=f"Resolve {TYPED}").click()
    expect(page.locator("h1")).to_have_text("Unknown mark KWAME ACCRA (kwameaccra)")
    expect(page.locator("#mark-summary")).to_contain_text("3 receipts")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), size
    screenshot(page, "goods-unknown-mark-page" if size == "desktop" else "phone-goods-unknown-mark-page")
    page.get_by_label("customer's exact mark or phone").fill("024 000 0001")
    page.get_by_role("button", name="Assign…").click()
    expect(page.locator("#assign-customer")).to_contain_text("Kwame Amoah · PM4 KWAME")
    expect(page.locator("#assign-sms")).to_have_text("3 “goods received” SMS to Kwame Amoah will be sent")  # 3 days
    page.get_by_role("button", name="Assign to Kwame Amoah").click()
    expect(page.get_by_role("status")).to_contain_text(
        "3 receipts now belong to PM4 KWAME (Kwame Amoah); 3 “goods received” SMS queued to Kwame Amoah."
    )
    expect(page.locator("#undo-assignment")).to_contain_text("Undo this assignment")
    expect(page.locator("#mark-count")).to_have_text("33")
    assert MarkAlias.objects.get().mark_key == "kwameaccra"
    assert GoodsReceipt.objects.filter(mark_key="kwameaccra", status=ReceiptStatus.RECEIVED).count() == 3
    assert set(SmsMessage.objects.values_list("customer__last_name", flat=True)) == {"Amoah"}
    assert SmsMessage.objects.count() == 3
