"""The loading list out (#26): the header block, one row per line sorted by mark, a subtotal per mark and the grand
total, the phone's last three digits only, every text cell guarded against formulas, and headers the importer knows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from primepre.goods.models import ReceiptStatus
from primepre.imports.columns import detect_columns, match_header
from primepre.imports.schema import get_schema
from primepre.shipments.export import HEADERS, iter_csv, write_xlsx
from primepre.shipments.lifecycle import create_shipment
from primepre.shipments.loading import load_receipt
from primepre.shipments.models import Shipment

from ..customers.factories import make_customer
from ..goods.factories import make_receipt

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("x")'


def _receipt(customer: Any, day: int, cartons: int, cbm: str, kg: str | None = None, **extra: Any) -> Any:
    return make_receipt(
        customer=customer, shipping_mark=customer.shipping_mark, status=ReceiptStatus.RECEIVED, cartons=cartons,
        cbm=Decimal(cbm), weight_kg=None if kg is None else Decimal(kg), received_on=dt.date(2026, 11, day), **extra,
    )  # fmt: skip


@pytest.fixture
def box() -> Shipment:
    """Two marks: PM4 KOFI with two receipts (one part loaded), PM5 AMA with one whose description is a formula."""
    kofi = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah", phone="+233241239567")
    ama = make_customer(shipping_mark="PM5 AMA", first_name="Ama", last_name="Owusu", phone="+233209871543")
    shipment = create_shipment(
        None, mode="sea", equipment_code="40HC", origin_warehouse="GZ", carrier="MSC", container_number="CSQU3054383",
        seal_number="SEAL-7", bill_of_lading="MEDU123", vessel_or_flight="MSC Ama / 012W", etd=dt.date(2026, 12, 20),
        eta=dt.date(2027, 1, 25),
    )  # fmt: skip
    later = _receipt(kofi, 27, 40, "4.000", "400", tracking_number="SF2", length_cm=Decimal("50"),
                     width_cm=Decimal("40"), height_cm=Decimal("20"))  # fmt: skip
    earlier = _receipt(kofi, 20, 10, "1.000", "100", tracking_number="SF1", description="shoes")
    formula = _receipt(ama, 21, 5, "0.750", description=FORMULA)
    load_receipt(shipment.pk, formula.pk, None, None)  # loaded first, listed last: the list is by mark
    load_receipt(shipment.pk, later.pk, 25, None)
    load_receipt(shipment.pk, earlier.pk, None, None)
    return shipment


def _csv_rows(shipment: Shipment) -> list[list[str]]:
    text = "".join(iter_csv(shipment))
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _after_header(rows: list[list[Any]]) -> list[list[Any]]:
    start = next(index for index, row in enumerate(rows) if list(row[: len(HEADERS)]) == HEADERS)
    return [list(row) for row in rows[start + 1 :]]


def test_the_header_block_names_the_shipment_and_its_fill(box: Shipment) -> None:
    rows = _csv_rows(box)
    assert rows[0] == [f"Loading list {box.reference}"]
    block = {row[0]: row[1] for row in rows[1:14]}
    assert block["Reference"] == box.reference
    assert (block["Container No"], block["Seal No"], block["Carrier"]) == ("CSQU3054383", "SEAL-7", "MSC")
    assert (block["B/L"], block["Vessel / voyage"]) == ("MEDU123", "MSC Ama / 012W")
    assert (block["ETD"], block["ETA"], block["Origin"]) == ("2026-12-20", "2027-01-25", "Guangzhou (GZ)")
    assert block["Equipment"] == "40HC (40 ft high cube)" and block["Destination"]
    assert block["Fill (CBM)"] == "4.250 CBM of 64 usable (6.6%); nominal 76.2"
    assert block["Fill (kg)"] == "350.00 kg of 26500 payload (1.3%)"


def test_lines_by_mark_with_a_subtotal_per_mark_and_the_totals(box: Shipment) -> None:
    rows = _after_header(_csv_rows(box))
    columns = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert [[row[n] for n in columns] for row in rows] == [
        ["PM4 KOFI", "Kofi Mensah", "567", "2026-11-20", "SF1", "shoes", "10", "1.000", "100.00", "", "Guangzhou"],
        ["PM4 KOFI", "Kofi Mensah", "567", "2026-11-27", "SF2", rows[1][5], "25", "2.500", "250.00", "50×40×20",
         "Guangzhou"],
        ["Subtotal PM4 KOFI", "", "", "", "", "2 lines", "35", "3.500", "350.00", "", ""],
        ["PM5 AMA", "Ama Owusu", "543", "2026-11-21", "", "'" + FORMULA, "5", "0.750", "", "", "Guangzhou"],
        ["Subtotal PM5 AMA", "", "", "", "", "1 line", "5", "0.750", "0.00", "", ""],
        ["Total", "", "", "", "", "3 lines, 2 marks", "40", "4.250", "350.00", "", ""],
    ]  # fmt: skip


def test_only_the_phone_s_last_three_digits_leave(box: Shipment) -> None:
    text = "".join(iter_csv(box))
    assert "241239567" not in text and "209871543" not in text
    sheet = openpyxl.load_workbook(write_xlsx(box)).active
    cells = " ".join(str(cell.value) for row in sheet.iter_rows() for cell in row if cell.value is not None)
    assert "241239567" not in cells and "209871543" not in cells and " 567 " in f" {cells} "


def test_the_xlsx_has_the_same_rows_with_numbers_and_no_formula(box: Shipment) -> None:
    sheet = openpyxl.load_workbook(write_xlsx(box)).active
    rows = [[cell for cell in row] for row in sheet.iter_rows()]
    lines = _after_header([[cell.value for cell in row] for row in rows])
    assert [row[0] for row in lines] == ["PM4 KOFI", "PM4 KOFI", "Subtotal PM4 KOFI", "PM5 AMA", "Subtotal PM5 AMA",
                                         "Total"]  # fmt: skip
    assert lines[2][6:9] == [35, 3.5, 350] and lines[5][6:9] == [40, 4.25, 350]
    guarded = next(cell for row in rows for cell in row if cell.value == FORMULA)
    assert guarded.data_type == "s" and guarded.quotePrefix  # text shown as typed, never run
    assert not any(cell.data_type == "f" for row in rows for cell in row)


def test_an_empty_list_still_has_its_header_and_zero_totals() -> None:
    air = create_shipment(None, mode="air", equipment_code="AIR", origin_warehouse="YW")
    rows = _csv_rows(air)
    block = {row[0]: row[1] for row in rows[1:14]}
    assert (block["MAWB"], block["Flight"], block["Fill (CBM)"], block["Fill (kg)"]) == ("", "", "0.000 CBM", "0.00 kg")
    assert _after_header(rows) == [["Total", "", "", "", "", "0 lines, 0 marks", "0", "0.000", "0.00", "", ""]]


def test_the_importer_finds_the_header_below_the_block_and_knows_the_columns(box: Shipment) -> None:
    wanted = {"shipping_mark", "received_on", "tracking_number", "description", "cartons", "cbm", "weight_kg",
              "dimensions", "warehouse"}  # fmt: skip
    for name in ("loading_list", "goods"):
        fields, _ = match_header(tuple(HEADERS), get_schema(name).aliases)
        assert wanted <= set(fields), name
    rows = _csv_rows(box)
    mapping, _ = detect_columns(iter(enumerate(map(tuple, rows), 1)), get_schema("loading_list"), region="GH")
    assert mapping.header_row == rows.index(HEADERS) + 1
    assert mapping.fields["cartons"] == HEADERS.index("CTNS")
