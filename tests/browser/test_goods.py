"""A goods-received sheet through the wizard in a real browser, then its unknown mark resolved from the queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import xlsxwriter
from django.db import connection
from django.utils import timezone
from playwright.sync_api import Page, expect

from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptStatus
from primepre.imports.models import ImportJob

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
HEADER = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS", "SPECIFICATIONS", "CBM",
          "SUPPLIER&TRACKING NO"]  # fmt: skip


def _warehouse_sheet(path: Path) -> Path:
    """The warehouse's own sheet: a title, an instruction row, the header, a day's receipts."""
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("28 Nov")
    sheet.write_row(0, 0, ["PRIMEPRE GUANGZHOU WAREHOUSE - GOODS RECEIVED 28/11/2026"])
    sheet.write_row(1, 0, ["Column position is critical! Do not move columns."])
    sheet.write_row(2, 0, HEADER)
    lines = [
        ["PM4 KOFI", dt.datetime(2026, 11, 28), "", "shoes", 3, "50*40*30", "", "SF1001"],
        ["PM4 KOFFI", "28/11/2026", "", "bags", 2, "", "0,5", "SF1002"],  # misspelt by hand
        ["PM4 KOFFI", "2026年11月28日", "", "lamps", 1, "", "0.2", ""],
        ["MARK003/MARK004", "28/11/2026", "", "tiles", 4, "", "1.2", ""],  # two marks: refused
    ]
    for row, cells in enumerate(lines, start=3):
        for column, value in enumerate(cells):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(row, column, value, workbook.add_format({"num_format": "dd/mm/yyyy"}))
            else:
                sheet.write(row, column, value)
    workbook.close()
    return path


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the real worker process needs a shared database")
def test_a_goods_import_and_its_unknown_mark_resolved(page: Page, tmp_path: Path, database_backend, start_worker):
    start_worker("browser-goods")
    kofi = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah")
    base = page.base  # type: ignore[attr-defined]

    page.goto(f"{base}/imports/new/?schema=goods")
    page.set_input_files("#file", str(_warehouse_sheet(tmp_path / "goods-28-nov.xlsx")))
    page.get_by_label("Warehouse").select_option("GZ")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    expect(page.locator("#goods-tallies")).to_contain_text("2 lines carry a mark no customer has")
    expect(page.locator('[data-count="failed"]')).to_have_text("1")
    page.get_by_role("button", name="Record 3 receipts").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    assert ImportJob.objects.get().schema == "goods"
    assert GoodsReceipt.objects.filter(status=ReceiptStatus.UNIDENTIFIED).count() == 2

    page.goto(f"{base}/goods/unknown-marks/")
    row = page.locator("#unknown-marks tbody tr", has_text="PM4 KOFFI")
    expect(row.locator("td").first).to_have_text("2")  # receipts
    expect(row).to_contain_text("PM4 KOFI — Kofi Mensah")  # the suggestion for the misspelling
    row.get_by_role("link", name="Resolve PM4 KOFFI").click()
    expect(page.locator("#mark-summary")).to_contain_text("2 receipts")
    expect(page.get_by_label("PM4 KOFI — Kofi Mensah")).to_be_checked()  # the only suggestion: ticked
    screenshot(page, "goods-unknown-mark-resolve")
    page.get_by_role("button", name="Assign").click()
    expect(page.locator("#assign-customer")).to_contain_text("Kofi Mensah · PM4 KOFI")  # confirm before it happens
    expect(page.locator("#assign-sms")).to_have_text("No SMS will be sent")
    screenshot(page, "goods-confirm-assignment")
    page.get_by_role("button", name="Assign to Kofi Mensah").click()
    expect(page.locator("#mark-count")).to_have_text("0")
    expect(page.get_by_role("status")).to_contain_text("2 receipts now belong to PM4 KOFI (Kofi Mensah); no SMS")
    expect(page.locator("#undo-assignment")).to_contain_text("SMS already sent are not recalled")
    assert set(GoodsReceipt.objects.values_list("customer_id", flat=True)) == {kofi.pk}
    assert MarkAlias.objects.get().mark_key == "pm4koffi"


def test_the_warehouse_dashboard_and_a_receipt_page(page: Page) -> None:
    """Issue #24 items 5 and 11 in Chromium: the dashboard's warehouse panel leads to the queue; a receipt's page
    puts it on hold with a reason, which its history then shows; at 390 px the page has no horizontal scroll."""
    base = page.base  # type: ignore[attr-defined]
    kofi = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah")
    receipt = make_receipt(customer=kofi, received_on=timezone.localdate(), cartons=3, cbm=Decimal("0.360"))
    make_receipt(shipping_mark="PM4 KOFFI", received_on=timezone.localdate())
    page.goto(f"{base}/")
    expect(page.locator("#unknown-marks-waiting")).to_contain_text("1 unknown mark waiting")
    expect(page.locator("#received")).to_contain_text("Guangzhou")
    screenshot(page, "warehouse-dashboard")
    page.goto(f"{base}/goods/")
    page.get_by_role("link", name="PM4 KOFI", exact=True).first.click()
    expect(page.locator("h1")).to_have_text(f"Receipt {receipt.pk}: PM4 KOFI")
    page.get_by_label("Why (kept in the history").fill("customs paperwork missing")
    page.get_by_role("button", name="Put on hold").click()
    expect(page.locator("#receipt-status")).to_have_text("On hold")
    expect(page.locator("#receipt-history")).to_contain_text("customs paperwork missing")
    screenshot(page, "goods-receipt-page")
    assert GoodsReceipt.objects.get(pk=receipt.pk).status == ReceiptStatus.ON_HOLD
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
