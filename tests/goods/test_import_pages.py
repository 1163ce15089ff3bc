"""The wizard with a goods sheet: the kind of sheet, its options, the review's figures, confirm (issue #16)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from primepre.goods.models import GoodsReceipt
from primepre.imports.models import ImportJob

from ..customers.factories import make_customer
from ..imports.helpers import write_csv

pytestmark = pytest.mark.django_db
HEADER = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DESCRIPTION", "CTNS", "CBM", "SUPPLIER&TRACKING NO"]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMS_BACKEND = "locmem"


def test_warehouse_is_offered_goods_sheets_only(warehouse_user, wizard_for):
    page = wizard_for(warehouse_user).get("/imports/new/").content.decode()
    assert "Import goods received" in page and 'name="warehouse"' in page
    assert 'name="mode"' not in page and "Import customers" not in page
    # Goods first; the loading list (shipments.change_shipment) is the Warehouse's other kind of sheet.
    assert 'aria-label="Kind of sheet"' in page and "?schema=loading_list" in page and "?schema=customers" not in page
    assert "your role may not send SMS" in page


def test_admin_chooses_the_kind_of_sheet(admin_user, wizard_for):
    client = wizard_for(admin_user)
    assert 'aria-label="Kind of sheet"' in client.get("/imports/new/").content.decode()
    assert 'name="send_receipt_sms"' in client.get("/imports/new/?schema=goods").content.decode()


def test_a_goods_sheet_previewed_then_recorded(admin_user, tmp_path, wizard_for):
    make_customer(shipping_mark="PM4 KOFI", phone="+233241110001")
    rows = [["PM4 KOFI", "2026-11-28", "shoes", 3, "0.5", "SF1"], ["ZZ9 NOBODY", "28/11/2026", "bags", 1, "0,2", ""]]
    path = write_csv(tmp_path / "goods.csv", HEADER, rows)
    client = wizard_for(admin_user)
    with open(path, "rb") as handle:
        form = {"file": handle, "schema": "goods", "warehouse": "YW", "default_method": "sea", "send_receipt_sms": "1"}
        review = client.post_and_run("/imports/new/", form).content.decode()
    job = ImportJob.objects.get()
    assert (job.schema, job.status) == ("goods", "previewed")
    assert "1</strong> line carries a mark no customer has" in review
    assert "Record 2 receipts and send 1 receipt SMS" in review
    assert not GoodsReceipt.objects.exists()
    done = client.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"}).content.decode()
    assert "Succeeded" in done and f"/goods/?import_job={job.pk}" in done
    # Goods words on a goods sheet (#24 Low, #25 nouns): receipts recorded, no update or unchanged rows in the chart.
    assert "Recorded 2 receipts." in done and "See the 2 receipts it created" in done
    assert 'data-count="updated"' not in review and 'data-count="unchanged"' not in review
    assert GoodsReceipt.objects.filter(warehouse="YW").count() == 2


def _mismatched_sheet(tmp_path: Path) -> Path:
    rows = [
        ["PM4 KOFI", "2026-11-28", "bags", 1, "0.5", "T1"],
        ["PM4 KOFI", "2026-11-28", "bags", 1, "0.06", "T2"],
    ]
    header = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DESCRIPTION", "CTNS", "SPECIFICATIONS", "CBM", "TRACKING"]
    return write_csv(tmp_path / "goods.csv", header, [[*row[:4], "50*40*30", *row[4:]] for row in rows])


def test_the_review_offers_to_keep_a_disagreeing_cbm_with_a_warning(warehouse_user, tmp_path, wizard_for):
    """#24 item 7 on the review: the goods words, the choice, then the warned line listed with both values."""
    client = wizard_for(warehouse_user)
    with open(_mismatched_sheet(tmp_path), "rb") as handle:
        review = client.post_and_run("/imports/new/", {"file": handle, "schema": "goods", "warehouse": "GZ"})
    html = review.content.decode()
    assert "A CBM that disagrees with the carton dimensions by more than 5%" in html
    assert "<strong>1</strong> row fails only on that." in html
    job = review.context["job"]
    html = client.post_and_run(
        f"/imports/{job.pk}/", {"action": "invalid_optional", "invalid_optional": "import_without"}
    ).content.decode()
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == ("previewed", 2, 0)
    assert "will go in with a CBM that disagrees with its dimensions." in html
    assert "Recorded with a warning" in html and "<td>CBM</td><td>0.5</td>" in html
    client.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})
    assert GoodsReceipt.objects.get(tracking_number="T1").cbm == Decimal("0.500")


def test_the_upload_page_takes_the_choice_up_front(warehouse_user, tmp_path, wizard_for):
    client = wizard_for(warehouse_user)
    assert 'id="leniency"' in client.get("/imports/new/").content.decode()
    with open(_mismatched_sheet(tmp_path), "rb") as handle:
        form = {"file": handle, "schema": "goods", "warehouse": "GZ", "invalid_optional": "import_without"}
        client.post_and_run("/imports/new/", form)
    job = ImportJob.objects.get()
    assert (job.options["invalid_optional"], job.created, job.tallies["warnings"]) == ("import_without", 2, 1)
