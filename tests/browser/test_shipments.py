"""A 40HC loaded from the waiting goods page in a real browser (#26 done-when): created from the shipments list,
loaded with ticked receipts (one in part: 25 of 40) and all of a mark, a fill to capacity planned (and not loaded
until confirmed), then closed with its container number; the shipment and waiting pages photographed at a desktop's
1366×768 and a phone's 390×844 (no sideways scroll there). axe checks the pages the Warehouse crawl
(`test_axe_warehouse.py`) cannot reach: a shipment with lines, open and closed, a plan, the override offer, a customer
with consignments."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from primepre.goods.models import GoodsReceipt
from primepre.shipments.lifecycle import create_shipment
from primepre.shipments.models import Shipment, ShipmentLine

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
DAY = dt.date(2026, 11, 20)
SIDEWAYS = "() => document.scrollingElement.scrollWidth - window.innerWidth"
AXE = Axe()


def _violations(page: Page, name: str) -> list[str]:
    """Every violation axe (its defaults: WCAG 2.0–2.2 A and AA, best practices) finds on the page as it stands."""
    return [
        f"{name}: {violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}"
        for violation in AXE.run(page).response["violations"]
        for node in violation["nodes"]
    ]


def _goods() -> dict[str, GoodsReceipt]:
    """Three customers' waiting goods, as a week at the Guangzhou warehouse leaves them."""
    kofi = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah")
    ama = make_customer(shipping_mark="PM7 AMA", first_name="Ama", last_name="Owusu")
    yaw = make_customer(shipping_mark="PM9 YAW", first_name="Yaw", last_name="Boateng")

    def receipt(customer: Any, days: int, cartons: int, cbm: str, kg: str, what: str, tracking: str) -> GoodsReceipt:
        return make_receipt(
            customer=customer, shipping_mark=customer.shipping_mark, received_on=DAY + dt.timedelta(days=days),
            cartons=cartons, cbm=Decimal(cbm), weight_kg=Decimal(kg), description=what, tracking_number=tracking,
        )  # fmt: skip

    return {
        "kofi shoes": receipt(kofi, 0, 40, "4.800", "520.00", "shoes", "SF1001"),
        "kofi bags": receipt(kofi, 2, 6, "0.900", "60.00", "bags", "SF1002"),
        "ama fabric": receipt(ama, 1, 12, "2.400", "300.00", "wax print fabric", "YT2001"),
        "yaw lamps": receipt(yaw, 3, 8, "1.600", "95.50", "LED lamps", "JD3001"),
        "yaw chairs": receipt(yaw, 4, 5, "3.750", "210.00", "plastic chairs", "JD3002"),
    }


def _create_40hc(page: Page) -> Shipment:
    page.goto(f"{page.base}/shipments/")  # type: ignore[attr-defined]
    page.get_by_label("Mode").select_option("sea")
    page.get_by_label("Equipment").select_option("40HC")
    page.get_by_label("Origin warehouse").select_option("GZ")
    page.get_by_role("button", name="Create the shipment").click()
    shipment = Shipment.objects.get()
    expect(page.locator("h1")).to_contain_text(shipment.reference)
    expect(page.locator("#no-lines")).to_be_visible()
    return shipment


def _load_from_the_waiting_goods(page: Page, shipment: Shipment, goods: dict[str, GoodsReceipt]) -> None:
    """Two ticked receipts (one in part: 25 of its 40 cartons), then all of a mark."""
    page.locator("#load-more").click()
    expect(page.locator("#load-shipment")).to_have_value(str(shipment.pk))
    shoes, fabric = goods["kofi shoes"], goods["ama fabric"]
    page.locator(f"#pick-{shoes.pk}").check()
    page.get_by_label(f"Cartons of receipt {shoes.pk} to load").fill("25")
    page.locator(f"#pick-{fabric.pk}").check()
    screenshot(page, "shipment-waiting-goods")
    page.get_by_role("button", name="Load the ticked receipts").click()
    expect(page.locator(".message").first).to_contain_text(
        f"Loaded 2 receipts (37 cartons, 5.400 CBM) into {shipment.reference}; 1 in part"
    )
    expect(page.locator(f'tr[data-receipt="{shoes.pk}"]')).to_contain_text("15 of 40 carried over")
    page.get_by_role("button", name="Load all of PM9 YAW").click()
    expect(page.locator(".message").first).to_contain_text("Loaded 2 receipts (13 cartons, 5.350 CBM)")
    assert sorted(ShipmentLine.objects.values_list("cartons", flat=True)) == [5, 8, 12, 25]


def _plan_a_fill(page: Page) -> list[str]:
    """The plan lists what would load; going back loads nothing."""
    page.get_by_role("button", name="Plan a fill to capacity").click()
    expect(page.locator("#plan-note")).to_contain_text("Nothing is loaded yet")
    expect(page.locator("#plan-totals")).to_contain_text("2 receipts, 21 cartons, 2.700 CBM")
    expect(page.locator("#plan-stop")).to_contain_text("all of them fit")
    screenshot(page, "shipment-fill-plan")
    found = _violations(page, "fill plan")
    page.get_by_role("link", name="Back to the waiting goods").click()
    assert ShipmentLine.objects.count() == 4
    return found


def _close(page: Page, shipment: Shipment) -> list[str]:
    page.goto(f"{page.base}/shipments/{shipment.pk}/")  # type: ignore[attr-defined]
    shoes = page.locator("#shipment-lines tr[data-receipt]", has_text="SF1001")
    expect(shoes).to_contain_text("25 of 40")
    expect(shoes).to_contain_text("part 15 still waiting")
    expect(page.locator("#shipment-fill")).to_contain_text("10.750 CBM · 16.8 % of 64.000 usable")
    expect(page.locator("#consignments tbody tr")).to_have_count(3)  # one per customer
    found = _violations(page, "open shipment with lines")
    page.get_by_label("Container number").fill("CSQU 305438 3")
    page.get_by_label("Seal number").fill("PP-778812")
    page.get_by_role("button", name="Close the list").click()
    expect(page.locator(".message").first).to_contain_text(f"Closed {shipment.reference} in container CSQU3054383")
    expect(page.locator("#shipment-status")).to_have_text("Closed (list frozen)")
    expect(page.locator("#shipment-container")).to_have_text("CSQU3054383")
    expect(page.get_by_role("button", name="Unload")).to_have_count(0)  # the list is frozen
    screenshot(page, "shipment-page")
    with page.expect_download() as download:  # the loading list out, as the China agent prints it
        page.locator("#download-xlsx").click()
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    cells = [str(cell) for row in workbook.active.iter_rows(values_only=True) for cell in row if cell is not None]
    assert shipment.reference in cells and "CSQU3054383" in cells and "SF1001" in cells
    return found + _violations(page, "closed shipment")


def _override_offer(page: Page) -> list[str]:
    """Past a 20GP's nominal volume, the Admin is offered the override (a reason) instead of a bare refusal."""
    box = create_shipment(None, mode="sea", equipment_code="20GP", origin_warehouse="GZ")
    customer = make_customer(shipping_mark="PM2 BIG", first_name="Esi", last_name="Asante")
    big = make_receipt(customer=customer, shipping_mark="PM2 BIG", received_on=DAY, cartons=60, cbm=Decimal("34.000"))
    page.goto(f"{page.base}/shipments/waiting/?shipment={box.pk}")  # type: ignore[attr-defined]
    page.locator(f"#pick-{big.pk}").check()
    page.get_by_role("button", name="Load the ticked receipts").click()
    expect(page.locator("#plan-refusal")).to_contain_text("is more than the box")
    expect(page.get_by_label("Why it may go past the limit")).to_be_visible()
    screenshot(page, "shipment-override-offer")
    return _violations(page, "override offer")


def test_load_a_40hc_from_the_waiting_goods_and_close_it(page: Page) -> None:
    base = page.base  # type: ignore[attr-defined]
    goods = _goods()
    page.set_viewport_size(DESKTOP)
    shipment = _create_40hc(page)
    _load_from_the_waiting_goods(page, shipment, goods)
    found = _plan_a_fill(page) + _violations(page, "waiting goods, a shipment chosen")
    found += _close(page, shipment)
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate(SIDEWAYS) <= 0, "the shipment page scrolls sideways on a phone"
    screenshot(page, "shipment-page-phone")
    found += _violations(page, "closed shipment on a phone")
    for path in ("/shipments/waiting/", "/shipments/", f"/customers/{goods['kofi shoes'].customer_id}/"):
        page.goto(base + path)
        assert page.evaluate(SIDEWAYS) <= 0, f"{path} scrolls sideways on a phone"
        found += _violations(page, f"{path} on a phone")
    screenshot(page, "shipment-customer-consignments-phone")
    page.set_viewport_size(DESKTOP)
    found += _override_offer(page)
    page.goto(f"{base}/shipments/")
    expect(page.locator("#shipments tbody tr")).to_have_count(2)
    screenshot(page, "shipments-list")
    assert not found, f"{len(found)} axe violations (page: rule (impact) at node):\n" + "\n".join(found)
    goods["kofi shoes"].refresh_from_db()
    assert (goods["kofi shoes"].cartons_loaded, goods["kofi shoes"].loading_state) == (25, "part loaded")
