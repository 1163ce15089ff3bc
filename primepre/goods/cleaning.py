"""The goods-received sheet, cell by cell: plain functions, no queries, total on any input.

Each cleaner returns the clean value or raises `CellError(code, message)`; `clean_row` runs them all over one row and
returns every problem of the row (`FieldProblem(field, code, message)`, to which the engine adds the column as the
file names it, exactly like its `RowError`). The header aliases and the old positional A–H layout are data here, so
the import engine only has to be handed them.

What warehouse sheets in this trade hold, and what each cleaner therefore accepts:
- dates: Excel date cells, Excel serial numbers, `28/11/2026` (day first), `2026-11-28`, `2026.11.28`, `2026/11/28`,
  `2026年11月28日`;
- numbers with a decimal comma (`1,25`) or point, and a unit after them (`1.25 cbm`, `12 kg`);
- carton dimensions `50*40*30`, `50x40x30cm`, `50×40×30`, `50 X 40 X 30 CM`;
- one shipping mark per cell: a cell naming two (`MARK003/MARK004`) is refused, never split or duplicated.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from primepre.customers.marks import MARK_KEY_MAX_LENGTH, MARK_MAX_LENGTH, mark_key
from primepre.customers.text import tidy_text

CBM_PLACES = Decimal("0.001")
CM_PLACES = Decimal("0.1")
KG_PLACES = Decimal("0.01")
CBM_MAX = Decimal("9999999.999")  # Decimal(10, 3)
KG_MAX = Decimal("99999999.99")  # Decimal(10, 2)
DIMENSION_MAX_CM = Decimal("5000")  # 50 m: anything longer is a typo, not a carton
CARTONS_MAX = 1_000_000
# Given and computed CBM may differ by rounding and by how carefully a carton was measured: 5% (the rule),
# and never less than one unit of the stored third decimal place.
CBM_TOLERANCE = Decimal("0.05")
CBM_ABSOLUTE_TOLERANCE = Decimal("0.001")
DESCRIPTION_MAX = 255
TRACKING_MAX = 100
NOTES_MAX = 2000
SPECIFICATION_MAX = 200
# Excel serial day numbers from 1954 to 2119: a plain number outside this range is not a date anybody typed.
_SERIAL_MIN, _SERIAL_MAX = 20_000, 80_000
YEAR_MIN, YEAR_MAX = 2000, 2099  # a receipt dated outside is a typo
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 is 1900-01-01 in Excel's (Lotus-compatible) count


class CellError(ValueError):
    """One cell's problem: a stable `code` for programs, a `message` for the person fixing the sheet."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    code: str
    message: str

    def as_dict(self, column: str) -> dict[str, str]:
        """The engine's RowError shape: the column is the header as the file writes it."""
        return {"column": column, "field": self.field, "code": self.code, "message": self.message}


# --- the sheet's columns ---------------------------------------------------------------------------------------------

FIELD_LABELS: dict[str, str] = {
    "shipping_mark": "Shipping Mark/Client",
    "received_on": "Date of Receipt",
    "loaded_on": "Date of Loading",
    "description": "Description",
    "cartons": "CTNS",
    "dimensions": "Specifications",
    "cbm": "CBM",
    "weight_kg": "KG",
    "tracking_number": "Supplier&Tracking No",
    "method": "Method",
    "warehouse": "Warehouse",
    "notes": "Notes",
}
# Headers are compared by `mark_key` (case, spaces and punctuation folded), as the customer sheet's are.
HEADER_ALIASES: dict[str, list[str]] = {
    "shipping_mark": [
        "shipping mark/client", "shipping mark", "mark", "marks", "client", "client mark", "shipping marks",
        "customer mark", "mark/client", "shipping mark client",
    ],
    "received_on": [
        "date of receipt", "received", "date in", "date received", "received on", "receipt date", "receiving date",
        "date", "date receipt",
    ],
    "loaded_on": ["date of loading", "loading date", "date loaded", "loaded on", "loading", "date loading"],
    "description": [
        "description", "goods", "item", "items", "product", "products", "goods description", "name of goods",
    ],
    "cartons": ["ctns", "ctn", "cartons", "carton", "qty", "quantity", "pkgs", "packages", "pkg", "pieces"],
    "dimensions": [
        "specifications", "specification", "spec", "dimensions", "dimension", "size", "measurement", "l*w*h",
    ],
    "cbm": ["cbm", "volume", "m3", "m³", "total cbm", "cubic meters"],
    "weight_kg": ["kg", "kgs", "gw", "g.w.", "gross weight", "weight", "weight kg", "weight (kg)"],
    "tracking_number": [
        "supplier&tracking no", "supplier & tracking no", "tracking", "tracking no", "tracking number", "express no",
        "express number", "waybill", "waybill no", "supplier tracking no",
    ],
    "method": ["method", "shipping method", "mode", "sea/air", "transport", "freight"],
    "warehouse": ["warehouse", "wh"],
    "notes": ["notes", "note", "remarks", "remark", "comments"],
}  # fmt: skip
ALIASES: dict[str, str] = {mark_key(alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases}
# The original system's template, with no header: A mark, B date of receipt, C date of loading, D description,
# E cartons, F specifications, G CBM, H supplier & tracking number.
LEGACY_LAYOUT: dict[str, int] = {
    "shipping_mark": 0,
    "received_on": 1,
    "loaded_on": 2,
    "description": 3,
    "cartons": 4,
    "dimensions": 5,
    "cbm": 6,
    "tracking_number": 7,
}
REQUIRED_FIELDS = ("shipping_mark", "received_on", "cartons")
IGNORED_FIELDS = frozenset({"loaded_on"})  # recognised (so not reported as unknown) but not stored, for now


# --- cells -----------------------------------------------------------------------------------------------------------


def _text(raw: object) -> str:
    """A cell as text: NFKC (full-width digits and `×` variants become ASCII), whitespace collapsed."""
    text = tidy_text(raw)
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


_ISO_LIKE = re.compile(r"^(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})\s*日?$")
_DAY_FIRST = re.compile(r"^(\d{1,2})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{4}|\d{2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME_TAIL = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_MONTHS = {name: number for number, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}
_NAMED = re.compile(r"^(\d{1,2})[\s\-./]*([a-z]{3})[a-z]*\.?[\s\-./,]*(\d{4}|\d{2})$")


def _date(year: int, month: int, day: int, raw: object) -> dt.date:
    if year < 100:
        year += 2000
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise CellError("invalid_date", f"{_show(raw)}: the year {year} is not a plausible receipt date.")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError("invalid_date", f"{_show(raw)} is not a date on the calendar.") from None


def _show(raw: object) -> str:
    text = _text(raw)
    return repr(text[:40] + ("…" if len(text) > 40 else ""))


def parse_date(raw: object) -> dt.date:
    """A receipt date from any cell a warehouse sheet holds; slashed dates are day first (`03/11/2026` is 3 Nov)."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, bool):
        raise CellError("invalid_date", f"{_show(raw)} is not a date.")
    if isinstance(raw, (int, float)):
        return _serial(raw, raw)
    text = _text(raw)
    if not text:
        raise CellError("required", "The date is missing.")
    text = _TIME_TAIL.sub("", text)  # `2026-11-28 00:00:00` from a CSV export of a date cell
    if match := _ISO_LIKE.match(text):
        return _date(int(match[1]), int(match[2]), int(match[3]), raw)
    if match := _DAY_FIRST.match(text):
        return _date(int(match[3]), int(match[2]), int(match[1]), raw)
    if match := _COMPACT.match(text):
        return _date(int(match[1]), int(match[2]), int(match[3]), raw)
    if match := _NAMED.match(text.lower()):
        if match[2] in _MONTHS:
            return _date(int(match[3]), _MONTHS[match[2]], int(match[1]), raw)
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        return _serial(float(text), raw)  # a serial that went through a CSV
    raise CellError(
        "invalid_date",
        f"{_show(raw)} is not a date; write it as 28/11/2026 (day first), 2026-11-28 or 2026年11月28日.",
    )


def _serial(number: float, raw: object) -> dt.date:
    if not math.isfinite(number) or not _SERIAL_MIN <= number <= _SERIAL_MAX:
        raise CellError("invalid_date", f"{_show(raw)} is not a date (an Excel date serial is around 46000).")
    return _EXCEL_EPOCH + dt.timedelta(days=int(number))


_UNIT_TAIL = re.compile(r"\s*(cbm|m3|m³|kgs?|kilos?|ctns?|cartons?|pkgs?|pcs|packages?)\.?$", re.IGNORECASE)
_PLAIN = re.compile(r"^\+?(\d*)[.,]?(\d+)$")  # 12, 1.25, 1,25, .5
_THOUSANDS_COMMA = re.compile(r"^\+?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,234,567.5
_THOUSANDS_POINT = re.compile(r"^\+?\d{1,3}(?:\.\d{3})+(?:,\d+)?$")  # 1.234.567,5


def parse_decimal(raw: object, *, what: str = "number") -> Decimal:
    """A non-negative number from a numeric cell or text: `1.25`, `1,25` (decimal comma), `1,234.5`, `0.8 cbm`.

    One comma and no point is a decimal comma (`1,250` is 1.25, as warehouse clerks write CBM); with both, the last
    one is the decimal separator."""
    if isinstance(raw, bool):
        raise CellError("invalid_number", f"{_show(raw)} is not a {what}.")
    if isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, float):
        if not math.isfinite(raw):
            raise CellError("invalid_number", f"{_show(raw)} is not a {what}.")
        value = Decimal(repr(raw))  # the shortest decimal that reads back as this float: 0.1, not 0.1000000000000000055
    elif isinstance(raw, Decimal):
        value = raw
    else:
        value = _decimal_text(_text(raw), raw, what)
    if not value.is_finite():
        raise CellError("invalid_number", f"{_show(raw)} is not a {what}.")
    if value < 0:
        raise CellError("invalid_number", f"{_show(raw)}: a {what} cannot be negative.")
    return value


# A number typed as text in Excel keeps the apostrophe that made it text when it goes through a CSV (`'100`), and
# the system we replace quoted some (`'100'`): the quotes are not part of the number.
_QUOTES = "'\"‘’“”"


def _decimal_text(text: str, raw: object, what: str) -> Decimal:
    text = _UNIT_TAIL.sub("", text.strip(_QUOTES)).replace(" ", "").replace("\u00a0", "")
    if not text:
        raise CellError("required", f"The {what} is missing.")
    negative = text.startswith("-")
    body = text[1:] if negative else text
    if _PLAIN.match(body):
        number = body.replace(",", ".")
    elif _THOUSANDS_COMMA.match(body):
        number = body.replace(",", "")
    elif _THOUSANDS_POINT.match(body):
        number = body.replace(".", "").replace(",", ".")
    else:
        raise CellError("invalid_number", f"{_show(raw)} is not a {what}; write it like 1.25 or 1,25.")
    if negative:
        raise CellError("invalid_number", f"{_show(raw)}: a {what} cannot be negative.")
    try:
        return Decimal(number.lstrip("+"))
    except InvalidOperation:  # pragma: no cover - the patterns above admit only digits and one point
        raise CellError("invalid_number", f"{_show(raw)} is not a {what}.") from None


def parse_cartons(raw: object) -> int:
    """A whole number of cartons, at least 1 (`3`, `3.0`, `3 ctns`)."""
    if isinstance(raw, str) and not _text(raw):
        raise CellError("required", "The number of cartons is missing.")
    if raw is None:
        raise CellError("required", "The number of cartons is missing.")
    try:
        value = parse_decimal(raw, what="number of cartons")
    except CellError as exc:
        raise CellError(
            "invalid_cartons", f"{_show(raw)} is not a number of cartons (a whole number, 1 or more)."
        ) from exc
    if value != value.to_integral_value() or not 1 <= value <= CARTONS_MAX:
        raise CellError("invalid_cartons", f"{_show(raw)} is not a number of cartons (a whole number, 1 or more).")
    return int(value)


_DIMENSIONS = re.compile(
    r"^(\d+(?:[.,]\d+)?)\s*(?:cm)?\s*[*x×]\s*(\d+(?:[.,]\d+)?)\s*(?:cm)?\s*[*x×]\s*(\d+(?:[.,]\d+)?)\s*(?:cms?)?\.?$"
)


def parse_dimensions(raw: object) -> tuple[Decimal, Decimal, Decimal]:
    """One carton's length, width and height in cm from `50*40*30`, `50x40x30cm`, `50×40×30`, `50 X 40 X 30 CM`."""
    text = _text(raw).lower()
    match = _DIMENSIONS.match(text)
    if not match:
        raise CellError(
            "invalid_dimensions", f"{_show(raw)} is not carton dimensions; write length×width×height in cm: 50*40*30."
        )
    sides = [Decimal(part.replace(",", ".")) for part in match.groups()]
    # The bound before rounding (quantize() of a huge number raises), the zero after (0.04 cm is stored as 0.0).
    if any(side > DIMENSION_MAX_CM for side in sides) or any(
        side.quantize(CM_PLACES, ROUND_HALF_UP) <= 0 for side in sides
    ):
        raise CellError(
            "invalid_dimensions", f"{_show(raw)}: each side must be at least 0.1 and at most {DIMENSION_MAX_CM} cm."
        )
    length, width, height = (side.quantize(CM_PLACES, ROUND_HALF_UP) for side in sides)
    return length, width, height


# Digits with the separators and units dimensions are written with, and nothing else: `50*40*30`, `50x40x30cm`, also
# the mistyped `50*40` or `50-40-30`, which must fail as dimensions rather than pass as a note.
_DIMENSION_SHAPED = re.compile(r"^[\d\s.,*x×X/\-]*\d[\d\s.,*x×X/\-]*[*x×X/\-\s][\d\s.,*x×X/\-]*\d\s*(?:cms?)?\.?$")
# What the sheets we replace write for "no specification".
_NO_SPECIFICATION = frozenset({"n/a", "na", "n.a.", "-", "--", "nil", "none", "null", "/", "0"})


def looks_like_dimensions(raw: object) -> bool:
    """Whether a SPECIFICATIONS cell is an attempt at carton dimensions (two or more numbers with the separators and
    units dimensions use), as opposed to a grade or a note (`Class A`, `Premium`, `N/A`), which the sheets of the
    system we replace hold in the same column."""
    return bool(_DIMENSION_SHAPED.match(_text(raw).lower()))


def parse_specification(raw: object) -> str:
    """A SPECIFICATIONS cell that is not dimensions, kept on the receipt as written; `N/A`, `-`, `nil` are blank."""
    text = _text(raw)
    if text.casefold() in _NO_SPECIFICATION:
        return ""
    return parse_text(text, limit=SPECIFICATION_MAX, what="specification")


def computed_cbm(dimensions: tuple[Decimal, Decimal, Decimal], cartons: int) -> Decimal:
    """L×W×H (cm) × cartons / 1,000,000, unrounded."""
    length, width, height = dimensions
    return length * width * height * cartons / Decimal(1_000_000)


def resolve_cbm(
    given: Decimal | None, dimensions: tuple[Decimal, Decimal, Decimal] | None, cartons: int | None
) -> Decimal:
    """The receipt's CBM (3 places): the given one, or computed from the dimensions; both given must agree within 5%."""
    if given is None and dimensions is None:
        raise CellError("required", "Give the CBM or the carton dimensions (L×W×H in cm).")
    if dimensions is None or cartons is None:
        if given is None:
            raise CellError("required", "Give the CBM, or the carton dimensions and the number of cartons.")
        return _cbm_places(given)
    computed = computed_cbm(dimensions, cartons)
    if given is None:
        return _cbm_places(computed)
    if abs(given - computed) > max(CBM_TOLERANCE * computed, CBM_ABSOLUTE_TOLERANCE):
        shown = computed.quantize(CBM_PLACES, ROUND_HALF_UP)
        size = "×".join(format(side.normalize(), "f") for side in dimensions)
        raise CellError(
            "cbm_mismatch",
            f"CBM {given.normalize():f} does not match the dimensions: {size} cm × {cartons} cartons = {shown} CBM "
            f"(more than 5% apart).",
        )
    return _cbm_places(given)


def _cbm_places(value: Decimal) -> Decimal:
    if value > CBM_MAX:  # before rounding: quantize() of a huge number raises
        raise CellError("invalid_number", f"CBM {value:.3E} is more than {CBM_MAX}.")
    return value.quantize(CBM_PLACES, ROUND_HALF_UP)


def parse_weight(raw: object) -> Decimal | None:
    """Gross weight in kg, optional (None for an empty cell), at least 0."""
    if raw is None or (isinstance(raw, str) and not _text(raw)):
        return None
    value = parse_decimal(raw, what="weight")
    if value > KG_MAX:  # before rounding: quantize() of a huge number raises
        raise CellError("invalid_number", f"Weight {_show(raw)} kg is more than {KG_MAX}.")
    return value.quantize(KG_PLACES, ROUND_HALF_UP)


# Two marks in one cell are separated by one of these (or a line break); `-`, `.`, `#`, `()` and spaces belong to
# marks (`PM-4`, `P.M. 4 KOFI`, `PM4 (KOFI)`).
# `、` is the Chinese enumeration comma.
_MARK_SEPARATORS = re.compile(r"[/\\&,;+|、\r\n\v\f\u2028\u2029]")


def parse_mark(raw: object) -> tuple[str, str]:
    """The mark as written (tidied) and its key. A cell naming two marks is refused (`multiple_marks`): the goods
    of two customers must be two lines, never the full quantity twice."""
    lines = raw if isinstance(raw, str) else _text(raw)  # split before tidying, which turns line breaks into spaces
    if not lines.isascii():
        lines = unicodedata.normalize("NFKC", lines)
    parts = [part for part in _MARK_SEPARATORS.split(lines) if mark_key(part)]
    mark = _text(raw)
    if not mark:
        raise CellError("required", "The shipping mark is missing.")
    if len(parts) > 1:
        raise CellError(
            "multiple_marks",
            f"{_show(raw)} names {len(parts)} marks ({', '.join(_text(p) for p in parts[:4])}); put each customer's "
            "goods on its own line.",
        )
    key = mark_key(mark)
    if not key:
        raise CellError("invalid_mark", f"{_show(raw)} is not a shipping mark: it needs a letter or digit.")
    if len(mark) > MARK_MAX_LENGTH or len(key) > MARK_KEY_MAX_LENGTH:
        raise CellError("too_long", f"The shipping mark is {len(mark)} characters; at most {MARK_MAX_LENGTH}.")
    return mark, key


_SEA = re.compile(r"\b(?:sea|ocean|ship|vessel|container|lcl|fcl|seafreight)\b|海运|海")
_AIR = re.compile(r"\b(?:air|plane|flight|airfreight|airway)\b|空运|航空")


def parse_method(raw: object, default: str) -> str:
    """`sea` or `air` from `SEA`, `by sea`, `Air freight`…; an empty cell is `default` (chosen on upload)."""
    text = _text(raw).casefold()
    if not text:
        return default
    sea, air = bool(_SEA.search(text)), bool(_AIR.search(text))
    if sea != air:
        return "sea" if sea else "air"
    raise CellError("invalid_method", f"{_show(raw)} is not a shipping method; write SEA or AIR.")


def tracking_key(tracking_number: object) -> str:
    """The comparison key of a tracking number: whitespace removed, case-folded (`sf 1234 5678` = `SF12345678`)."""
    text = _text(tracking_number)
    return "".join(text.split()).casefold()


def parse_tracking(raw: object) -> tuple[str, str]:
    """The tracking number as typed (tidied) and its key; ("", "") for an empty cell."""
    if isinstance(raw, float) and raw.is_integer() and abs(raw) >= 2**53:
        # Excel turned a long number into a float and dropped its last digits: the number cannot be trusted.
        raise CellError(
            "invalid_tracking", f"{_show(raw)} lost digits as a number in Excel; format the column as Text."
        )
    text = _text(raw)
    if len(text) > TRACKING_MAX:
        raise CellError("too_long", f"The tracking number is {len(text)} characters; at most {TRACKING_MAX}.")
    return text, tracking_key(text)


def parse_text(raw: object, *, limit: int, what: str) -> str:
    text = _text(raw)
    if len(text) > limit:
        raise CellError("too_long", f"The {what} is {len(text)} characters; at most {limit}.")
    return text


def parse_warehouse(raw: object, default: str, warehouses: Mapping[str, str]) -> str:
    """A warehouse column's code (`YW`) or name (`Yiwu`) → the code; an empty cell is the upload's `default`."""
    if _blank(raw):
        return default
    wanted = _text(raw).casefold()
    for code, name in warehouses.items():
        if wanted in (code.casefold(), name.casefold()):
            return code
    raise CellError("invalid_warehouse", f"{_show(raw)} is not one of our warehouses ({', '.join(warehouses)}).")


# --- a row ---------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class GoodsRow:
    """A sheet line that passed every check that needs no database; the writer matches its `mark_key`."""

    shipping_mark: str
    mark_key: str
    received_on: dt.date
    description: str
    cartons: int
    cbm: Decimal
    dimensions: tuple[Decimal, Decimal, Decimal] | None
    weight_kg: Decimal | None
    tracking_number: str
    tracking_key: str
    method: str
    warehouse: str
    notes: str = ""
    specification: str = ""  # the sheet's SPECIFICATIONS when they are not dimensions (a grade, a note)


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def clean_row(
    cells: Mapping[str, Any],
    *,
    default_method: str,
    warehouse: str,
    warehouses: Mapping[str, str] | None = None,
    keep_mismatched_cbm: bool = False,
) -> tuple[GoodsRow | None, list[FieldProblem]]:
    """Every check of one line, every problem reported. `cells` maps field names (HEADER_ALIASES' keys) to raw cell
    values; `warehouse` is the upload's warehouse code, overridden by a `warehouse` column naming one of
    `warehouses` (code → name). With `keep_mismatched_cbm`, a line whose only problem is a CBM that disagrees with
    its dimensions is returned *with* that problem (a warning): the given CBM is used, the dimensions kept."""
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}

    def run(name: str, function: Any, *args: Any, **kwargs: Any) -> None:
        try:
            values[name] = function(*args, **kwargs)
        except CellError as exc:
            problems.append(FieldProblem(name, exc.code, exc.message))

    run("shipping_mark", parse_mark, cells.get("shipping_mark"))
    run("received_on", parse_date, cells.get("received_on"))
    run("description", parse_text, cells.get("description"), limit=DESCRIPTION_MAX, what="description")
    run("cartons", parse_cartons, cells.get("cartons"))
    if not _blank(cells.get("dimensions")):
        if looks_like_dimensions(cells.get("dimensions")):
            run("dimensions", parse_dimensions, cells.get("dimensions"))
        else:
            run("specification", parse_specification, cells.get("dimensions"))
    if not _blank(cells.get("cbm")):
        run("cbm", parse_decimal, cells.get("cbm"), what="CBM")
    run("weight_kg", parse_weight, cells.get("weight_kg"))
    run("tracking_number", parse_tracking, cells.get("tracking_number"))
    run("method", parse_method, cells.get("method"), default_method)
    run("notes", parse_text, cells.get("notes"), limit=NOTES_MAX, what="note")
    run("warehouse", parse_warehouse, cells.get("warehouse"), warehouse, warehouses or {})
    if not {problem.field for problem in problems} & {"dimensions", "cbm", "cartons"}:
        _total_cbm(values, problems, keep_mismatched_cbm)
    if problems and not (keep_mismatched_cbm and all(p.code == "cbm_mismatch" for p in problems)):
        return None, problems
    return _goods_row(values), problems


def _total_cbm(values: dict[str, Any], problems: list[FieldProblem], keep_mismatched: bool) -> None:
    """The line's CBM into `values["cbm_total"]`, or its problem into `problems`; a mismatch that is to be kept
    (a warning) leaves the given CBM, since that is what the warehouse measured and bills."""
    try:
        values["cbm_total"] = resolve_cbm(values.get("cbm"), values.get("dimensions"), values["cartons"])
    except CellError as exc:
        problems.append(FieldProblem("cbm", exc.code, exc.message))
        if keep_mismatched and exc.code == "cbm_mismatch":
            values["cbm_total"] = _cbm_places(values["cbm"])


def _goods_row(values: Mapping[str, Any]) -> GoodsRow:
    """The clean line from `clean_row`'s parsed values (every check passed)."""
    mark, key = values["shipping_mark"]
    tracking, tracking_k = values["tracking_number"]
    return GoodsRow(
        shipping_mark=mark,
        mark_key=key,
        received_on=values["received_on"],
        description=values["description"],
        cartons=values["cartons"],
        cbm=values["cbm_total"],
        dimensions=values.get("dimensions"),
        weight_kg=values["weight_kg"],
        tracking_number=tracking,
        tracking_key=tracking_k,
        method=values["method"],
        warehouse=values["warehouse"],
        notes=values["notes"],
        specification=values.get("specification", ""),
    )
