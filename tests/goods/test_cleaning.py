"""The goods sheet's cells, as warehouse clerks write them: every cleaner on real-looking cells, and never a crash."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from primepre.customers.marks import mark_key
from primepre.goods import cleaning
from primepre.goods.cleaning import (
    ALIASES,
    LEGACY_LAYOUT,
    CellError,
    clean_row,
    parse_cartons,
    parse_date,
    parse_decimal,
    parse_dimensions,
    parse_mark,
    parse_method,
    parse_tracking,
    parse_weight,
    resolve_cbm,
    tracking_key,
)

NOV28 = dt.date(2026, 11, 28)


def _code(function, *args, **kwargs) -> str:
    with pytest.raises(CellError) as caught:
        function(*args, **kwargs)
    return caught.value.code


@pytest.mark.parametrize(
    "cell",
    [
        dt.datetime(2026, 11, 28, 14, 5),  # calamine's date cell
        NOV28,
        46354,  # Excel serial
        46354.0,
        "46354",  # a serial that went through a CSV
        "28/11/2026",
        "28/11/26",
        "28-11-2026",
        "28.11.2026",
        "2026-11-28",
        "2026.11.28",
        "2026/11/28",
        "2026年11月28日",
        "2026 年 11 月 28 日",
        "２０２６年１１月２８日",  # full-width digits
        " 2026-11-28 00:00:00 ",
        "20261128",
        "28 Nov 2026",
        "28-NOV-26",
    ],
)
def test_dates_as_sheets_write_them(cell: object) -> None:
    assert parse_date(cell) == NOV28


def test_slashed_dates_are_day_first() -> None:
    assert parse_date("03/11/2026") == dt.date(2026, 11, 3)
    assert parse_date("3/1/2026") == dt.date(2026, 1, 3)


@pytest.mark.parametrize(
    "cell", ["11/28/2026", "2026-02-30", "31.04.2026", "yesterday", "28/11", 12, True, "1899-12-30"]
)
def test_not_dates(cell: object) -> None:
    assert _code(parse_date, cell) == "invalid_date"


def test_a_missing_date_is_required() -> None:
    assert _code(parse_date, "") == _code(parse_date, None) == "required"


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ("1,25", Decimal("1.25")),
        ("1.25", Decimal("1.25")),
        (1.25, Decimal("1.25")),
        (0.1, Decimal("0.1")),
        (3, Decimal(3)),
        (" 0,8 CBM", Decimal("0.8")),
        ("12 kg", Decimal(12)),
        ("12kgs", Decimal(12)),
        ("1,234.5", Decimal("1234.5")),
        ("1.234,5", Decimal("1234.5")),
        ("1 234,5", Decimal("1234.5")),
        (",5", Decimal("0.5")),
        ("1,250", Decimal("1.250")),  # one comma is a decimal comma, as clerks write CBM
        ("１，２５", Decimal("1.25")),
    ],
)
def test_decimals_with_a_comma_or_a_point(cell: object, value: Decimal) -> None:
    assert parse_decimal(cell) == value


@pytest.mark.parametrize(
    "cell", ["-1", "-0,5", "abc", "1.2.3", "1,2,3", "1..2", float("nan"), float("inf"), True, "12,34,5"]
)
def test_not_numbers(cell: object) -> None:
    assert _code(parse_decimal, cell) == "invalid_number"


@pytest.mark.parametrize(
    ("cell", "value"),
    [("3", 3), (3, 3), (3.0, 3), ("3.0", 3), ("3,0", 3), ("12 CTNS", 12), ("'100", 100), ("'100'", 100), ("“7”", 7)],
)
def test_cartons(cell: object, value: int) -> None:
    assert parse_cartons(cell) == value


@pytest.mark.parametrize("cell", ["0", 0, "2.5", -1, "two", "1e3x", True, 10**9])
def test_not_cartons(cell: object) -> None:
    assert _code(parse_cartons, cell) == "invalid_cartons"


def test_missing_cartons_are_required() -> None:
    assert _code(parse_cartons, " ") == _code(parse_cartons, None) == "required"


@pytest.mark.parametrize(
    "cell", ["50*40*30", "50x40x30cm", "50×40×30", "50 X 40 X 30 CM", "50cm*40cm*30cm", "50＊40＊30", "50.0*40*30"]
)
def test_dimension_strings(cell: str) -> None:
    assert parse_dimensions(cell) == (Decimal("50.0"), Decimal("40.0"), Decimal("30.0"))


def test_dimensions_with_decimals() -> None:
    assert parse_dimensions("50,5x40.25x30") == (Decimal("50.5"), Decimal("40.3"), Decimal("30.0"))


@pytest.mark.parametrize(
    "cell",
    ["50*40", "50*40*30*20", "50*0*30", "abc", "", 50, "50-40-30", "9000*40*30", "0.04*10*10", "1" * 60 + "*1*1"],
)
def test_not_dimensions(cell: object) -> None:
    assert _code(parse_dimensions, cell) == "invalid_dimensions"


def test_cbm_given_computed_or_checked_within_five_percent() -> None:
    sides = (Decimal(50), Decimal(40), Decimal(30))
    assert resolve_cbm(None, sides, 3) == Decimal("0.180")
    assert resolve_cbm(Decimal("0.18"), sides, 3) == Decimal("0.180")
    assert resolve_cbm(Decimal("0.189"), sides, 3) == Decimal("0.189")  # within 5%: the clerk's figure is kept
    assert resolve_cbm(Decimal("1.2345"), None, 3) == Decimal("1.235")
    with pytest.raises(CellError) as caught:
        resolve_cbm(Decimal("0.5"), sides, 3)
    assert caught.value.code == "cbm_mismatch"
    assert "0.5" in caught.value.message and "0.180" in caught.value.message
    assert _code(resolve_cbm, None, None, 3) == "required"
    # Just over the line: 5.6% above 0.180 (a tolerance loosened to 50% would let it through).
    assert _code(resolve_cbm, Decimal("0.1901"), sides, 3) == "cbm_mismatch"
    assert resolve_cbm(Decimal("0.1889"), sides, 3) == Decimal("0.189")  # 4.9%: kept
    # A tiny parcel: within the stored third decimal place it is not a mismatch.
    assert resolve_cbm(Decimal("0.001"), (Decimal(10), Decimal(10), Decimal(15)), 1) == Decimal("0.001")


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        ("PM4 KOFI", "pm4kofi"),
        ("PM-4", "pm4"),
        ("PM4-KOFI", "pm4kofi"),
        ("P.M. 4 KOFI", "pm4kofi"),
        ("PM4 (KOFI)", "pm4kofi"),
        ("PM 4 KOFI #2", "pm4kofi2"),
        ("  pm4   kofi ", "pm4kofi"),
        ("ＰＭ４ ＫＯＦＩ", "pm4kofi"),
        ("PM4 KOFI/", "pm4kofi"),  # a stray separator with nothing after it
        ("王 PM4", "王pm4"),
        (1234, "1234"),
    ],
)
def test_one_mark_per_cell(cell: object, key: str) -> None:
    assert parse_mark(cell)[1] == key


@pytest.mark.parametrize(
    "cell",
    [
        "MARK003/MARK004",
        "A & B",
        "A, B",
        "PM4 KOFI\nPM5 AMA",
        "PM4 KOFI\r\nPM5 AMA",
        "PM4 + PM5",
        "PM4;PM5",
        "PM4、PM5",
        "PM4 ／ PM5",
    ],
)
def test_two_marks_in_a_cell_are_refused(cell: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_mark(cell)
    assert caught.value.code == "multiple_marks"
    assert "2 marks" in caught.value.message


def test_bad_marks() -> None:
    assert _code(parse_mark, "") == "required"
    assert _code(parse_mark, "---") == "invalid_mark"
    assert _code(parse_mark, "X" * 101) == "too_long"


@pytest.mark.parametrize(
    ("cell", "method"),
    [("SEA", "sea"), ("sea", "sea"), ("By Sea", "sea"), ("sea freight", "sea"), ("AIR", "air"), ("air freight", "air"),
     ("Airfreight", "air"), ("海运", "sea"), ("空运", "air"), ("", "air"), (None, "air")],
)  # fmt: skip
def test_methods(cell: object, method: str) -> None:
    assert parse_method(cell, "air") == method


def test_unknown_or_both_methods_are_refused() -> None:
    assert _code(parse_method, "train", "sea") == "invalid_method"
    assert _code(parse_method, "SEA/AIR", "sea") == "invalid_method"
    assert _code(parse_method, "airsea", "sea") == "invalid_method"


def test_tracking_numbers() -> None:
    assert parse_tracking(" SF 1234 5678 ") == ("SF 1234 5678", "sf12345678")
    assert parse_tracking(773123456789.0) == ("773123456789", "773123456789")
    assert parse_tracking("") == ("", "")
    assert tracking_key("ｙｔ１２３") == "yt123"
    assert _code(parse_tracking, 1.2345678901234568e17) == "invalid_tracking"
    assert _code(parse_tracking, "X" * 101) == "too_long"


def test_weights() -> None:
    assert parse_weight("12,5 KG") == Decimal("12.50")
    assert parse_weight("") is None and parse_weight(None) is None
    assert _code(parse_weight, "-3") == "invalid_number"
    assert _code(parse_weight, 1e26) == "invalid_number"  # found by hypothesis: rounding it raised InvalidOperation
    assert _code(resolve_cbm, Decimal("1e30"), None, 1) == "invalid_number"


def test_header_aliases_and_the_legacy_layout_are_data() -> None:
    header = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS", "SPECIFICATIONS",
              "CBM", "SUPPLIER&TRACKING NO", "GW", "Express No", "m3", "pkgs"]  # fmt: skip
    assert [ALIASES.get(mark_key(cell)) for cell in header] == [
        "shipping_mark", "received_on", "loaded_on", "description", "cartons", "dimensions", "cbm", "tracking_number",
        "weight_kg", "tracking_number", "cbm", "cartons",
    ]  # fmt: skip
    assert sorted(LEGACY_LAYOUT, key=LEGACY_LAYOUT.get) == [
        "shipping_mark", "received_on", "loaded_on", "description", "cartons", "dimensions", "cbm", "tracking_number",
    ]  # fmt: skip
    assert set(cleaning.REQUIRED_FIELDS) <= set(cleaning.HEADER_ALIASES)


WAREHOUSES = {"GZ": "Guangzhou", "YW": "Yiwu"}


def test_a_good_row() -> None:
    row, problems = clean_row(
        {"shipping_mark": "PM4 KOFI", "received_on": "2026年11月28日", "description": " shoes ", "cartons": "3",
         "dimensions": "50*40*30", "cbm": "0,18", "weight_kg": "25", "tracking_number": "SF1", "method": "by air",
         "warehouse": "yiwu"},
        default_method="sea", warehouse="GZ", warehouses=WAREHOUSES,
    )  # fmt: skip
    assert problems == []
    assert row is not None
    assert (row.mark_key, row.received_on, row.description, row.cartons, row.cbm, row.method, row.warehouse) == (
        "pm4kofi", NOV28, "shoes", 3, Decimal("0.180"), "air", "YW",
    )  # fmt: skip
    assert row.dimensions == (Decimal("50.0"), Decimal("40.0"), Decimal("30.0"))
    assert (row.weight_kg, row.tracking_key) == (Decimal("25.00"), "sf1")


def test_a_bad_row_reports_every_problem() -> None:
    row, problems = clean_row(
        {"shipping_mark": "MARK003/MARK004", "received_on": "31/02/2026", "cartons": "0", "dimensions": "50x40",
         "method": "rail", "warehouse": "Shanghai"},
        default_method="sea", warehouse="GZ", warehouses=WAREHOUSES,
    )  # fmt: skip
    assert row is None
    assert [(p.field, p.code) for p in problems] == [
        ("shipping_mark", "multiple_marks"), ("received_on", "invalid_date"), ("cartons", "invalid_cartons"),
        ("dimensions", "invalid_dimensions"), ("method", "invalid_method"), ("warehouse", "invalid_warehouse"),
    ]  # fmt: skip
    assert problems[0].as_dict("SHIPPING MARK/CLIENT")["column"] == "SHIPPING MARK/CLIENT"


def test_a_row_whose_cbm_and_dimensions_disagree_fails_on_cbm() -> None:
    row, problems = clean_row(
        {"shipping_mark": "PM4", "received_on": "2026-11-28", "cartons": 3, "dimensions": "50*40*30", "cbm": "1,25"},
        default_method="sea", warehouse="GZ",
    )  # fmt: skip
    assert row is None and [(p.field, p.code) for p in problems] == [("cbm", "cbm_mismatch")]
    _, problems = clean_row({"shipping_mark": "PM4", "received_on": "2026-11-28", "cartons": 3}, default_method="sea",
                            warehouse="GZ")  # fmt: skip
    assert [(p.field, p.code) for p in problems] == [("cbm", "required")]


def test_a_disagreeing_cbm_kept_when_asked_is_a_row_with_its_warning() -> None:
    cells = {"shipping_mark": "PM4", "received_on": "2026-11-28", "cartons": 3, "dimensions": "50*40*30", "cbm": "1,25"}
    row, problems = clean_row(cells, default_method="sea", warehouse="GZ", keep_mismatched_cbm=True)
    assert row is not None and row.cbm == Decimal("1.250") and row.dimensions == (50, 40, 30)
    assert [(p.field, p.code) for p in problems] == [("cbm", "cbm_mismatch")]
    # Any other problem beside it still fails the row: only the mismatch is let through.
    row, problems = clean_row({**cells, "cartons": 0}, default_method="sea", warehouse="GZ", keep_mismatched_cbm=True)
    assert row is None and [(p.field, p.code) for p in problems] == [("cartons", "invalid_cartons")]
    row, problems = clean_row(
        {**cells, "method": "boat"}, default_method="sea", warehouse="GZ", keep_mismatched_cbm=True
    )
    assert row is None and {p.code for p in problems} == {"invalid_method", "cbm_mismatch"}


CELLS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(),
    st.decimals(allow_nan=True), st.dates(), st.datetimes(), st.binary().map(lambda b: b.decode("latin-1")),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(CELLS)
def test_cleaners_never_raise_anything_but_a_cell_error(cell: object) -> None:
    for function in (parse_date, parse_decimal, parse_cartons, parse_dimensions, parse_mark, parse_tracking,
                     parse_weight, lambda c: parse_method(c, "sea")):  # fmt: skip
        try:
            function(cell)
        except CellError as exc:
            assert exc.code and exc.message


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(cleaning.HEADER_ALIASES)), CELLS))
def test_a_row_of_anything_is_a_row_or_problems(cells: dict) -> None:
    row, problems = clean_row(cells, default_method="sea", warehouse="GZ", warehouses=WAREHOUSES)
    assert (row is None) == bool(problems)
