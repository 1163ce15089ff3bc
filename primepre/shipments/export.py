"""The loading list out: .xlsx (written in constant memory to a temporary file) and CSV (streamed), the same rows.

A header block (reference, container and seal numbers, equipment, carrier, B/L, vessel or flight, ETD/ETA, origin,
destination, fill by CBM and kg), then one row per line sorted by mark, a subtotal row after each mark and the grand
total. A customer is named with only the last three digits of their phone: the list travels to the China agent and
the loading crew, who tell two customers apart by it and need no more.

The file is read back by the loading-list import (`import_schema.py`), so:
- the column headers are the goods sheet's own names (`cleaning.FIELD_LABELS` / `HEADER_ALIASES`), and the header
  block has one label per row (never two aliases on one row), so the importer finds the real header below it;
- a subtotal or total row starts its mark cell with `Subtotal` / `Total` (`SUMMARY_MARKS`): it can never name a
  receipt's mark, so a list imported as it is never loads a mark's cartons twice; the importer may skip such rows.

Every text cell is typed by someone (marks, names, descriptions, carrier…): in CSV each goes through the formula
guard (`primepre.common.csvsafe.guard`, which the importer removes again); in .xlsx every text cell is a string
(never a formula) and one that starts like a formula also gets Excel's quote prefix, as the import error file does.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

import xlsxwriter

from primepre.common.csvsafe import FORMULA_STARTS, guard
from primepre.common.csvstream import csv_lines
from primepre.goods.cleaning import FIELD_LABELS
from primepre.goods.warehouses import warehouse_name

from .capacity import ZERO, Fill, fill_of
from .equipment import equipment
from .models import Mode, Shipment, ShipmentLine

HEADERS = [
    "Shipping Mark", "Customer", "Phone (last 3)", FIELD_LABELS["received_on"], FIELD_LABELS["tracking_number"],
    FIELD_LABELS["description"], FIELD_LABELS["cartons"], FIELD_LABELS["cbm"], FIELD_LABELS["weight_kg"],
    "Dimensions", FIELD_LABELS["warehouse"],
]  # fmt: skip
CARTONS, CBM, KG = 6, 7, 8  # the columns the summary rows add up
CBM_PLACES, KG_PLACES = Decimal("0.001"), Decimal("0.01")
SUBTOTAL, TOTAL = "Subtotal", "Total"
SUMMARY_MARKS = (SUBTOTAL, TOTAL)
_FIELDS = (
    "receipt__shipping_mark", "receipt__mark_key", "consignment__customer__first_name",
    "consignment__customer__last_name", "consignment__customer__phone", "receipt__received_on",
    "receipt__tracking_number", "receipt__description", "cartons", "cbm", "weight_kg", "receipt__length_cm",
    "receipt__width_cm", "receipt__height_cm", "receipt__warehouse",
)  # fmt: skip
TITLE, BLOCK, BLANK, HEADER, LINE, SUBTOTAL_ROW, TOTAL_ROW = "title block blank header line subtotal total".split()


@dataclass(slots=True)
class Sums:
    lines: int = 0
    cartons: int = 0
    cbm: Decimal = ZERO
    kg: Decimal = ZERO

    def add(self, cartons: int, cbm: Decimal, kg: Decimal | None) -> None:
        self.lines += 1
        self.cartons += cartons
        self.cbm += cbm
        self.kg += kg or ZERO


@dataclass(slots=True)
class _Group:
    key: str | None = None
    mark: str = ""
    sums: Sums = field(default_factory=Sums)


def _figure(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def fill_texts(fill: Fill) -> tuple[str, str]:
    """The fill in words, by CBM and by kg: `12.345 CBM of 64 usable (19.3%); nominal 76.2`."""
    cbm = f"{fill.cbm} CBM"
    if fill.usable_cbm is not None:
        cbm += f" of {_figure(fill.usable_cbm)} usable ({fill.cbm_percent}%); nominal {_figure(fill.nominal_cbm)}"
    kg = f"{fill.kg} kg"
    if fill.payload_kg is not None:
        kg += f" of {_figure(fill.payload_kg)} payload ({fill.kg_percent}%)"
    return cbm, kg


def header_block(shipment: Shipment) -> list[list[Any]]:
    """One label and its value per row (see the module's docstring: the importer looks for its header below)."""
    air = shipment.mode == Mode.AIR
    box = equipment(shipment.equipment)
    cbm, kg = fill_texts(fill_of(shipment))
    origin = shipment.origin_warehouse
    return [
        ["Reference", shipment.reference],
        ["Container No", shipment.container_number],
        ["Seal No", shipment.seal_number],
        ["Equipment", f"{box.code} ({box.label})"],
        ["Carrier", shipment.carrier],
        ["MAWB" if air else "B/L", shipment.bill_of_lading],
        ["Flight" if air else "Vessel / voyage", shipment.vessel_or_flight],
        ["ETD", shipment.etd.isoformat() if shipment.etd else ""],
        ["ETA", shipment.eta.isoformat() if shipment.eta else ""],
        ["Origin", f"{warehouse_name(origin)} ({origin})"],
        ["Destination", shipment.destination],
        ["Fill (CBM)", cbm],
        ["Fill (kg)", kg],
    ]


def _line_row(values: tuple[Any, ...]) -> list[Any]:
    mark, _, first, last, phone, received_on, tracking, description, cartons, cbm, kg, *sides, warehouse = values
    dimensions = "×".join(_figure(side) for side in sides) if all(side is not None for side in sides) else ""
    return [
        mark, f"{first} {last}".strip(), (phone or "")[-3:], received_on.isoformat(), tracking, description, cartons,
        cbm, "" if kg is None else kg, dimensions, warehouse_name(warehouse),
    ]  # fmt: skip


def _summary_row(label: str, sums: Sums, note: str) -> list[Any]:
    cbm, kg = sums.cbm.quantize(CBM_PLACES), sums.kg.quantize(KG_PLACES)  # `0.000`, not `0`, for an empty sum
    return [label, "", "", "", "", note, sums.cartons, cbm, kg, "", ""]


def _subtotal(group: _Group) -> list[Any]:
    return _summary_row(f"{SUBTOTAL} {group.mark}", group.sums, _plural(group.sums.lines, "line"))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def loading_list_rows(shipment: Shipment) -> Iterator[tuple[str, list[Any]]]:
    """(kind, cells) for every row of the list, in order: the writers format by kind. Lines are read in chunks."""
    yield TITLE, [f"Loading list {shipment.reference}"]
    for row in header_block(shipment):
        yield BLOCK, row
    yield BLANK, []
    yield HEADER, list(HEADERS)
    lines = ShipmentLine.objects.filter(shipment=shipment).order_by(
        "receipt__mark_key", "receipt__received_on", "receipt_id"
    )
    group, total, marks = _Group(), Sums(), 0
    for values in lines.values_list(*_FIELDS).iterator(chunk_size=2000):
        mark, key, (cartons, cbm, kg) = values[0], values[1], values[8:11]
        if key != group.key:
            if group.key is not None:
                yield SUBTOTAL_ROW, _subtotal(group)
            group, marks = _Group(key, mark), marks + 1
        group.sums.add(cartons, cbm, kg)
        total.add(cartons, cbm, kg)
        yield LINE, _line_row(values)
    if group.key is not None:
        yield SUBTOTAL_ROW, _subtotal(group)
    yield TOTAL_ROW, _summary_row(TOTAL, total, f"{_plural(total.lines, 'line')}, {_plural(marks, 'mark')}")


def iter_csv(shipment: Shipment) -> Iterator[str]:
    """The list as CSV lines (BOM first), every text cell through the formula guard."""
    return csv_lines([guard(cell) for cell in cells] for _, cells in loading_list_rows(shipment))


class _Formats:
    """The workbook's cell formats, made once."""

    def __init__(self, workbook: Any) -> None:
        add = workbook.add_format
        self.text, self.quoted = add({}), add({"quote_prefix": True})
        self.title = add({"bold": True, "font_size": 14})
        self.label = add({"bold": True})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        places = {CARTONS: "0", CBM: "0.000", KG: "0.00"}
        self.numbers = {column: add({"num_format": shown}) for column, shown in places.items()}
        self.sums = {column: add({"bold": True, "top": 1, "num_format": shown}) for column, shown in places.items()}
        self.sum_text = add({"bold": True, "top": 1})
        self.sum_quoted = add({"bold": True, "top": 1, "quote_prefix": True})


def _write_cell(sheet: Any, line: int, column: int, value: Any, kind: str, formats: _Formats) -> None:
    summary = kind in (SUBTOTAL_ROW, TOTAL_ROW)
    if isinstance(value, (int, Decimal)) and kind in (LINE, SUBTOTAL_ROW, TOTAL_ROW):
        number_format = (formats.sums if summary else formats.numbers).get(column)
        sheet.write_number(line, column, float(value), number_format)
        return
    text = "" if value is None else str(value)
    risky = text.startswith(FORMULA_STARTS)  # a string is never a formula here; the prefix keeps Excel from making one
    if summary:
        cell_format = formats.sum_quoted if risky else formats.sum_text
    elif kind in (TITLE, HEADER) or (kind == BLOCK and column == 0):
        cell_format = formats.title if kind == TITLE else formats.header if kind == HEADER else formats.label
    else:
        cell_format = formats.quoted if risky else formats.text
    sheet.write_string(line, column, text, cell_format)


def write_xlsx(shipment: Shipment) -> IO[bytes]:
    """The list as an .xlsx in a temporary file (constant memory while writing), rewound for reading."""
    target = tempfile.TemporaryFile(suffix=".xlsx")  # the response closes it
    # strings_to_formulas off: a cell holding "=…" is written as the text it is, never as a formula.
    workbook = xlsxwriter.Workbook(target, {"constant_memory": True, "strings_to_formulas": False})
    try:
        formats = _Formats(workbook)
        sheet = workbook.add_worksheet("Loading list")
        for column, width in enumerate((18, 24, 8, 12, 22, 30, 8, 10, 10, 16, 12)):
            sheet.set_column(column, column, width)
        for line, (kind, cells) in enumerate(loading_list_rows(shipment)):
            for column, value in enumerate(cells):
                _write_cell(sheet, line, column, value, kind, formats)
    finally:
        workbook.close()
    target.seek(0)
    return target
