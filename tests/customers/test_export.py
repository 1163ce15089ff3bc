"""The customer export: every text cell safe to open in a spreadsheet, whatever the reader's list separator."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import pytest
import python_calamine
from django.test import Client

from primepre.common.csvsafe import guard, needs_guard, unguard
from primepre.customers.export import csv_cells
from primepre.customers.models import Customer

from ..imports.helpers import run_import
from .factories import make_customer

pytestmark = pytest.mark.django_db
# A stored phone: `+` and digits only, which a spreadsheet reads as a number, never as a formula.
E164 = re.compile(r"\+[0-9]{8,15}")
_ROUND_TRIP = ("shipping_mark", "first_name", "last_name", "phone", "email", "region", "company_name", "customer_type")


def _export_csv(user, **query: str) -> str:
    client = Client()
    client.force_login(user)
    return b"".join(client.get("/customers/export.csv", query).streaming_content).decode("utf-8-sig")


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
    assert E164.fullmatch(rows[1][3])  # the phone as stored: no apostrophe to spoil it
    for row in rows:
        assert all(not needs_guard(cell) or cell.startswith("'") or E164.fullmatch(cell) for cell in row), row


def test_the_xlsx_export_writes_text_never_formulas(admin_user) -> None:
    make_customer(first_name='=HYPERLINK("http://evil.example","x")')
    client = Client()
    client.force_login(admin_user)
    response = client.get("/customers/export.xlsx")
    sheet = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet


def test_the_csv_export_keeps_a_guarded_cell_whole_in_a_semicolon_locale(admin_user) -> None:
    """`x;=cmd|…` is guarded and quoted: an Excel whose separator is `;` reads one text cell, not `=cmd|…`."""
    from ..common.test_csvstream import ATTACK, FORMULA_STARTS, cells_in_every_locale

    make_customer(company_name=ATTACK, first_name="Kofi\t-Ltd")
    text = _export_csv(admin_user)
    assert '"' + guard(ATTACK) + '"' in text
    # Whatever the reader's separator, a cell that starts a formula is only ever a phone as stored (`+` and digits).
    risky = [cell for cell in cells_in_every_locale(text) if cell.lstrip(" ").startswith(FORMULA_STARTS)]
    assert risky and all(E164.fullmatch(cell) for cell in risky), risky


@pytest.mark.parametrize(
    ("phone", "exported"),
    [
        ("+233241234567", "+233241234567"),  # as stored: a number to a spreadsheet, not a formula
        ("+1+1", "'+1+1"),  # not E.164: anything else in the phone column is guarded like any cell
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("-1+2", "'-1+2"),
        ("@x", "'@x"),
    ],
)
def test_only_a_phone_in_e164_skips_the_guard(phone: str, exported: str) -> None:
    row = ["PM4 KOFI", "+233241234567", "-1+2", phone, "", "", "@SUM(1)", "Individual", "2026-01-01 10:00"]
    cells = csv_cells(row)
    assert cells[3] == exported
    assert cells[1:3] == ["'+233241234567", "'-1+2"] and cells[6] == "'@SUM(1)"  # the same text in a name: guarded


def test_regions_and_customer_types_are_exported_by_name(admin_user) -> None:
    make_customer(shipping_mark="PM1 AMA", region="AA", customer_type="individual")
    make_customer(shipping_mark="PM2 YAW", region="", customer_type="business", company_name="Yaw Ltd")
    rows = {row[0]: row for row in csv.reader(io.StringIO(_export_csv(admin_user)))}
    assert rows["PM1 AMA"][5:8] == ["Greater Accra", "", "Individual"]
    assert rows["PM2 YAW"][5:8] == ["", "Yaw Ltd", "Business"]
    client = Client()
    client.force_login(admin_user)
    workbook = python_calamine.CalamineWorkbook.from_filelike(
        io.BytesIO(b"".join(client.get("/customers/export.xlsx").streaming_content))
    )
    sheet = {row[0]: row for row in workbook.get_sheet_by_name("Customers").iter_rows()}
    assert sheet["PM1 AMA"][5:8] == ["Greater Accra", "", "Individual"]


def test_an_exported_file_imports_again_unchanged(admin_user, tmp_path: Path, settings) -> None:
    """The round trip staff make: export, fix a cell, import as an update. Names, phones, guarded formulas and the
    regions and types written by name all read back as they are stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    make_customer(shipping_mark="PM1 AMA", region="AH", email="ama@example.com")
    make_customer(shipping_mark="PM2 YAW", region="TV", customer_type="business", company_name="=1+1 Trading")
    make_customer(shipping_mark="PM3 ESI", first_name="x;=cmd|' /C calc'!A0", phone="+442079460958")
    before = sorted(Customer.objects.values_list(*_ROUND_TRIP))
    path = tmp_path / "customers.csv"
    path.write_text(_export_csv(admin_user), encoding="utf-8-sig")
    job = run_import(path, mode="upsert", user=admin_user)
    assert (job.rows_read, job.unchanged, job.updated, job.failed) == (3, 3, 0, 0)
    assert sorted(Customer.objects.values_list(*_ROUND_TRIP)) == before
