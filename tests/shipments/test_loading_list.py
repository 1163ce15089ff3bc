"""The loading list read back as a third schema (#26): found by tracking number or by mark, partial lines, the old
system's `Container Items` sheet as it is, every refusal with its row and code, preview, confirm and undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from primepre.goods.models import ReceiptStatus
from primepre.imports.jobs import create_job
from primepre.imports.services import execute_job, store_file
from primepre.imports.undo import undo_job
from primepre.shipments.lifecycle import create_shipment
from primepre.shipments.models import ShipmentLine

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from ..imports.helpers import assert_reconciles, errors_by_row, write_csv

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 28)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _import(path: Path, reference: str, **kwargs: Any) -> Any:
    options = {"shipment": reference}
    return execute_job(
        create_job(store_file(path), file_name=path.name, options=options, schema="loading_list", **kwargs)
    )


def _receipt(mark: str, cartons: int, tracking: str = "", status: str = ReceiptStatus.RECEIVED, **extra: Any):
    customer = make_customer(shipping_mark=mark) if status == ReceiptStatus.RECEIVED else None
    return make_receipt(customer=customer, shipping_mark=mark, cartons=cartons, tracking_number=tracking,
                        status=status, received_on=DAY, cbm=Decimal("1.000"), **extra)  # fmt: skip


def test_the_old_system_s_container_sheet_as_it_is(tmp_path: Path) -> None:
    kofi = _receipt("PM4 KOFI", 40, "SF1")
    ama = _receipt("PM5 AMA", 10)
    _receipt("ZZ9 NOBODY", 2, status=ReceiptStatus.UNIDENTIFIED)
    box = create_shipment(None, mode="sea", equipment_code="40HC", origin_warehouse="GZ")
    path = tmp_path / "container.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Container Items")
    rows = [
        ["Shipping Mark", "B", "C", "Description", "Quantity", "F", "CBM", "Tracking Number"],
        ["PM4 KOFI", "", "", "shoes", "25", "", "0.5", "sf1"],  # by tracking number; a partial load
        ["PM5 AMA", "", "", "bags", "10", "", "1", ""],  # by mark
        ["PM5 AMA", "", "", "bags", "1", "", "1", ""],  # the same mark again: a second line, nothing left
        ["MARK003/MARK004", "", "", "x", "1", "", "1", ""],
        ["ZZ9 NOBODY", "", "", "x", "2", "", "1", ""],
        ["PM7 GHOST", "", "", "x", "2", "", "1", ""],
    ]
    for number, cells in enumerate(rows):
        sheet.write_row(number, 0, [str(cell) for cell in cells])
    book.close()
    preview = _import(path, box.reference, dry_run=True)
    assert (preview.status, preview.created, preview.failed) == ("previewed", 2, 4)
    assert not ShipmentLine.objects.exists()
    job = _import(path, box.reference)
    assert_reconciles(job)
    assert errors_by_row(job) == {
        4: {("cartons", "more_than_received")},
        5: {("shipping_mark", "multiple_marks")},
        6: {("shipping_mark", "receipt_unidentified")},
        7: {("shipping_mark", "no_receipt")},
    }
    lines = {line.receipt_id: line.cartons for line in ShipmentLine.objects.all()}
    assert lines == {kofi.pk: 25, ama.pk: 10}
    kofi.refresh_from_db()
    assert kofi.loading_state == "part loaded"
    undo_job(job)
    assert not ShipmentLine.objects.exists()
    kofi.refresh_from_db()
    assert kofi.cartons_loaded == 0


def test_ambiguous_marks_and_a_closed_or_unknown_shipment(tmp_path: Path) -> None:
    _receipt("PM4 KOFI", 5)
    make_receipt(customer=make_customer(shipping_mark="PM4-KOFI-2"), shipping_mark="PM4 KOFI", cartons=5,
                 status=ReceiptStatus.RECEIVED, received_on=DAY)  # fmt: skip
    box = create_shipment(None, mode="sea", equipment_code="40HC", origin_warehouse="GZ")
    header = ["Shipping Mark", "Date of Receipt", "CTNS"]
    job = _import(write_csv(tmp_path / "a.csv", header, [["PM4 KOFI", "2026-11-28", "5"]]), box.reference)
    assert errors_by_row(job) == {2: {("shipping_mark", "ambiguous_receipt")}}
    with pytest.raises(Exception, match="No open shipment GZ-SEA-1999-001"):
        from primepre.imports.options import check_options

        check_options({"schema": "loading_list", "mode": "create", "preview": True, "shipment": "gz-sea-1999-001"})


def test_the_wizard_offers_the_open_shipments_and_loads_from_the_review(warehouse_user, wizard_for, tmp_path) -> None:
    receipt = _receipt("PM4 KOFI", 6, "SF9")
    box = create_shipment(None, mode="sea", equipment_code="40HC", origin_warehouse="GZ")
    client = wizard_for(warehouse_user)
    upload = client.get("/imports/new/?schema=loading_list").content.decode()
    assert f'<option value="{box.reference}">{box.reference} · 40HC</option>' in upload
    path = write_csv(tmp_path / "list.csv", ["Shipping Mark", "CTNS", "Tracking Number"], [["PM4 KOFI", "6", "SF9"]])
    with open(path, "rb") as handle:
        review = client.post_and_run(
            "/imports/new/", {"file": handle, "schema": "loading_list", "shipment": box.reference}
        )
    job = review.context["job"]
    assert (job.status, job.created) == ("previewed", 1)
    client.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})
    receipt.refresh_from_db()
    assert receipt.loading_state == "loaded"
