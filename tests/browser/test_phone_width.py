"""Every page fits a phone (390×844) without scrolling sideways: tables scroll inside their own box, filters and the
nav wrap (issue #13, section 5)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from primepre.imports.models import ImportJob

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from ..imports.helpers import FILES, run_import
from .conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = {"width": 390, "height": 844}
PAGES = [
    "/",
    "/customers/",
    "/customers/{customer}/",
    "/imports/",
    "/imports/new/",
    "/imports/new/?schema=goods",
    "/imports/{job}/",
    "/goods/",
    "/goods/unknown-marks/",
    "/sms/",
    "/sms/send/",
    "/sms/outbox/",
    "/login/",
]


def test_every_page_fits_a_phone(page, browser: Browser, live_server, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    customer = make_customer(company_name="Mensah Import & Export Trading Company Limited")
    make_receipt(customer=customer, shipping_mark=customer.shipping_mark)
    make_receipt(shipping_mark="ZZ9 SOMEBODY UNKNOWN")
    job = run_import(FILES / "basic.xlsx", dry_run=True)  # a preview with failing rows: the widest page
    assert ImportJob.objects.get(pk=job.pk).failed
    page.set_viewport_size(PHONE)
    too_wide = {}
    for path in PAGES:
        page.goto(page.base + path.format(customer=customer.pk, job=job.pk))  # type: ignore[attr-defined]
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            culprits = page.evaluate(
                "Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right >"
                " window.innerWidth + 1).slice(-3).map(e => e.tagName + '#' + e.id + '.' + e.className)"
            )
            too_wide[path] = (overflow, culprits)
    assert too_wide == {}, f"pages wider than a phone (px too wide): {too_wide}"
    page.goto(f"{page.base}/imports/{job.pk}/")  # type: ignore[attr-defined]
    screenshot(page, "phone-import-review")
