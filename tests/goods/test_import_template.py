"""The goods sheet's downloadable template (issue #24): downloaded through the API, it has the note of the limits,
our headers in the importer's order and an example line; filled in, it imports cleanly; the upload page offers it."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from django.test import Client
from rest_framework.test import APIClient

from primepre.goods import cleaning
from primepre.goods.models import GoodsReceipt, ReceiptStatus
from primepre.imports.models import ImportJob
from primepre.imports.schema import get_schema

from ..customers.factories import make_customer

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _download(client: APIClient) -> bytes:
    response = client.get(f"{URL}template.xlsx", {"schema": "goods"})
    assert response.status_code == 200, response.content[:200]
    assert response["Content-Disposition"] == 'attachment; filename="primepre-goods-template.xlsx"'
    return response.content


def _upload(client: APIClient, content: bytes, capture, **options: object) -> ImportJob:
    handle = io.BytesIO(content)
    handle.name = "goods-template.xlsx"
    with capture(execute=True):
        response = client.post(URL, {"file": handle, "schema": "goods", **options}, format="multipart")
    assert response.status_code == 202, response.json()
    return ImportJob.objects.get(pk=response.json()["id"])


def test_the_template_has_the_limits_our_headers_in_order_and_an_example(warehouse_api, settings) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
    settings.GOODS_WAREHOUSES = ["GZ:Guangzhou", "YW:Yiwu"]
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(_download(warehouse_api)))
    assert workbook.sheet_names == ["Goods received"]
    note, header, example = list(workbook.get_sheet_by_name("Goods received").iter_rows())[:3]
    assert header == list(cleaning.FIELD_LABELS.values())
    assert header == [field.label for field in get_schema("goods").fields]  # the order the schema reads them
    assert example[:2] == ["PM4 KOFI", dt.date(2026, 11, 28)] and example[4] == 3
    assert example[header.index("Supplier&Tracking No")] == "SF1234567890"
    assert example[header.index("Warehouse")] == "GZ"
    text = note[0]
    assert "at most 1,000,000 lines and 20 MB per file" in text
    assert "Description 255 characters" in text and "GZ = Guangzhou, YW = Yiwu" in text and "within 5%" in text


def test_the_template_filled_in_imports_cleanly(warehouse_api, django_capture_on_commit_callbacks) -> None:
    """The clerk replaces the example line with theirs (here a known customer's, with a tracking number of digits
    typed into the Text column) and uploads the file as it is: one receipt, nothing failing."""
    ama = make_customer(shipping_mark="PM5 AMA", first_name="Ama", last_name="Owusu")
    book = openpyxl.load_workbook(io.BytesIO(_download(warehouse_api)))
    sheet = book.active
    line = {
        "Shipping Mark/Client": "PM5 AMA",
        "Date of Receipt": dt.datetime(2026, 12, 1),
        "Description": "Phones",
        "CTNS": 2,
        "Specifications": "60*40*50",
        "CBM": 0.24,
        "KG": 30,
        "Supplier&Tracking No": "0012345678901234567",
        "Method": "AIR",
        "Notes": "",
    }
    headers = [cell.value for cell in sheet[2]]
    for name, value in line.items():
        sheet.cell(row=3, column=headers.index(name) + 1, value=value)
    filled = io.BytesIO()
    book.save(filled)
    job = _upload(warehouse_api, filled.getvalue(), django_capture_on_commit_callbacks)
    assert (job.status, job.created, job.failed, job.rows_read) == ("succeeded", 1, 0, 1), job.error_message
    receipt = GoodsReceipt.objects.get()
    assert (receipt.customer, receipt.status) == (ama, ReceiptStatus.RECEIVED)
    assert receipt.received_on == dt.date(2026, 12, 1)
    assert (receipt.method, receipt.cartons, str(receipt.cbm)) == ("air", 2, "0.240")
    assert receipt.tracking_number == "0012345678901234567" and receipt.description == "Phones"


def test_the_template_as_downloaded_previews_its_example_cleanly(warehouse_api, django_capture_on_commit_callbacks):
    job = _upload(warehouse_api, _download(warehouse_api), django_capture_on_commit_callbacks, preview=True)
    assert (job.status, job.created, job.failed) == ("previewed", 1, 0), job.error_message
    assert not GoodsReceipt.objects.exists()


def test_the_upload_page_offers_the_goods_template(warehouse_user) -> None:
    client = Client()
    client.force_login(warehouse_user)
    html = client.get("/imports/new/", {"schema": "goods"}).content.decode()
    assert '<a href="/api/v1/imports/template.xlsx?schema=goods">Download the template</a>' in html
