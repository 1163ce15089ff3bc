"""The mapping step on a phone and as the selects change (issue #24 items 12 and 13): at 390×844 each column of the
file is a card (its header, its first values, then its select, all on screen); headers never seen are suggested under
their column, never chosen for it; "No column is chosen for …" follows the selects before the preview runs again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Locator, Page, expect

from primepre.imports.models import ImportJob

from ..imports.helpers import write_csv
from .conftest import screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the real worker process needs a shared database"),
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
# `Client Name` is a header the engine knows, but one known header is no header row: nothing is mapped by itself.
ODD = ["Client Name", "Numba", "Code"]
ODD_ROWS = [["Kwame Mensah", "0241234567", "PM9 KWAKU"], ["Esi Owusu", "0201234567", "PM10 ESI"]]
TAIL = ": choose one above, or tick “Make a shipping mark for each row that has none” below."
NOTHING_CHOSEN = "No column is chosen for Phone, First Name, Last Name, Shipping Mark" + TAIL


def _upload(page: Page, path: Path) -> None:
    page.goto(f"{page.base}/imports/new/")  # type: ignore[attr-defined]
    page.set_input_files("#file", str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#needs-mapping")).to_be_visible(timeout=60_000)


def _box(locator: Locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    return box


def _assert_fits_the_phone(page: Page) -> None:
    """No sideways scroll: neither the page nor the mapping's own scroll box."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    scroll = page.locator("#mapping-form .scroll")
    assert scroll.evaluate("box => box.scrollWidth <= box.clientWidth"), "the mapping's box scrolls sideways"


def _assert_is_a_card(card: Locator) -> None:
    """Within one card and the phone's width: the header, then the first values, then the select below them."""
    outer, header, samples, select = (
        _box(x) for x in (card, card.locator("th"), card.locator("td.samples"), card.locator("select"))
    )
    assert select["x"] >= 0 and select["x"] + select["width"] <= PHONE["width"], f"select off-screen: {select}"
    assert select["width"] >= outer["width"] * 0.8, "the select does not take the card's width"
    assert header["y"] + header["height"] <= samples["y"] + 1 and samples["y"] + samples["height"] <= select["y"] + 1
    for inner in (header, samples, select):
        assert outer["x"] <= inner["x"] and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
        assert outer["y"] <= inner["y"] and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1


def test_each_column_is_a_card_on_a_phone(page: Page, tmp_path: Path, database_backend, start_worker) -> None:
    start_worker("browser-mapping-phone")
    page.set_viewport_size(PHONE)
    _upload(page, write_csv(tmp_path / "odd.csv", ODD, ODD_ROWS))
    cards = page.locator("#mapping-form tbody tr")
    expect(cards).to_have_count(3)
    for index, header in enumerate(ODD):
        card = cards.nth(index)
        expect(card.locator("th")).to_contain_text(f"{header} ({'ABC'[index]})")
        expect(card.locator("td.samples")).to_have_text(" · ".join(row[index] for row in ODD_ROWS))
        _assert_is_a_card(card)
    _assert_fits_the_phone(page)
    screenshot(page, "mapping-phone-cards")

    page.get_by_label("Client Name", exact=True).select_option(label="Name")
    page.get_by_label("Numba", exact=True).select_option(label="Phone *")
    page.get_by_label("Code", exact=True).select_option(label="Shipping Mark *")
    _assert_fits_the_phone(page)
    page.get_by_role("button", name="Use these columns and preview again").click()
    expect(page.locator("#status")).to_contain_text("preview, nothing written yet", timeout=60_000)
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    expect(page.get_by_label("Code", exact=True)).to_have_value("shipping_mark")
    _assert_fits_the_phone(page)
    screenshot(page, "mapping-phone-previewed")
    # Nothing is missing, so the server wrote no message: un-choosing the mark makes one, under the hint.
    expect(page.locator("#missing-fields")).to_have_count(0)
    page.get_by_label("Code", exact=True).select_option(label="Don't import this column")
    expect(page.locator("p.hint + #missing-fields")).to_have_text("No column is chosen for Shipping Mark.")


# Shipping Mark / Code's values are no marks: its header holds "shipping mark". Then a column of `PM9 KWAKU` under a
# meaningless header: its values say it is the mark, before any header's words, and a field is suggested only once.
MARK_BY_HEADER = (
    ["Full Names", "Contact Person Cell", "Shipping Mark / Code", "Area"],
    [["Kwaku Mensah", "0241234567", "KW/017", "Ashanti"], ["Esi Owusu", "0201234567", "ES/022", "Volta"]],
    ["Name", "Phone", "Shipping Mark", "Region"],
)
MARK_BY_VALUES = (
    ["Ref", "Full Names", "Contact Person Cell", "Area", "Shipping Mark / Code"],
    [
        ["PM9 KWAKU", "Kwaku Mensah", "0241234567", "Ashanti", "KW/017"],
        ["PM10 ESI", "Esi Owusu", "0201234567", "Volta", "ES/022"],
    ],
    ["Shipping Mark", "Name", "Phone", "Region", None],
)


def _assert_suggested_not_chosen(page: Page, headers: list[str], suggested: list[str | None], phone: bool) -> None:
    for index, (header, label) in enumerate(zip(headers, suggested, strict=True)):
        select = page.get_by_label(header, exact=True)
        expect(select).to_have_value("")  # nothing chosen by itself
        note = page.locator(f"#suggested-{index}")
        if label is None:
            expect(note).to_have_count(0)
            continue
        expect(note).to_have_text(f"Suggested: {label} (not used until you choose it and preview again)")
        if phone:  # under its own select, on screen
            below, box = _box(note), _box(select)
            assert below["y"] >= box["y"] + box["height"] and below["x"] + below["width"] <= PHONE["width"]


@pytest.mark.parametrize("case", [MARK_BY_HEADER, MARK_BY_VALUES], ids=["mark-by-header", "mark-by-values"])
def test_headers_never_seen_are_suggested_never_applied(
    page: Page, tmp_path: Path, database_backend, start_worker, case: tuple[Any, ...]
) -> None:
    headers, rows, suggested = case
    start_worker("browser-suggested")
    page.set_viewport_size(DESKTOP)
    _upload(page, write_csv(tmp_path / "unseen.csv", headers, rows))
    expect(page.locator("#missing-fields")).to_have_text(NOTHING_CHOSEN)
    _assert_suggested_not_chosen(page, headers, suggested, phone=False)
    page.set_viewport_size(PHONE)
    _assert_suggested_not_chosen(page, headers, suggested, phone=True)
    _assert_fits_the_phone(page)
    screenshot(page, f"mapping-phone-suggested-{'values' if suggested[0] == 'Shipping Mark' else 'header'}")
    assert ImportJob.objects.get().column_mapping["fields"] == {}


def test_the_missing_fields_message_follows_the_selects(
    page: Page, tmp_path: Path, database_backend, start_worker
) -> None:
    start_worker("browser-missing-live")
    _upload(page, write_csv(tmp_path / "odd.csv", ODD, ODD_ROWS))
    message = page.locator("#missing-fields")
    expect(message).to_have_text(NOTHING_CHOSEN)  # as the server says it
    code = page.get_by_label("Code", exact=True)

    code.select_option(label="Shipping Mark *")
    expect(message).to_have_text(f"No column is chosen for Phone, First Name, Last Name{TAIL}")
    page.get_by_label("Client Name", exact=True).select_option(label="Name")  # takes the place of first and last
    expect(message).to_have_text(f"No column is chosen for Phone{TAIL}")
    code.select_option(label="Don't import this column")
    expect(message).to_have_text(f"No column is chosen for Phone, Shipping Mark{TAIL}")
    page.get_by_label("Numba", exact=True).select_option(label="Phone *")
    expect(message).to_have_text(f"No column is chosen for Shipping Mark{TAIL}")
    page.get_by_label("Make a shipping mark for each row that has none").check()
    expect(message).to_be_hidden()
    page.get_by_label("Make a shipping mark for each row that has none").uncheck()
    expect(message).to_have_text(f"No column is chosen for Shipping Mark{TAIL}")
    code.select_option(label="Shipping Mark *")
    expect(message).to_be_hidden()
    screenshot(page, "mapping-missing-fields-live")
    assert ImportJob.objects.get().status == "needs_mapping"  # nothing was sent
