"""Goods-received sheets through the import engine (its second schema): real-looking sheets, every outcome."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptStatus
from primepre.imports.jobs import create_job
from primepre.imports.services import execute_job, store_file

from ..customers.factories import make_customer
from ..imports.helpers import assert_reconciles, errors_by_row, write_csv

pytestmark = pytest.mark.django_db
HEADER = [
    "SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS", "SPECIFICATIONS", "CBM",
    "SUPPLIER&TRACKING NO",
]  # fmt: skip
DAY = dt.date(2026, 11, 28)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _workbook(path: Path, rows: list[list[Any]], *, title: bool = True, header: bool = True) -> Path:
    """The original system's own template: a title row, an instruction row, then the header."""
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Goods")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    lines = []
    if title:
        lines += [["PRIMEPRE GUANGZHOU WAREHOUSE - GOODS RECEIVED"], ["Column position is critical! Do not move."]]
    if header:
        lines.append(HEADER)
    for number, cells in enumerate([*lines, *rows]):
        for column, value in enumerate(cells):
            if isinstance(value, dt.date):
                sheet.write_datetime(number, column, dt.datetime.combine(value, dt.time()), date_format)
            elif value is not None:
                sheet.write(number, column, value)
    workbook.close()
    return path


def import_goods(path: Path, **options: Any) -> Any:
    return execute_job(create_job(store_file(path), file_name=path.name, options=options, schema="goods"))


def test_a_day_s_sheet_with_every_kind_of_cell(tmp_path: Path) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    rows = [
        ["PM4 KOFI", DAY, "", "shoes", 3, "50*40*30", "", "SF1001"],  # an Excel date cell, CBM from dimensions
        ["pm4-kofi", "28/11/2026", "", "shoes", 2, "", "1,25", ""],  # same description, same day: two receipts
        ["PM4 KOFI", "2026年11月28日", "", "bags", 1, "50x40x30cm", "0.06", "SF1002"],
        ["PM4 KOFI", "2026.11.28", "", "bags", 1, "50*40*30", "0.5", ""],  # CBM and dimensions disagree
        ["MARK003/MARK004", "2026/11/28", "", "bags", 2, "", "0.5", ""],  # two marks: never split or duplicated
        ["ZZ9 NOBODY", "2026-11-28", "", "lamps", 4, "", "0.8", "sf 1001"],  # tracking again, written differently
        ["PM4 KOFFI", 46354, "", "lamps", 1, "", "0.2", ""],  # an Excel serial; a misspelt mark: unidentified
        ["", "2026-11-28", "", "lamps", 0, "", "", ""],  # no mark, no cartons
    ]
    job = import_goods(_workbook(tmp_path / "day.xlsx", rows))
    assert_reconciles(job)
    assert (job.status, job.header_row) == ("succeeded", 3)
    assert job.counts == {"read": 8, "created": 4, "updated": 0, "unchanged": 0, "failed": 4}
    assert errors_by_row(job) == {
        7: {("cbm", "cbm_mismatch")},
        8: {("shipping_mark", "multiple_marks")},
        9: {("tracking_number", "duplicate_in_file")},
        11: {("shipping_mark", "required"), ("cartons", "invalid_cartons")},
    }
    mismatch = job.row_errors.get(row_number=7).errors[0]
    assert mismatch["column"] == "CBM" and "0.5" in mismatch["message"] and "0.060" in mismatch["message"]
    receipts = list(GoodsReceipt.objects.order_by("pk"))
    assert [(r.customer_id, r.status, r.cbm, r.cartons) for r in receipts] == [
        (kofi.pk, ReceiptStatus.RECEIVED, Decimal("0.180"), 3),
        (kofi.pk, ReceiptStatus.RECEIVED, Decimal("1.250"), 2),
        (kofi.pk, ReceiptStatus.RECEIVED, Decimal("0.060"), 1),
        (None, ReceiptStatus.UNIDENTIFIED, Decimal("0.200"), 1),
    ]
    assert {r.received_on for r in receipts} == {DAY}
    assert receipts[0].tracking_key == "sf1001" and (receipts[0].length_cm, receipts[0].height_cm) == (50, 30)
    assert all(r.import_job_id == job.pk for r in receipts)


def test_a_disagreeing_cbm_is_recorded_with_a_warning_when_the_clerk_chooses(tmp_path: Path) -> None:
    """#24 item 7: both values kept, the given CBM used, the line listed with the import's warnings; without the
    option the same sheet fails that line (the default) and counts it as one the review could let through."""
    rows = [
        ["PM4 KOFI", DAY, "", "bags", 1, "50*40*30", "0.5", "T1"],  # 0.060 by its dimensions
        ["PM4 KOFI", DAY, "", "bags", 1, "50*40*30", "0.5", "T2"],
        ["PM4 KOFI", DAY, "", "bags", 0, "50*40*30", "0.5", "T3"],  # a mismatch and no cartons: fails all the same
        ["PM4 KOFI", DAY, "", "bags", 1, "50*40*30", "0.06", "T4"],
    ]
    stored = store_file(write_csv(tmp_path / "strict.csv", HEADER, rows))
    strict = execute_job(create_job(stored, file_name="strict.csv", dry_run=True, schema="goods"))
    assert (strict.counts["failed"], strict.tallies["optional_only"]) == (3, 2)
    lenient = import_goods(write_csv(tmp_path / "lenient.csv", HEADER, rows), invalid_optional="import_without")
    assert_reconciles(lenient)
    assert (lenient.created, lenient.failed, lenient.tallies["warnings"]) == (3, 1, 2)
    assert errors_by_row(lenient) == {4: {("cartons", "invalid_cartons")}}
    warned = {w.row_number: w.dropped[0] for w in lenient.row_warnings.all()}
    assert set(warned) == {2, 3} and warned[2]["code"] == "cbm_mismatch" and warned[2]["column"] == "CBM"
    kept = GoodsReceipt.objects.get(tracking_number="T1")
    assert (kept.cbm, kept.length_cm, kept.width_cm, kept.height_cm) == (Decimal("0.500"), 50, 40, 30)


def test_a_tracking_number_already_received_fails_and_nothing_is_overwritten(tmp_path: Path) -> None:
    first = import_goods(write_csv(tmp_path / "a.csv", HEADER, [["PM1", "2026-11-28", "", "tv", 1, "", "0.3", "YT-9"]]))
    again = import_goods(write_csv(tmp_path / "b.csv", HEADER, [["PM2", "2026-11-29", "", "tv", 5, "", "1", "yt-9 "]]))
    assert first.created == 1
    assert (again.created, again.failed) == (0, 1)
    assert errors_by_row(again) == {2: {("tracking_number", "exists")}}
    assert GoodsReceipt.objects.get().cartons == 1


def test_the_old_headerless_a_to_h_layout(tmp_path: Path) -> None:
    rows = [["PM4 KOFI", "28/11/2026", "30/11/2026", "shoes", 3, "50*40*30", "", "SF1"]]
    job = import_goods(_workbook(tmp_path / "old.xlsx", rows, title=False, header=False))
    assert (job.header_row, job.created) == (None, 1)
    receipt = GoodsReceipt.objects.get()
    assert (receipt.description, receipt.cbm, receipt.tracking_number) == ("shoes", Decimal("0.180"), "SF1")


# The system we replace's own goods templates (issue #24 item 3): letter-prefixed headers, or a header row that is
# literally the column letters; day-first text dates and quantities stored as text, as its sample files hold them.
OLD_HEADERS = [
    "A_SHIPPING_MARK", "B_DATE_RECEIPT", "C_DATE_LOADING", "D_DESCRIPTION", "E_QUANTITY", "F_SPECIFICATIONS",
    "G_CBM", "H_TRACKING_NO",
]  # fmt: skip
OLD_ROWS = [
    ["PM4 KOFI", "25/08/2025", "27/08/2025", "Shoes", "100", "50*40*30", "6", "SF9001"],
    ["PM7 AMA", "26/08/2025", "", "Bags", "'12", "", "0.75", "SF9002"],
]


@pytest.mark.parametrize("header", [OLD_HEADERS, list("ABCDEFGH")], ids=["letter-prefixed", "letters-only"])
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_the_old_system_s_own_goods_templates(tmp_path: Path, header: list[str], kind: str) -> None:
    if kind == "csv":
        path = write_csv(tmp_path / "old.csv", header, OLD_ROWS)
    else:
        path = tmp_path / "old.xlsx"
        workbook = xlsxwriter.Workbook(path)
        sheet = workbook.add_worksheet("Sheet1")
        for number, cells in enumerate([header, *OLD_ROWS]):
            sheet.write_row(number, 0, cells)  # every value a string, as the old system exported them
        workbook.close()
    job = import_goods(path)
    assert (job.status, job.created, job.failed, job.header_row) == ("succeeded", 2, 0, 1), job.error_message
    receipts = {r.shipping_mark: r for r in GoodsReceipt.objects.all()}
    kofi, ama = receipts["PM4 KOFI"], receipts["PM7 AMA"]
    assert (kofi.received_on, kofi.cartons, kofi.cbm, kofi.tracking_number) == (
        dt.date(2025, 8, 25), 100, Decimal("6.000"), "SF9001"
    )  # fmt: skip
    assert (kofi.length_cm, ama.received_on, ama.cartons, ama.cbm) == (
        Decimal("50.0"), dt.date(2025, 8, 26), 12, Decimal("0.750")
    )  # fmt: skip
    assert_reconciles(job)


def test_specifications_are_dimensions_only_when_they_look_like_them(tmp_path: Path) -> None:
    """The old system's F column holds a grade or a note (`N/A`, `Class A`, `Standard`, `Premium`): kept on the
    receipt as its specification (`N/A`, `-`, `nil` as blank), never a failure; dimensions, even mistyped, are still
    read (and checked) as dimensions."""
    rows = [
        ["PM1 A", "25/08/2025", "", "tv", "1", "N/A", "0.3", "T1"],
        ["PM2 B", "25/08/2025", "", "tv", "1", "Class A", "0.3", "T2"],
        ["PM3 C", "25/08/2025", "", "tv", "1", "Standard", "0.3", "T3"],
        ["PM4 D", "25/08/2025", "", "tv", "1", "Premium", "0.3", "T4"],
        ["PM5 E", "25/08/2025", "", "tv", "1", "-", "0.3", "T5"],
        ["PM6 F", "25/08/2025", "", "tv", "1", "nil", "0.3", "T6"],
        ["PM7 G", "25/08/2025", "", "tv", "2", "50*40*30", "", "T7"],
        ["PM8 H", "25/08/2025", "", "tv", "2", "50*40", "0.3", "T8"],  # two sides: a typo, still dimensions
    ]
    job = import_goods(write_csv(tmp_path / "old.csv", OLD_HEADERS, rows))
    assert (job.created, job.failed) == (7, 1)
    specs = dict(GoodsReceipt.objects.values_list("shipping_mark", "specification"))
    assert specs == {
        "PM1 A": "", "PM2 B": "Class A", "PM3 C": "Standard", "PM4 D": "Premium", "PM5 E": "", "PM6 F": "",
        "PM7 G": "",
    }  # fmt: skip
    assert GoodsReceipt.objects.get(shipping_mark="PM7 G").cbm == Decimal("0.120")
    assert errors_by_row(job) == {9: {("dimensions", "invalid_dimensions")}}


def test_a_resolved_mark_is_an_alias_later_imports_use(tmp_path: Path) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    MarkAlias.objects.create(mark_key="pm4koffi", customer=kofi)
    job = import_goods(write_csv(tmp_path / "g.csv", HEADER, [["PM4 KOFFI", "2026-11-28", "", "tv", 1, "", "0.3", ""]]))
    assert job.created == 1
    assert GoodsReceipt.objects.get().customer == kofi


def test_a_sheet_without_the_required_columns_names_them(tmp_path: Path) -> None:
    job = import_goods(write_csv(tmp_path / "g.csv", ["Mark", "Description"], [["PM1", "tv"]]))
    assert (job.status, job.error_code) == ("needs_mapping", "missing_columns")
    assert "Date of Receipt" in job.error_message and "CTNS" in job.error_message


def test_a_preview_writes_nothing(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "g.csv", HEADER, [["PM1", "2026-11-28", "", "tv", 1, "", "0.3", "T1"]])
    job = execute_job(create_job(store_file(path), file_name=path.name, dry_run=True, schema="goods"))
    assert (job.status, job.created) == ("previewed", 1)
    assert not GoodsReceipt.objects.exists()
