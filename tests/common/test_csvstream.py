"""Every CSV we serve keeps a guarded cell whole in every separator locale: a cell holding `,` `;` TAB `|` or a quote
is quoted, so an Excel set to `;` never splits `'x;=cmd|…` into a cell that starts a formula."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from primepre.common.csvsafe import guard
from primepre.common.csvstream import BOM, csv_lines, write_rows

from ..imports.helpers import HEADER, run_import, write_csv

ATTACK = "x;=cmd|' /C calc'!A0;y"
FORMULA_STARTS = ("=", "+", "-", "@")


def cells_in_every_locale(text: str) -> list[str]:
    """Every cell a spreadsheet could see in this CSV, whichever list separator it splits on."""
    cells = []
    for delimiter in (",", ";", "\t", "|"):
        for row in csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=delimiter):
            cells.extend(row)
    return cells


def assert_no_cell_starts_a_formula(text: str) -> None:
    risky = [cell for cell in cells_in_every_locale(text) if cell.lstrip(" ").startswith(FORMULA_STARTS)]
    assert not risky, risky


def test_a_cell_with_a_locale_separator_is_quoted() -> None:
    line = "".join(csv_lines([[guard(ATTACK), guard("Kofi\t-Ltd"), "a|b", 'say "hi"', "plain", 3, None]]))
    assert line == BOM + '"\'x;\'=cmd|\' /C calc\'!A0;y","\'Kofi\t\'-Ltd","a|b","say ""hi""",plain,3,\r\n'
    assert_no_cell_starts_a_formula(line)


def test_rows_without_one_are_written_as_the_csv_module_writes_them() -> None:
    rows = [["a,b", 'q"', "x\ny", "", None, 1.5, -2], [""], []]
    expected = io.StringIO()
    csv.writer(expected).writerows(rows)
    assert "".join(csv_lines(rows)) == BOM + expected.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(), st.integers(), st.none()), min_size=1, max_size=6))
def test_any_row_reads_back_as_written_and_guarded_cells_stay_whole(row: list) -> None:
    guarded = [guard(value) for value in row]
    text = "".join(csv_lines([guarded])).removeprefix(BOM)
    # The csv module reads back a lone empty field as an empty row; every other row comes back cell for cell.
    expected = ["" if value is None else str(value) for value in guarded]
    if expected != [""] and not any("\r" in cell for cell in expected):
        assert next(csv.reader(io.StringIO(text, newline=""))) == expected
    for cell in (value for value in guarded if isinstance(value, str)):
        if any(separator in cell for separator in ',;\t|"'):
            assert '"' + cell.replace('"', '""') + '"' in text


def test_write_rows_writes_the_same_lines_to_a_file() -> None:
    target = io.StringIO()
    write_rows(target, [[guard(ATTACK), "b"]])
    assert target.getvalue() == "".join(csv_lines([[guard(ATTACK), "b"]])).removeprefix(BOM)


@pytest.mark.django_db
def test_the_error_file_keeps_a_guarded_cell_whole_in_every_locale(tmp_path: Path, admin_user) -> None:
    source = write_csv(tmp_path / "in.csv", HEADER, [["PM1 AMA", "Ama", "Owusu", "12345", "", "", ATTACK]])
    job = run_import(source)
    assert job.failed == 1
    client = Client()
    client.force_login(admin_user)
    response = client.get(f"/api/v1/imports/{job.pk}/errors.csv")
    text = b"".join(response.streaming_content).decode("utf-8")
    assert '"' + guard(ATTACK) + '"' in text
    assert_no_cell_starts_a_formula(text)
