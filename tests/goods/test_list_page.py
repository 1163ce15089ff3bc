"""The goods list's Low items of issue #24: the customer's name beside the mark, the totals of the whole filter (one
aggregate query), an unidentified receipt linked to its mark's page in the queue, warehouse and status as checkbox
dropdowns, and counts in words with thousands separators."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from primepre.goods.models import ReceiptStatus

from ..customers.factories import make_customer
from .factories import make_receipt

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _totals(html: str) -> dict[str, str]:
    foot = re.search(r'<tfoot id="goods-totals">(.*?)</tfoot>', html, re.S)
    assert foot, "no totals row"
    cells = dict(re.findall(r'data-total="(\w+)">([^<]*)<', foot[1]))
    cells["caption"] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", foot[1].split("</th>")[0])).strip()
    return cells


def test_the_customers_name_is_beside_the_mark(warehouse_user) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah")
    make_receipt(customer=kofi)
    html = _client(warehouse_user).get("/goods/").content.decode()
    assert re.search(r'PM4 KOFI</a> · <span class="customer-name">Kofi Mensah</span>', html)


def test_the_totals_row_sums_the_whole_filter_in_one_query(warehouse_user) -> None:
    """Every page of the filter is summed (not the 50 lines shown), cancelled receipts are listed but not counted,
    and the figures read with thousands separators; the pager's count comes from the same query."""
    kofi = make_customer(shipping_mark="PM4 KOFI")
    for _ in range(52):  # two pages
        make_receipt(customer=kofi, cartons=25, cbm=Decimal("20.125"), weight_kg=Decimal("30.50"))
    make_receipt(customer=kofi, cartons=999, cbm=Decimal("9.000"), status=ReceiptStatus.CANCELLED)
    make_receipt(shipping_mark="PM9 OTHER", cartons=7, cbm=Decimal("1.000"))
    client = _client(warehouse_user)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/goods/", {"search": "pm4kofi"})
    html = page.content.decode()
    assert page.context["page"].paginator.count == 53 and len(page.context["page"]) == 50
    assert _totals(html) == {
        "cartons": "1,300",
        "cbm": "1,046.500",
        "kg": "1,586.00",
        "caption": "Total of all 53 receipts in this list (1 cancelled, not counted)",
    }
    receipt_counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"] and "goods_" in q["sql"]]
    assert len(receipt_counts) == 1 and "SUM(" in receipt_counts[0]
    assert _totals(client.get("/goods/", {"search": "pm4kofi", "page": 2}).content.decode())["cartons"] == "1,300"
    one = client.get("/goods/", {"search": "pm9other"}).content.decode()
    caption = "Total of the 1 receipt in this list"
    assert _totals(one) == {"cartons": "7", "cbm": "1.000", "kg": "0.00", "caption": caption}
    assert '<span id="result-count">1</span> receipt\n' in one
    assert '<span id="result-count">53</span> receipts' in html
    empty = client.get("/goods/", {"search": "nobody"}).content.decode()
    assert 'id="goods-totals"' not in empty and "No receipts match." in empty


def test_numbers_on_each_line_have_thousands_separators(warehouse_user) -> None:
    make_receipt(cartons=1200, cbm=Decimal("1234.5"), weight_kg=Decimal("2500"))
    html = _client(warehouse_user).get("/goods/").content.decode()
    assert '<td class="num">1,200</td><td class="num">1,234.500</td><td class="num">2,500.00</td>' in html


def test_an_unidentified_receipt_links_to_its_marks_page_in_the_queue(warehouse_user) -> None:
    make_receipt(shipping_mark="PM4 Koffi")
    make_receipt(shipping_mark="PM7 GONE", status=ReceiptStatus.CANCELLED)  # no customer, but not in the queue
    client = _client(warehouse_user)
    html = client.get("/goods/").content.decode()
    assert '<a href="/goods/unknown-marks/pm4koffi/" class="unidentified"' in html
    assert "/goods/unknown-marks/pm7gone/" not in html and "no customer" in html
    assert client.get("/goods/unknown-marks/pm4koffi/").status_code == 200


def test_warehouse_and_status_are_checkbox_dropdowns_that_keep_what_is_ticked(warehouse_user, settings) -> None:
    settings.GOODS_WAREHOUSES = ["GZ:Guangzhou", "YW:Yiwu"]
    make_receipt(warehouse="GZ", status=ReceiptStatus.ON_HOLD)
    make_receipt(warehouse="YW")
    client = _client(warehouse_user)
    page = client.get("/goods/", {"warehouse": ["GZ", "YW"], "status": ["on_hold", "unidentified"]})
    html = page.content.decode()
    assert page.context["page"].paginator.count == 2
    assert " multiple" not in html.split("<table")[0]
    assert '<select id="warehouse"' not in html and '<select id="status"' not in html
    assert '<details class="pick" data-none="Any warehouse">' in html
    assert '<summary id="warehouse-summary">Guangzhou, Yiwu</summary>' in html
    assert '<summary id="status-summary">Unidentified, On hold</summary>' in html
    assert '<input type="checkbox" name="status" value="on_hold" checked> On hold' in html
    assert '<input type="checkbox" name="status" value="received"> Received' in html
    assert "web/pick.js" in html
    plain = client.get("/goods/").content.decode()
    assert '<summary id="status-summary">Any status</summary>' in plain
    # The table keeps its focusable scroll box (a keyboard user scrolls it sideways on a phone).
    assert '<div class="scroll" tabindex="0" role="region" aria-label="Goods received">' in plain
