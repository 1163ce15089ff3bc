"""The customers page keeps its filter in sight: the ticked regions are checked, named on the closed region picker,
and listed with every other filter in force above the results, each with a link that drops it (#13 section 3)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs

import pytest
from django.test import Client

from .factories import make_customer

pytestmark = pytest.mark.django_db


def _chips(html: str) -> dict[str, dict]:
    """Each chip's value → the query its remove link leads to."""
    found = re.findall(r'<span class="chip">([^<]+) <a href="\?([^"]*)"', html)
    return {value: parse_qs(unescape(query)) for value, query in found}


def test_ticked_regions_are_checked_named_and_listed(client_of: Client) -> None:
    make_customer(region="AH")
    make_customer(region="TV")
    make_customer(region="AA")
    response = client_of.get("/customers/", {"region": ["TV", "AH"], "sort": "name", "page": "1"})
    html = response.content.decode()
    assert '<span id="result-count">2</span>' in html
    # Checked in the picker, which names them (in the picker's order) while closed.
    checked = re.findall(r'<input type="checkbox" name="region" value="(\w+)" checked>', html)
    assert sorted(checked) == ["AH", "TV"]
    assert '<summary id="region-summary">Ashanti, Volta</summary>' in html
    # Listed above the results; each remove link keeps the rest of the filter and the sort, back on page 1.
    assert '<span class="chip-name">Regions:</span>' in html
    chips = _chips(html)
    assert chips["Ashanti"] == {"region": ["TV"], "sort": ["name"]}
    assert chips["Volta"] == {"region": ["AH"], "sort": ["name"]}
    assert '<a href="?sort=name" id="clear-filters">Clear all</a>' in html


def test_no_region_says_any_and_lists_no_filters(client_of: Client) -> None:
    html = client_of.get("/customers/").content.decode()
    assert '<summary id="region-summary">Any region</summary>' in html
    assert 'id="active-filters"' not in html and " checked>" not in html


def test_every_kind_of_filter_is_listed(client_of: Client) -> None:
    query = {
        "region": "AA",
        "customer_type": "business",
        "search": "kofi",
        "created_after": "2026-01-01",
        "created_before": "2026-02-01",
        "import_job": "7",
    }
    html = client_of.get("/customers/", query).content.decode()
    assert '<span class="chip-name">Region:</span>' in html
    chips = _chips(html)
    assert set(chips) == {"Greater Accra", "Business", "“kofi”", "from 01 Jan 2026", "until 01 Feb 2026", "#7"}
    assert "customer_type" not in chips["Business"] and chips["Business"]["search"] == ["kofi"]
    assert "created_after" not in chips["from 01 Jan 2026"] and "created_before" in chips["from 01 Jan 2026"]


def test_another_fields_error_does_not_hide_the_regions(client_of: Client) -> None:
    html = client_of.get("/customers/", {"region": ["AH", "TV"], "created_after": "not a date"}).content.decode()
    assert "Some filters are not valid" in html
    assert '<summary id="region-summary">Ashanti, Volta</summary>' in html
    assert set(_chips(html)) == {"Ashanti", "Volta"}  # the date that did not validate is not listed as in force


def test_an_unknown_region_code_is_refused_not_named(client_of: Client) -> None:
    html = client_of.get("/customers/", {"region": ["XX"]}).content.decode()
    assert "Some filters are not valid" in html and '<summary id="region-summary">Any region</summary>' in html
