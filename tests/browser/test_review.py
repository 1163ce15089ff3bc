"""The review step in a real browser: rows imported without their invalid emails, and an upsert's before → after
(#13 "Done when")."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from primepre.customers.models import Customer
from primepre.imports.models import ImportJob

from ..customers.factories import make_customer
from ..imports.helpers import HEADER, write_csv
from .conftest import screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the real worker process needs a shared database"),
]


def _upload(page: Page, path: Path, mode: str = "create") -> None:
    page.goto(f"{page.base}/imports/new/")  # type: ignore[attr-defined]
    page.set_input_files("#file", str(path))
    page.locator(f'input[name="mode"][value="{mode}"]').check()
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)


def test_invalid_emails_imported_without_the_email(page: Page, tmp_path: Path, database_backend, start_worker) -> None:
    start_worker("browser-review")
    rows = [
        ["PM1 AMA", "Ama", "Owusu", "0241234567", "ama@", "", ""],
        ["PM2 YAW", "Yaw", "Boateng", "0201234567", "yaw(at)example.com", "", ""],
        ["PM3 KOFI", "Kofi", "Mensah", "0551234567", "kofi@example.com", "", ""],
        ["PM4 ESI", "Esi", "Addo", "12", "esi@", "", ""],  # a bad phone: fails whatever the choice
    ]
    _upload(page, write_csv(tmp_path / "emails.csv", HEADER, rows))
    expect(page.locator('[data-count="created"]')).to_have_text("1")
    expect(page.locator("#invalid-optional")).to_contain_text("2 rows fail only on that")

    page.get_by_label("Import the row without those cells").check()
    page.locator("#invalid-optional").get_by_role("button", name="Preview again").click()
    expect(page.locator("#warning-count")).to_contain_text("2 rows will go in without", timeout=60_000)
    expect(page.locator('[data-count="created"]')).to_have_text("3")
    expect(page.locator("#warnings")).to_contain_text("yaw(at)example.com")
    screenshot(page, "review-warnings")

    page.get_by_role("button", name="Import 3 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.locator("#warning-count")).to_contain_text("2 rows went in without")
    emails = dict(Customer.objects.values_list("shipping_mark", "email"))
    assert emails == {"PM1 AMA": None, "PM2 YAW": None, "PM3 KOFI": "kofi@example.com"}
    assert ImportJob.objects.get().row_warnings.count() == 2


def test_an_upsert_shows_before_and_after(page: Page, tmp_path: Path, database_backend, start_worker) -> None:
    start_worker("browser-upsert")
    make_customer(shipping_mark="PM1 AMA", first_name="Ama", last_name="Owusu", phone="+233241234567")
    make_customer(shipping_mark="PM2 YAW", first_name="Yaw", last_name="Boateng", phone="+233201234567")
    rows = [
        ["PM1 AMA", "Ama", "Owusu-Ansah", "0241234567", "", "Volta", ""],
        ["PM2 YAW", "Yaw", "Boateng", "0201234567", "", "", ""],  # unchanged
    ]
    _upload(page, write_csv(tmp_path / "upsert.csv", HEADER, rows), mode="upsert")
    changes = page.locator("#changes")
    expect(changes).to_contain_text("What will change")
    expect(changes.locator("tbody tr")).to_have_count(2)  # last name and region of one customer
    expect(changes.locator("td.before del").first).to_have_text("Owusu")
    expect(changes.locator("td.after ins").first).to_have_text("Owusu-Ansah")
    expect(changes).to_contain_text("Volta")
    screenshot(page, "review-upsert-diff")
    assert Customer.objects.get(shipping_mark="PM1 AMA").last_name == "Owusu"

    page.get_by_role("button", name="Import 0 new and update 1").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.locator("#changes")).to_contain_text("What changed")
    expect(page.locator("#changes td.after ins").first).to_have_text("Owusu-Ansah")
    assert Customer.objects.get(shipping_mark="PM1 AMA").last_name == "Owusu-Ansah"
