"""In Chromium: an SMS send is re-checked after an edit; a test text reaches the user's own phone (set on the account
page) through the real twilio client; the customers' region filter keeps the chosen regions in sight at desktop and
phone width; a fully duplicate customer file offers no confirm (#13 sections 2, 3 and 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import Page, expect

from primepre.imports.models import ImportJob
from primepre.sms.backends import reset_backend
from primepre.sms.models import SmsMessage

from ..customers.factories import make_customer
from ..imports.helpers import HEADER, write_csv
from ..sms.fake_twilio import SID, TOKEN, FakeTwilio, start_fake_twilio
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = {"width": 390, "height": 844}
LONG = ("Your goods are in Tema. " * 8).strip()  # 191 GSM-7 characters: 2 segments


@pytest.fixture
def fake(settings) -> Iterator[FakeTwilio]:
    """The live server sends through the real twilio client to a local fake of its API."""
    server, fake, url = start_fake_twilio()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    settings.TWILIO_FROM, settings.TWILIO_API_BASE_URL = "PrimePre", url
    settings.SMS_RATE_PER_SECOND = 1000
    reset_backend()
    yield fake
    server.shutdown()
    reset_backend()


def _no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_sms_recheck_after_an_edit(page: Page, fake: FakeTwilio) -> None:
    for index in range(3):
        make_customer(region="AA", shipping_mark=f"PM{index} ACCRA")
    make_customer(region="AH")
    page.goto(f"{page.base}/sms/send/?region=AA")  # type: ignore[attr-defined]
    page.get_by_label("Message").fill("Ship closes Friday")
    page.get_by_role("button", name="Check the count and the segments").click()
    send = page.locator("#send")
    expect(send).to_have_text("Send to 3 customers (1 segment each)")
    expect(send).to_be_enabled()

    # An edit after the check: the live count follows the text, the send is out of reach until checked again.
    page.get_by_label("Message").fill(LONG)
    expect(page.locator("#segments")).to_have_text(f"{len(LONG)} characters, GSM-7, 2 segments")
    expect(send).to_be_hidden()
    expect(send).to_be_disabled()
    expect(page.locator("#recheck")).to_be_visible()
    screenshot(page, "sms-recheck")
    # Forcing the stale button back does not help: the server sends only the text whose cost the page showed.
    page.evaluate("() => { const b = document.getElementById('send'); b.hidden = false; b.disabled = false; }")
    send.click()
    expect(send).to_have_text("Send to 3 customers (2 segments each)")  # the page shows the edited text's cost
    assert not SmsMessage.objects.exists() and fake.requests == []

    # Typing back the checked text gives the checked send back; checking again states the new cost.
    page.get_by_label("Message").fill("Ship closes Friday")
    expect(send).to_be_hidden()
    page.get_by_label("Message").fill(LONG)
    expect(send).to_be_enabled()
    send.click()
    expect(page.locator("#sms-state")).to_be_visible()  # the overview, after the send
    assert sorted(SmsMessage.objects.values_list("kind", "segments")) == [("group", 2)] * 3
    assert len(fake.requests) == 3 and {request["Body"] for request in fake.requests} == {LONG}


def test_a_test_to_my_phone_set_on_my_account_page(page: Page, fake: FakeTwilio) -> None:
    make_customer(region="AA", first_name="Ama", last_name="Owusu", shipping_mark="PM1 AMA")
    make_customer(region="AA", first_name="Yaw", shipping_mark="PM2 YAW")
    base = page.base  # type: ignore[attr-defined]
    body = "Hello {first_name}, goods for {shipping_mark} arrive Friday."

    page.goto(f"{base}/sms/send/?region=AA")
    page.get_by_label("Message").fill(body)
    page.get_by_role("button", name="Send a test to my phone").click()
    expect(page.locator("#test-result")).to_contain_text("Test not sent: You have no phone number set")
    page.locator("#set-phone").click()

    page.get_by_label("My phone").fill("020 123 4567")
    page.get_by_role("button", name="Save my phone").click()
    page.wait_for_url(f"{base}/sms/send/?region=AA")  # back where the refusal sent them
    expect(page.locator("#test-target")).to_contain_text("to +233201234567")

    page.get_by_label("Message").fill(body)
    page.get_by_role("button", name="Send a test to my phone").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("Test sent to your phone +233201234567, filled in for PM1 AMA (Ama Owusu)")
    expect(result).to_contain_text("“Hello Ama, goods for PM1 AMA arrive Friday.”")
    expect(page.locator("#send")).to_have_text("Send to 2 customers (1 segment each)")  # the real send, one click on
    screenshot(page, "sms-test-send")
    (request,) = fake.requests
    assert (request["To"], request["Body"]) == ("+233201234567", "Hello Ama, goods for PM1 AMA arrive Friday.")
    assert list(SmsMessage.objects.values_list("kind", "customer", "status")) == [("test", None, "sent")]

    result.get_by_role("link", name="outbox").click()
    row = page.locator("#outbox tbody tr").first
    expect(row).to_contain_text("Test to ama.admin")
    expect(row).to_contain_text("+233201234567")
    page.set_viewport_size(PHONE)
    for path in ("/account/", "/sms/send/?region=AA", "/sms/outbox/?kind=test"):
        page.goto(base + path)
        _no_sideways_scroll(page)


def test_the_chosen_regions_stay_in_sight(page: Page, browser) -> None:
    for index, region in enumerate(["AH", "AH", "TV", "AA", "AA", "NP"]):
        make_customer(region=region, shipping_mark=f"PM{index} R")
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/customers/")
    summary = page.locator("#region-summary")
    expect(summary).to_have_text("Any region")
    summary.click()
    page.get_by_role("checkbox", name="Ashanti").check()
    page.get_by_role("checkbox", name="Volta").check()  # far down the list: a 3-row list box scrolled it out of sight
    expect(summary).to_have_text("Ashanti, Volta")  # said as soon as ticked
    page.get_by_role("button", name="Show").click()

    expect(page.locator("#result-count")).to_have_text("3")
    expect(summary).to_have_text("Ashanti, Volta")  # the picker is closed after the reload, and still says it
    expect(page.get_by_role("checkbox", name="Ashanti")).to_be_hidden()
    chips = page.locator("#active-filters")
    expect(chips).to_contain_text("Regions: Ashanti × Volta ×")
    screenshot(page, "customers-regions")
    summary.click()
    expect(page.get_by_role("checkbox", name="Ashanti")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Volta")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Greater Accra")).not_to_be_checked()
    page.keyboard.press("Escape")
    expect(page.get_by_role("checkbox", name="Ashanti")).to_be_hidden()

    # The same at phone width: named on the closed picker, listed above the results, nothing wider than the screen.
    page.set_viewport_size(PHONE)
    page.reload()
    expect(summary).to_have_text("Ashanti, Volta")
    expect(summary).to_be_in_viewport()
    expect(chips).to_be_in_viewport()
    _no_sideways_scroll(page)
    screenshot(page, "phone-customers-regions")
    summary.click()
    _no_sideways_scroll(page)  # the open list stays inside the screen too
    expect(page.get_by_role("checkbox", name="Volta")).to_be_checked()
    page.mouse.click(5, 830)  # a tap elsewhere closes it
    expect(page.get_by_role("checkbox", name="Volta")).to_be_hidden()

    # Dropping one region from the list above the results keeps the other.
    chips.get_by_role("link", name="Remove regions Volta").click()
    expect(page.locator("#result-count")).to_have_text("2")
    expect(summary).to_have_text("Ashanti")
    chips.get_by_role("link", name="Clear all").click()
    expect(page.locator("#result-count")).to_have_text("6")
    expect(summary).to_have_text("Any region")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the real worker process needs a shared database")
def test_a_fully_duplicate_file_offers_no_confirm(page: Page, tmp_path: Path, database_backend, start_worker) -> None:
    start_worker("browser-duplicate")
    rows = [[f"PM{n} DUP", "Ama", f"Owusu{n}", f"024{n:07d}", "", "", ""] for n in range(1, 6)]
    source = write_csv(tmp_path / "customers.csv", HEADER, rows)
    base = page.base  # type: ignore[attr-defined]

    page.goto(f"{base}/imports/new/")
    page.set_input_files("#file", str(source))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    page.get_by_role("button", name="Import 5 new").click()
    expect(page.locator("#status")).to_have_text("Succeeded", timeout=60_000)
    first = ImportJob.objects.get()

    # The same file again, leaving existing customers as they are (the default).
    page.goto(f"{base}/imports/new/")
    page.set_input_files("#file", str(source))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    expect(page.locator("#same-file")).to_contain_text(f"This file was uploaded before: import #{first.pk}")
    expect(page.locator("#already-exist")).to_contain_text("5 rows are already in the directory")
    expect(page.locator("#nothing-to-write")).to_be_visible()
    enabled_confirm = page.locator("button[name=action][value=confirm]:enabled")
    expect(enabled_confirm).to_have_count(0)
    screenshot(page, "import-duplicate-file")
    second = ImportJob.objects.exclude(pk=first.pk).get()
    assert (second.status, second.mode, second.created) == ("previewed", "create", 0)
