"""No phone reaches a log line in clear, in any spelling `normalise_phone` reads, however the line encodes it.

The spellings are the phone tests' own (test_phones.py: VALID), drawn for any Ghana mobile; a leak is any 7 digits in
a row of the number's national part, in the line as written, URL-decoded (up to three times) or NFKC-folded.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from urllib.parse import quote, quote_plus, unquote_plus

import pytest
from django.http import QueryDict
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.log import RequestIdFilter
from primepre.common.phonemask import loggable_query, mask_phones_in_log
from primepre.customers.phones import normalise_phone

from .test_phones import GHANA_PREFIXES


def _wide(text: str) -> str:
    """Full-width forms (what Chinese keyboards type): ASCII ! … ~ → U+FF01 …, space → U+3000."""
    return "".join("\u3000" if ch == " " else chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def _spaced(n: str, sep: str) -> str:
    return f"{n[:2]}{sep}{n[2:5]}{sep}{n[5:]}"


# As people type them: each of test_phones.VALID's string spellings, for any national number `n` (9 digits).
TYPED: list[Callable[[str], str]] = [
    lambda n: f"0{n}",
    lambda n: f"+233{n}",
    lambda n: f"233{n}",
    lambda n: f"00233{n}",
    lambda n: "+233 " + _spaced(n, " "),
    lambda n: "0" + _spaced(n, " "),
    lambda n: "0" + _spaced(n, "-"),
    lambda n: "0" + _spaced(n, "."),
    lambda n: f"(0{n[:2]}) {n[2:5]} {n[5:]}",
    lambda n: "+233 (0)" + _spaced(n, " "),
    lambda n: f"+233(0){n}",
    lambda n: "+233-" + _spaced(n, "-"),
    lambda n: "00 233 " + _spaced(n, " "),
    lambda n: f"tel:+233{n}",
    lambda n: f"TEL: 0{n}",
    lambda n: "Tel. 0" + _spaced(n, " "),
    lambda n: f"  0{n}  ",
    lambda n: f"'0{n}",
    lambda n: f"0{n} ext 12",
    lambda n: f"0{n[:3]}\u00a0{n[3:6]}\u00a0{n[6:]}",
    lambda n: _wide(f"0{n}"),
    lambda n: _wide("+233 " + _spaced(n, " ")),
    lambda n: f"\u200e+233{n}",
    lambda n: f"0{n}\t",
]
# What Excel does to the number: told apart from any other number only where the value is known to be a search.
EXCEL: list[Callable[[str], str]] = [
    lambda n: n,
    lambda n: f"{n}.0",
    lambda n: f"2.33{n}E+11",
    lambda n: f"2.33{n}e11",
]


def _encoded(value: str, how: str) -> str:
    if how == "quote":
        return quote(value, safe="")
    if how == "quote_plus":
        return quote_plus(value)
    if how == "query":
        query = QueryDict(mutable=True)
        query.update({"search": value, "region": "AA"})
        return query.urlencode()
    return value


def leaks(line: str, national: str) -> bool:
    """True when 7 digits in a row of the national number can be read in the line, however it is decoded."""
    views = {line}
    text = line
    for _ in range(3):
        text = unquote_plus(text)
        views.add(text)
    for view in views:
        compact = re.sub(r"[\s\-./()\[\]+'\"]", "", unicodedata.normalize("NFKC", view))
        if any(national[i : i + 7] in compact for i in range(len(national) - 6)):
            return True
    return False


nationals = st.builds(
    lambda prefix, line: f"{prefix}{line:07d}", st.sampled_from(GHANA_PREFIXES), st.integers(0, 9_999_999)
)


def test_the_spellings_are_ones_normalise_phone_reads() -> None:
    for style in TYPED + EXCEL:
        assert normalise_phone(style("241234567")).e164 == "+233241234567", style("241234567")


@settings(max_examples=500, deadline=None)
@given(nationals, st.sampled_from(TYPED), st.sampled_from(["plain", "quote", "quote_plus", "query"]), st.booleans())
def test_every_typed_spelling_is_masked_in_any_log_line(
    national: str, style: Callable[[str], str], how: str, with_words: bool
) -> None:
    value = ("kofi " if with_words else "") + style(national)
    line = "[TEST] to=" + _encoded(value, how) + " other=1"
    masked = mask_phones_in_log(line)
    assert not leaks(masked, national), (line, masked)


@settings(max_examples=300, deadline=None)
@given(nationals, st.sampled_from(TYPED + EXCEL), st.sampled_from(["plain", "quote", "quote_plus"]))
def test_a_query_for_the_log_masks_every_spelling_even_encoded_ones(
    national: str, style: Callable[[str], str], how: str
) -> None:
    query = QueryDict(mutable=True)
    query.update({"search": _encoded(style(national), how), "created_after": "2026-01-01"})
    logged = loggable_query(query)
    assert not leaks(logged, national), logged
    assert "created_after=2026-01-01" in logged  # dates stay readable


def test_numbers_that_are_not_phones_stay_whole() -> None:
    text = "rows=2000/100000 seconds=0.0123456789 ip=127.0.0.1 at=2026-11-29 17:39:41,601 sha=3927147f170c0241234567aa"
    assert mask_phones_in_log(text) == text


# --- end to end: the export views' [CUSTOMER-EXPORT] and [GOODS-EXPORT] lines -------------------------------------


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """The configured console handler (the one with the masking filter), writing into a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nationals, st.sampled_from(TYPED + EXCEL), st.sampled_from(["plain", "quote"]))
def test_the_export_log_lines_never_show_the_searched_phone(
    console: io.StringIO, admin_user, national: str, style: Callable[[str], str], how: str
) -> None:
    console.seek(0)
    console.truncate()
    client = Client()
    client.force_login(admin_user)
    search = _encoded(style(national), how)
    for url in ("/customers/export.csv", "/goods/export.csv"):
        b"".join(client.get(url, {"search": search, "region": "AA"}).streaming_content)  # read as a client does
    lines = [line for line in console.getvalue().splitlines() if "-EXPORT]" in line]
    assert len(lines) == 2, console.getvalue()
    for line in lines:
        tail = line.split("-EXPORT]", 1)[1]  # the message; the formatter's own timestamp is not a phone
        assert not leaks(tail, national), line
