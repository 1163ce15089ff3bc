"""axe-core finds no accessibility violation on any page a Warehouse user reaches (issue #24, "Done when").

A Warehouse user signs in through the real form and visits every page reachable by links from the dashboard (the
nav's pages, then theirs: one URL per route), with realistic data present, plus the pages only a step reaches: goods
imports previewed with failing rows (with a header and without), one that succeeded, a customer with goods, the
confirm-assignment step of an unknown mark, the queue after the assignment (its undo offer), the page of the mark once
gone, a receipt put on hold, the 403 page of a page their role may not open, and the sign-in page signed out; at a
desktop's 1366×768 and a phone's 390×844. The crawl includes Django's admin (the nav's "Admin"): its index, the
customers app, the changelists, change and history pages their role may open, the password change page, and the
receipt's admin page once it has a history (its inline table's rows); config/templates/admin/ overrides what axe found
there. axe runs with the package's defaults (every rule axe-core enables by default: WCAG 2.0–2.2 A and AA, and its
best practices). A failure lists every violation: page, rule, impact, node.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import Resolver404, resolve
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from primepre.imports.jobs import create_job
from primepre.imports.models import ImportJob
from primepre.imports.services import execute_job, store_file

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from ..imports.helpers import write_csv
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
PASSWORD = "browser-test-password"
AXE = Axe()
# Links that are no page to check: files, signing out (it would end the crawl's session) and the admin's "View on
# site" (a redirect to a page of the site). The API is left out by its path (`_route`).
NOT_PAGES = (
    "goods:export-csv",
    "customers:export-csv",
    "customers:export-xlsx",
    "import-template",
    "import-errors-xlsx",
    "import-errors-csv",
    "web:logout",
    "admin:logout",
    "admin:view_on_site",
)
# What the crawl must reach for the check to mean anything: a route missing here is a page axe never saw.
MUST_REACH = {
    "web:dashboard",
    "web:account",
    "customers:list",
    "customers:detail",
    "imports:upload",
    "imports:history",
    "imports:detail",
    "goods:list",
    "goods:receipt",
    "goods:unknown-marks",
    "goods:unknown-mark",
    "admin:index",
    "admin:password_change",
    "admin:app_list",
    "admin:customers_customer_changelist",
    "admin:customers_customer_change",
    "admin:goods_goodsreceipt_changelist",
    "admin:goods_goodsreceipt_change",
}
GOODS_HEADER = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS",
                "SPECIFICATIONS", "CBM", "SUPPLIER&TRACKING NO"]  # fmt: skip
GOODS_ROWS = [
    ["PM4 KOFI", "28/11/2026", "", "shoes", "3", "50*40*30", "", "SF1001"],
    ["PM4 KOFFI", "28/11/2026", "", "bags", "2", "", "0.5", "SF1002"],  # misspelt: waits in the queue
    ["PM4 KOFI", "28/11/2026", "", "lamps and a very long description of what is inside", "many", "", "0.2", ""],
    ["MARK003/MARK004", "31/02/2026", "", "tiles", "4", "", "1.2", ""],  # two marks and no such day
]


def _log_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture
def warehouse_page(live_server, warehouse_user, settings, tmp_path: Path, browser: Browser) -> Iterator[Page]:
    """The Warehouse user signed in through the real form, in a fresh browser context."""
    settings.MEDIA_ROOT = tmp_path / "media"
    warehouse_user.set_password(PASSWORD)
    warehouse_user.save()
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    _log_in(page, live_server.url, warehouse_user.username)
    page.base = live_server.url  # type: ignore[attr-defined]
    yield page
    context.close()


def _goods_job(path: Path, user: Any, *, dry_run: bool) -> ImportJob:
    """A goods import run in-process (as the worker would) by `user`."""
    job = create_job(store_file(path), file_name=path.name, user=user, dry_run=dry_run, options={}, schema="goods")
    return execute_job(job)


def _realistic_data(user: Any, tmp_path: Path) -> dict[str, Any]:
    """Customers, receipts (some unidentified, so the queue has marks), and goods imports in every state the review
    page shows: previewed with failing rows, headerless with failing rows, succeeded."""
    kofi = make_customer(shipping_mark="PM4 KOFI", first_name="Kofi", last_name="Mensah")
    make_customer(company_name="Mensah Import & Export Trading Company Limited")
    today = timezone.localdate()
    receipt = make_receipt(customer=kofi, shipping_mark="PM4 KOFI", received_on=today, cartons=3, cbm=Decimal("0.36"))
    make_receipt(shipping_mark="PM4 KOFFI", received_on=today - dt.timedelta(days=1))
    make_receipt(shipping_mark="ZZ9 SOMEBODY UNKNOWN", received_on=today)
    earlier = [["PM4 KOFI", "27/11/2026", "", "chairs", "5", "", "1.5", "SF0999"]]
    succeeded = _goods_job(write_csv(tmp_path / "goods-27-nov.csv", GOODS_HEADER, earlier), user, dry_run=False)
    previewed = _goods_job(write_csv(tmp_path / "goods-28-nov.csv", GOODS_HEADER, GOODS_ROWS), user, dry_run=True)
    headerless = _goods_job(write_csv(tmp_path / "goods-old.csv", None, GOODS_ROWS), user, dry_run=True)
    assert (succeeded.status, succeeded.created) == ("succeeded", 1)
    assert (previewed.status, headerless.status, headerless.header_row) == ("previewed", "previewed", None)
    assert previewed.failed == headerless.failed == 2
    return {
        "import succeeded": f"/imports/{succeeded.pk}/",
        "import previewed, failing rows": f"/imports/{previewed.pk}/",
        "import headerless, failing rows": f"/imports/{headerless.pk}/",
        "customer with goods": f"/customers/{kofi.pk}/",
        "receipt": f"/goods/{receipt.pk}/",
    }


def _violations(page: Page, name: str) -> list[str]:
    """Every violation axe reports on the page as it stands: rule, impact, each node's target."""
    found = AXE.run(page).response["violations"]
    return [
        f"{name}: {violation['id']} ({violation['impact']}) at {', '.join(map(str, node['target']))}"
        for violation in found
        for node in violation["nodes"]
    ]


def _route(url: str, base: str) -> str | None:
    """The route name of a same-site link, or None for a link to elsewhere, a file or the API."""
    url = urldefrag(url).url
    if not url.startswith(base + "/"):
        return None
    path = urlsplit(url).path
    if path.startswith(("/api/", "/static/", "/media/")):
        return None
    try:
        name = resolve(path).view_name
    except Resolver404:
        return None
    return None if name in NOT_PAGES else name


def _crawl(page: Page, found: list[str]) -> set[str]:
    """The dashboard and every page reachable from it by links (the nav's, then each page's own), one URL per route
    (the first link found to it), each checked with axe. Returns the routes visited."""
    base = page.base  # type: ignore[attr-defined]
    visited: dict[str, str] = {"web:dashboard": f"{base}/"}
    frontier = [f"{base}/"]
    while frontier:
        url = frontier.pop(0)
        page.goto(url)
        found += _violations(page, url.removeprefix(base))
        for link in page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)"):
            route = _route(link, base)
            if route is not None and route not in visited:
                visited[route] = urldefrag(link).url
                frontier.append(visited[route])
    return set(visited)


def _steps(page: Page, receipt_url: str) -> list[str]:
    """The pages only a step reaches, each checked: the confirm-assignment step of the misspelt mark (a customer
    typed in), the queue after the assignment with its undo offer, the mark's page once it is gone, the receipt on
    hold with its history, then its admin page. Last, as they change the data."""
    base = page.base  # type: ignore[attr-defined]
    page.goto(f"{base}/goods/unknown-marks/pm4koffi/")
    page.locator('input[name="customer_search"]').first.fill("PM4 KOFI")
    page.locator('button[name="action"][value="assign"]').first.click()
    expect(page.locator("#assign-customer")).to_contain_text("Kofi Mensah")
    found = _violations(page, "confirm assignment")
    page.locator("#confirm-assign").click()
    page.wait_for_url("**/goods/unknown-marks/?assigned=pm4koffi")
    found += _violations(page, "queue after an assignment")
    page.goto(f"{base}/goods/unknown-marks/pm4koffi/")
    expect(page.locator("h1")).to_have_text("Mark pm4koffi")
    found += _violations(page, "a mark no longer queued (404)")
    page.goto(base + receipt_url)
    page.get_by_label("Why (kept in the history").fill("customs paperwork missing")
    page.get_by_role("button", name="Put on hold").click()
    expect(page.locator("#receipt-history")).to_contain_text("customs paperwork missing")
    found += _violations(page, "receipt on hold, with its history")
    # The crawl's receipt may have no history: this one now has, so its admin page shows the inline table's rows.
    page.goto(f"{base}/admin/goods/goodsreceipt/{receipt_url.strip('/').rsplit('/', 1)[-1]}/change/")
    expect(page.locator("#changes-group tbody tr.has_original")).not_to_have_count(0)
    return found + _violations(page, "receipt's admin page, with its history (inline rows)")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366x768", "390x844"])
def test_no_axe_violation_on_a_warehouse_users_pages(
    warehouse_page: Page, warehouse_user, browser: Browser, tmp_path: Path, viewport: dict[str, int]
) -> None:
    page = warehouse_page
    base = page.base  # type: ignore[attr-defined]
    pages = _realistic_data(warehouse_user, tmp_path)
    page.set_viewport_size(viewport)
    found: list[str] = []
    reached = _crawl(page, found)
    assert MUST_REACH <= reached, f"pages the crawl never reached: {sorted(MUST_REACH - reached)}"
    for name, url in pages.items():
        page.goto(base + url)
        found += _violations(page, name)
    page.goto(f"{base}/sms/")  # Warehouse may not send SMS: the app's 403 page
    expect(page.locator("h1")).to_have_text("Not allowed")
    found += _violations(page, "403 page (/sms/)")
    found += _steps(page, pages["receipt"])
    signed_out = browser.new_context(viewport=viewport).new_page()
    signed_out.goto(f"{base}/login/")
    found += _violations(signed_out, "login page, signed out")
    signed_out.context.close()
    assert not found, f"{len(found)} axe violations (page: rule (impact) at node):\n" + "\n".join(found)


WHY_CLIPPED = """() => Array.from(document.querySelectorAll('#failing td.why')).map(cell => {
    const box = cell.closest('.scroll').getBoundingClientRect(), own = cell.getBoundingClientRect();
    return {right: own.right, boxRight: box.right, viewport: window.innerWidth,
            scrollWidth: cell.scrollWidth, clientWidth: cell.clientWidth};
})"""


@pytest.mark.parametrize("header", [GOODS_HEADER, None], ids=["header", "headerless"])
def test_the_why_of_failing_goods_rows_is_not_cut_off(
    warehouse_page: Page, warehouse_user, tmp_path: Path, header: list[str] | None
) -> None:
    """Issue #24 item 8 at 1366×768: the failing-rows table of a goods sheet wraps its "Why" inside the page instead
    of pushing it past the right edge of its scroll box, and that box is a named region reachable with Tab."""
    page = warehouse_page
    rows = [
        GOODS_ROWS[0],  # a good first line: how a sheet without a header is recognised
        [*GOODS_ROWS[2][:7], "SF1234567890123/YT9876543210987 (two parcels, one supplier)"],
        [*GOODS_ROWS[3][:3], "ceramic floor tiles 60x60 polished, 4 per carton, fragile: stack at most 5 high",
         *GOODS_ROWS[3][4:7], "JD0001112223334"],
    ]  # fmt: skip
    job = _goods_job(write_csv(tmp_path / "goods.csv", header, rows), warehouse_user, dry_run=True)
    assert job.failed == 2
    page.goto(f"{page.base}/imports/{job.pk}/")  # type: ignore[attr-defined]
    box = page.get_by_role("region", name="Failing rows")
    expect(box).to_have_attribute("tabindex", "0")
    expect(page.locator("#failing td.why")).to_have_count(2)
    page.locator("#failing").scroll_into_view_if_needed()
    screenshot(page, f"goods-failing-rows-{'headerless' if header is None else 'header'}")
    for cell in page.evaluate(WHY_CLIPPED):
        assert cell["right"] <= min(cell["boxRight"], cell["viewport"]) + 0.5, cell
        assert cell["scrollWidth"] <= cell["clientWidth"], cell
