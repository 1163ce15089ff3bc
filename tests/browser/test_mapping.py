"""The mapping step in a real browser (#13 section 1): a `Numba` column mapped by hand and imported, then that mapping
applied to the next file with the same headers; "don't import this column"; a headerless file remapped; a workbook
whose customers are on its second sheet."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from primepre.customers.models import Customer
from primepre.imports.models import ImportJob, SavedMapping

from ..imports.helpers import write_csv
from ..imports.mapping_helpers import instructions_then_customers
from .conftest import screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the real worker process needs a shared database"),
]
ODD = ["Mark", "First Name", "Last Name", "Numba"]


def _upload(page: Page, path: Path) -> None:
    page.goto(f"{page.base}/imports/new/")  # type: ignore[attr-defined]
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Upload and preview").click()


def _preview_again(page: Page) -> None:
    page.get_by_role("button", name="Use these columns and preview again").click()
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)


def test_a_numba_column_mapped_by_hand_then_remembered(
    page: Page, tmp_path: Path, database_backend, start_worker
) -> None:
    start_worker("browser-mapping")
    first = write_csv(tmp_path / "first.csv", ODD, [["PM1 AMA", "Ama", "Owusu", "0241234567"]])
    _upload(page, first)
    expect(page.locator("#needs-mapping")).to_contain_text("no column for Phone", timeout=60_000)
    row = page.locator("#mapping-form tr", has_text="Numba")
    expect(row.locator("td.samples")).to_have_text("0241234567")
    expect(page.locator("#missing-fields")).to_have_text("No column is chosen for Phone.")
    screenshot(page, "mapping-needs-a-column")

    page.get_by_label("Numba").select_option(label="Phone *")
    _preview_again(page)
    expect(page.locator('[data-count="created"]')).to_have_text("1")
    expect(page.get_by_label("Numba")).to_have_value("phone")
    screenshot(page, "mapping-step")
    page.get_by_role("button", name="Import 1 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    assert Customer.objects.get().phone == "+233241234567"
    first_job = ImportJob.objects.get()

    # The next file with the same headers is mapped the same way, and says where the mapping came from.
    second = write_csv(tmp_path / "second.csv", ODD, [["PM2 YAW", "Yaw", "Boateng", "0201234567"]])
    _upload(page, second)
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    saved = page.locator("#saved-mapping")
    expect(saved).to_contain_text("Mapping from your import of")
    expect(saved.get_by_role("link")).to_have_attribute("href", f"/imports/{first_job.pk}/")
    expect(page.get_by_label("Numba")).to_have_value("phone")
    screenshot(page, "mapping-saved")
    page.get_by_role("button", name="Import 1 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    assert Customer.objects.count() == 2 and SavedMapping.objects.get().job == first_job


def test_don_t_import_this_column(page: Page, tmp_path: Path, database_backend, start_worker) -> None:
    start_worker("browser-none")
    header = ["Mark", "First Name", "Last Name", "Phone", "Email"]
    _upload(page, write_csv(tmp_path / "emails.csv", header, [["PM1 AMA", "Ama", "Owusu", "0241234567", "ama@"]]))
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    expect(page.locator('[data-count="failed"]')).to_have_text("1")
    page.get_by_label("Email").select_option(label="Don't import this column")
    _preview_again(page)
    expect(page.locator('[data-count="created"]')).to_have_text("1")
    expect(page.locator('[data-count="failed"]')).to_have_text("0")
    page.get_by_role("button", name="Import 1 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    assert Customer.objects.values_list("shipping_mark", "email").get() == ("PM1 AMA", None)


def test_a_headerless_file_remapped(page: Page, tmp_path: Path, database_backend, start_worker) -> None:
    start_worker("browser-legacy")
    rows = [["PM11 KOJO", "Kojo", "Antwi", "kojo@example.com", "0241111111", "Ashanti"]]
    _upload(page, write_csv(tmp_path / "old-template.csv", None, rows))
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    expect(page.get_by_label("Column E")).to_have_value("phone")
    expect(page.get_by_label("Column F")).to_have_value("")
    page.get_by_label("Column F").select_option(label="Region")
    page.get_by_label("Column D").select_option(label="Don't import this column")
    _preview_again(page)
    expect(page.get_by_label("Column F")).to_have_value("region")
    screenshot(page, "mapping-headerless")
    page.get_by_role("button", name="Import 1 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    assert Customer.objects.values_list("region", "email").get() == ("AH", None)


def test_a_two_sheet_workbook_imports_its_customer_sheet(
    page: Page, tmp_path: Path, database_backend, start_worker
) -> None:
    start_worker("browser-sheets")
    _upload(page, instructions_then_customers(tmp_path, "xlsx"))
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    expect(page.locator("#sheet-auto")).to_contain_text("“Customers” was picked by itself")
    expect(page.get_by_label("Sheet", exact=True)).to_have_value("Customers")
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    screenshot(page, "mapping-sheets")
    page.get_by_role("button", name="Import 2 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    assert set(Customer.objects.values_list("shipping_mark", flat=True)) == {"PM21 AMA", "PM22 YAW"}
    assert ImportJob.objects.get().sheet_name == "Customers"


def test_a_sheet_without_a_mark_column_goes_in_from_the_mapping_step(
    page: Page, tmp_path: Path, database_backend, start_worker
) -> None:
    """Issue #24 item 2: `Client Name` and `Cell` only. The mapping step offers "make a shipping mark" beside the
    missing field; ticking it previews and imports, without going back to the upload page."""
    start_worker("browser-no-mark")
    path = write_csv(tmp_path / "no-mark.csv", ["Client Name", "Cell"], [["Kwame Mensah", "0241234567"]])
    _upload(page, path)
    expect(page.locator("#missing-fields")).to_contain_text("No column is chosen for Shipping Mark", timeout=60_000)
    page.get_by_label("Make a shipping mark for each row that has none").check()
    screenshot(page, "mapping-fills-a-missing-mark")
    _preview_again(page)
    expect(page.locator("#missing-fields")).to_have_count(0)
    page.get_by_role("button", name="Import 1 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    customer = Customer.objects.get()
    assert (customer.phone, bool(customer.shipping_mark)) == ("+233241234567", True)
    assert page.url.rstrip("/").endswith(f"/imports/{ImportJob.objects.get().pk}")
