"""The staff UI in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import python_calamine
from django.db import connection
from playwright.sync_api import Page, expect

from primepre.customers.models import Customer
from primepre.imports.models import ImportJob

from ..customers.factories import make_customer
from ..sheets import write_customer_sheet
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the real worker process needs a shared database")
def test_the_whole_wizard(page: Page, tmp_path: Path, database_backend, start_worker) -> None:
    start_worker("browser")
    source = write_customer_sheet(tmp_path / "customers.xlsx", 3000, seed=3).path
    base = page.base  # type: ignore[attr-defined]

    page.goto(f"{base}/imports/new/")
    expect(page.get_by_text("at most")).to_contain_text("50 MB")
    page.set_input_files("#file", str(source))
    screenshot(page, "wizard-1-upload")
    page.get_by_role("button", name="Upload and preview").click()

    # Preview: counts by outcome, failing cells highlighted, nothing written yet.
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    job = ImportJob.objects.get()
    assert job.status == "previewed" and job.failed > 0
    expect(page.locator('[data-count="created"]')).to_have_text(f"{job.created:,}")
    expect(page.locator('[data-count="failed"]')).to_have_text(f"{job.failed:,}")
    assert page.locator("#failing td.bad").count() > 0
    assert not Customer.objects.exists()
    screenshot(page, "wizard-2-preview")

    # Run: confirm, then the progress bar fed by SSE until the page shows the result.
    page.get_by_role("button", name="Import").first.click()
    expect(page.locator("#progress")).to_be_visible()
    screenshot(page, "wizard-3-progress")
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.locator("#done")).to_contain_text("100%")
    job.refresh_from_db()
    assert job.status == "succeeded" and Customer.objects.count() == job.created
    expect(page.locator('[data-count="created"]')).to_have_text(f"{job.created:,}")
    screenshot(page, "wizard-4-result")

    # The error file holds exactly the failing rows.
    with page.expect_download() as download:
        page.locator("#error-file").click()
    report = download.value.path()
    rows = list(python_calamine.CalamineWorkbook.from_path(str(report)).get_sheet_by_name("Errors").iter_rows())
    assert len(rows) - 1 == job.failed
    assert sorted(int(row[-1]) for row in rows[1:]) == list(job.row_errors.values_list("row_number", flat=True))

    # Undo, after the confirmation that says what it will do.
    messages = []

    def accept(dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.locator("#undo").click()
    expect(page.locator("#outcome-sentence")).to_contain_text("Undone")
    expect(page.locator("#imported-records")).to_have_count(0)  # nothing left to see
    assert f"deletes the {job.created:,} customers it created" in messages[0]
    assert "Messages already sent are not recalled" in messages[0]
    assert not Customer.objects.exists()


def test_search_by_a_differently_formatted_phone(page: Page) -> None:
    make_customer(phone="+233241234567", shipping_mark="PM4 KOFI")
    make_customer(phone="+233201111111", shipping_mark="PM9 YAW")
    page.goto(f"{page.base}/customers/")  # type: ignore[attr-defined]
    page.get_by_label("Search").fill("024-123-4567")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#result-count")).to_have_text("1")
    expect(page.get_by_role("link", name="PM4 KOFI")).to_be_visible()
    expect(page.get_by_role("link", name="PM9 YAW")).to_have_count(0)
    screenshot(page, "customers-search")


def test_export_of_a_filtered_list(page: Page) -> None:
    for index in range(6):
        make_customer(region="AA" if index % 2 else "AH", shipping_mark=f"PM{index} X")
    page.goto(f"{page.base}/customers/")  # type: ignore[attr-defined]
    page.locator("#region-summary").click()  # the region picker: a dropdown of checkboxes
    page.get_by_role("checkbox", name="Greater Accra").check()
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#result-count")).to_have_text("3")
    with page.expect_download() as download:
        page.get_by_role("link", name=".csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert sorted(row[0] for row in rows[1:]) == ["PM1 X", "PM3 X", "PM5 X"]


def test_a_too_large_file_says_so(page: Page, settings, tmp_path: Path) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024 * 1024
    big = tmp_path / "big.csv"
    big.write_bytes(b"Mark,First Name,Last Name,Phone\n" + b"PM1,Ama,Owusu,0241234567\n" * 60_000)
    page.goto(f"{page.base}/imports/new/")  # type: ignore[attr-defined]
    page.set_input_files("#file", str(big))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#upload-error")).to_contain_text("larger than the 1 MB limit")
    assert not ImportJob.objects.exists()
    screenshot(page, "import-too-large")
