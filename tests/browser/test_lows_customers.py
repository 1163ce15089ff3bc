"""In Chromium, issue #24's Lows in the customers and SMS pages: the composer's placeholder buttons type at the
cursor and the preview follows the text as the longest recipient gets it (composer.js under the page's CSP); a
phone reads nationally with E.164 on hover; the customer page reads, Edit leads to the form and back; the icon is
found; and axe finds nothing on these pages, at a desktop's and a phone's width."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page, Response, expect

from primepre.sms.models import SmsMessage

from ..customers.factories import make_customer
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = {"width": 390, "height": 844}
AXE = Axe()


def _problems(page: Page) -> list[str]:
    """Console errors (a CSP refusal among them) and failed requests, collected while the test runs."""
    problems: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    def response(answer: Response) -> None:
        if answer.status >= 400:
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    return problems


def _violations(page: Page, name: str) -> list[str]:
    found = AXE.run(page).response["violations"]
    return [
        f"{name}: {item['id']} at {', '.join(map(str, node['target']))}" for item in found for node in item["nodes"]
    ]


def test_placeholder_buttons_type_at_the_cursor_and_the_preview_follows(page: Page) -> None:
    make_customer(region="AA", first_name="Ama", shipping_mark="PM1 AMA")
    make_customer(region="AA", first_name="Christabel", shipping_mark="PM2 CHRISTABEL")
    problems = _problems(page)
    page.goto(f"{page.base}/sms/send/?region=AA")  # type: ignore[attr-defined]
    expect(page.locator("code[data-insert]")).to_have_count(0)  # each is a button now
    message = page.get_by_label("Message")
    message.fill("Hello , goods arrive Friday.")
    message.evaluate("(box) => box.setSelectionRange(6, 6)")  # the cursor after "Hello "
    page.get_by_role("button", name="Insert {first_name}").click()
    expect(message).to_have_value("Hello {first_name}, goods arrive Friday.")
    expect(message).to_be_focused()
    assert message.evaluate("(box) => box.selectionStart") == len("Hello {first_name}")  # typing goes on after it
    longest = "Hello Christabel, goods arrive Friday."
    expect(page.locator("#longest-text")).to_have_text(longest)
    expect(page.locator("#segments")).to_have_text(
        f"At most {len(longest)} characters, GSM-7, 1 segment, filled in with the longest values"
    )
    page.get_by_role("button", name="Check the count and the segments").click()
    expect(page.locator("#longest-text")).to_have_text(longest)  # the server's preview says the same
    expect(page.locator("#send")).to_have_text("Send to 2 customers (1 segment each)")
    screenshot(page, "sms-composer-placeholders")
    message.fill("Ship Friday")  # no placeholder: the count is the text's own, no preview
    expect(page.locator("#longest")).to_be_hidden()
    expect(page.locator("#segments")).to_have_text("11 characters, GSM-7, 1 segment")
    assert problems == []


def test_the_customer_page_reads_and_edit_leads_to_the_form_and_back(page: Page) -> None:
    customer = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", phone="+233240000001", region="AA")
    SmsMessage.objects.create(
        customer=customer, phone=customer.phone, kind="welcome", body="Welcome", encoding="GSM-7", segments=1,
        status="failed", idempotency_key="welcome", error_code="21610",
    )  # fmt: skip
    base = page.base  # type: ignore[attr-defined]
    problems = _problems(page)
    page.goto(f"{base}/customers/")
    phone = page.locator("td .phone").first
    expect(phone).to_have_text("024 000 0001")
    expect(phone).to_have_attribute("title", "+233240000001")
    page.get_by_role("link", name="PM4 KOFI").click()
    expect(page.locator("#customer-facts")).to_contain_text("Greater Accra")
    expect(page.locator("#customer-sms")).to_contain_text("Welcome")
    found = _violations(page, "customer page")
    page.get_by_role("link", name="Edit").click()
    page.wait_for_url(f"{base}/customers/{customer.pk}/edit/")
    found += _violations(page, "edit page")
    page.get_by_label("First name").fill("Kwame")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{base}/customers/{customer.pk}/")
    expect(page.get_by_role("status")).to_have_text("Saved PM4 KOFI.")
    expect(page.locator("#customer-facts")).to_contain_text("Kwame")
    icon = page.evaluate("fetch('/favicon.ico').then(r => [r.status, r.headers.get('content-type')])")
    assert icon[0] == 200 and "icon" in icon[1]
    page.goto(f"{base}/sms/")
    found += _violations(page, "SMS overview with a failure to retry")
    page.set_viewport_size(PHONE)
    for path in (f"/customers/{customer.pk}/", f"/customers/{customer.pk}/edit/", "/sms/send/?region=AA"):
        page.goto(base + path)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, path
        found += _violations(page, f"{path} on a phone")
    assert found == [] and problems == []
