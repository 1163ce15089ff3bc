"""Shipping-mark folding: what staff consider the same label must collide, what they consider different must not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from primepre.customers.marks import clean_mark, mark_key
from primepre.customers.regions import Region, parse_region

SAME_AS_PM4_KOFI = [
    "PM4 KOFI",
    "pm4 kofi",
    "PM4-KOFI",
    "PM4  Kofi",
    "PM4KOFI",
    "pm4_kofi",
    "PM4.KOFI",
    "PM4/KOFI",
    " PM4 KOFI ",
    "PM4\tKOFI",
    "PM4\u00a0KOFI",
    "ＰＭ４ ＫＯＦＩ",  # full-width, typed on a Chinese keyboard
    "PM4 KOFÍ",
    "PM4 (KOFI)",
    "PM4 - KOFI",
    "P.M.4 KOFI",
    "PM4 KOFI.",
    "pM4 kOfI",
    "PM4 • KOFI",
    "PM4\u200bKOFI",  # zero-width space
]


@pytest.mark.parametrize("mark", SAME_AS_PM4_KOFI)
def test_spellings_of_one_mark_collide(mark: str) -> None:
    assert mark_key(mark) == "pm4kofi"


DIFFERENT = [
    ("PM4 KOFI", "PM5 KOFI"),
    ("PM4 KOFI", "PM4 KOFI2"),
    ("PM4 KOFI", "PM4 KOJO"),
    ("PM4 AMA", "PM4 AMAA"),
    ("PM 1", "PM 11"),
    ("GZ-100", "GZ-1000"),
    ("李 KOFI", "王 KOFI"),  # Chinese names are kept, not dropped
    ("Ōsei", "Osei 2"),
    ("AKOS", "AKO5"),
    ("PM4 KOFI", ""),
]


@pytest.mark.parametrize(("one", "other"), DIFFERENT)
def test_different_marks_stay_different(one: str, other: str) -> None:
    assert mark_key(one) != mark_key(other)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (None, ""),
        ("", ""),
        ("---", ""),
        ("   ", ""),
        (12345, "12345"),
        ("Straße 1", "strasse1"),
        ("李明", "李明"),
    ],
)
def test_edge_values(raw: object, key: str) -> None:
    assert mark_key(raw) == key


def test_clean_mark_keeps_what_was_typed_but_tidies_spaces() -> None:
    assert clean_mark("  PM4   Kofi ") == "PM4 Kofi"
    assert clean_mark(None) == ""
    assert clean_mark(104.0) == "104"


@settings(max_examples=800, deadline=None)
@given(st.one_of(st.text(), st.integers(), st.floats(), st.none()))
def test_mark_key_is_total_and_idempotent(raw: object) -> None:
    key = mark_key(raw)
    assert isinstance(key, str)
    assert mark_key(key) == key
    assert key == key.strip() and " " not in key


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1),
    st.sampled_from([" ", "-", "  ", ".", "_", " / "]),
)
def test_case_and_separators_never_matter(word: str, separator: str) -> None:
    assert mark_key(f"PM4{separator}{word}") == mark_key(f"pm4 {word.upper()}") == mark_key(f"PM4{word.lower()}")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("Greater Accra", "AA"),
        ("greater accra region", "AA"),
        ("GH-AA", "AA"),
        ("aa", "AA"),
        ("Accra", "AA"),
        ("Gt. Accra", "AA"),
        ("ASHANTI", "AH"),
        ("Kumasi", "AH"),
        ("Brong-Ahafo", "BO"),
        ("Bono East", "BE"),
        ("Volta Region", "TV"),
        ("Western North", "WN"),
        ("Upper West", "UW"),
        ("North-East", "NE"),
        ("", ""),
        (None, ""),
        ("Lagos", None),
    ],
)
def test_parse_region(raw: object, code: str | None) -> None:
    assert parse_region(raw) == code


def test_all_sixteen_regions_parse_from_their_labels_and_codes() -> None:
    assert len(Region.values) == 16
    for region in Region:
        assert parse_region(region.label) == region.value
        assert parse_region(region.value.lower()) == region.value


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_fast_path_agrees_with_the_unicode_path(text: str) -> None:
    from primepre.customers.marks import mark_key_unicode

    assert mark_key(text) == mark_key_unicode(text)
