"""The customer export: every text cell safe to open in a spreadsheet, whatever the reader's list separator."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.test import Client

from primepre.common.csvsafe import guard, needs_guard, unguard

from .factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "cell",
    ["=1+1", "+233241234567", "-5", "@SUM(A1)", "\tx", "\rx", "x;=1+1", "x,+1", "x|@a", "x\t-1", "x\n=1", "x; =1"],
)
def test_the_guard_covers_every_place_a_formula_can_start(cell: str) -> None:
    from ..common.test_csvstream import FORMULA_STARTS

    assert needs_guard(cell)
    guarded = guard(cell)
    assert guarded.startswith("'")
    # Wherever a `;`, TAB or `|` reader (or a line break) starts a field, the field starts with the apostrophe.
    for separator in ";\t|\n":
        assert not any(part.lstrip(' "').startswith(FORMULA_STARTS) for part in guarded.split(separator)), guarded
    assert unguard(guarded) == cell


@pytest.mark.parametrize("cell", ["Kofi Mensah", "PM4 KOFI", "a-b", "kofi@example.com", "x; y", "'Nii", ""])
def test_safe_text_is_left_alone(cell: str) -> None:
    assert not needs_guard(cell)
    assert guard(cell) == cell and unguard(cell) == cell


def test_numbers_are_not_text_and_stay_as_they_are() -> None:
    assert guard(-5) == -5 and guard(None) is None


def test_the_csv_export_guards_formulas_hidden_behind_a_separator(admin_user) -> None:
    make_customer(first_name="x;=1+1", last_name="a|@SUM(1)", company_name="Kofi\t-Ltd")
    client = Client()
    client.force_login(admin_user)
    response = client.get("/customers/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][1:3] == ["'x;'=1+1", "'a|'@SUM(1)"]
    assert rows[1][3].startswith("'+233")
    for row in rows:
        assert all(not needs_guard(cell) or cell.startswith("'") for cell in row), row


def test_the_xlsx_export_writes_text_never_formulas(admin_user) -> None:
    make_customer(first_name='=HYPERLINK("http://evil.example","x")')
    client = Client()
    client.force_login(admin_user)
    response = client.get("/customers/export.xlsx")
    sheet = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet


def test_the_csv_export_keeps_a_guarded_cell_whole_in_a_semicolon_locale(admin_user) -> None:
    """`x;=cmd|…` is guarded and quoted: an Excel whose separator is `;` reads one text cell, not `=cmd|…`."""
    from ..common.test_csvstream import ATTACK, assert_no_cell_starts_a_formula

    make_customer(company_name=ATTACK, first_name="Kofi\t-Ltd")
    client = Client()
    client.force_login(admin_user)
    text = b"".join(client.get("/customers/export.csv").streaming_content).decode("utf-8-sig")
    assert '"' + guard(ATTACK) + '"' in text
    assert_no_cell_starts_a_formula(text)
