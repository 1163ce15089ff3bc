"""The phone fast path (phone_fast.py) gives the library's answers: its validity check is pinned to
`phonenumbers.is_valid_number` for every region, and `normalise_phone` (fast path first) to the full parse alone."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from primepre.customers.phone_fast import fast_e164, is_valid_national
from primepre.customers.phones import normalise_phone, normalise_phone_slow

KOFI = "+233241234567"


@pytest.mark.parametrize(
    "raw", ["0241234567", "+233 24 123 4567", "233241234567", "024-123-4567", 241234567, 241234567.0, 233241234567.0]
)
def test_tidy_cells_are_answered_by_the_fast_path(raw: object) -> None:
    assert fast_e164(raw, "GH") == KOFI


@pytest.mark.parametrize(
    "raw",
    [
        "00233241234567",  # the 00 prefix: left to the full path
        "+233 (0)24 123 4567",
        "0241234567 ext 12",
        "＋２３３２４１２３４５６７",  # full-width: NFKC is the full path's
        "+233111234567",  # invalid: only the full path explains why
        "0241234",
        241234567.5,
        True,
        None,
    ],
)
def test_the_fast_path_declines_what_it_cannot_read_confidently(raw: object) -> None:
    assert fast_e164(raw, "GH") is None


digit_runs = st.text(alphabet="0123456789", min_size=1, max_size=16)
decorated = st.builds(
    lambda prefix, body, sep: prefix + sep.join([body[:3], body[3:6], body[6:]]),
    st.sampled_from(["", "0", "+", "+233", "233", "00233", "+234", "+86", "00", "0233", "+2330"]),
    digit_runs,
    st.sampled_from(["", " ", "-"]),
)
ghana_like = st.builds(
    lambda prefix, lead, rest: f"{prefix}{lead}{rest}",
    st.sampled_from(["", "0", "+233", "233", "00233"]),
    st.sampled_from(["2", "3", "5", "20", "24", "25", "30", "50", "59"]),
    st.text(alphabet="0123456789", min_size=5, max_size=10),
)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(decorated, ghana_like, st.integers(min_value=0, max_value=10**16), st.floats(0, 1e16)))
def test_fast_path_agrees_with_the_full_parse(raw: object) -> None:
    for region in ("GH", "NG", "US", "DE", "CN", "GB"):
        assert normalise_phone(raw, region) == normalise_phone_slow(raw, region)


_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@settings(max_examples=4000, deadline=None)
@given(
    st.sampled_from(["GH", "GH", "GH", "CN", "NG", *_REGIONS]),
    st.text(alphabet="0123456789", min_size=1, max_size=17).filter(lambda digits: digits[0] != "0"),
)
def test_precompiled_validity_is_phonenumbers_is_valid_number(region: str, national: str) -> None:
    """The fast path's validity check, for every region's numbering plan, against phonenumbers itself."""
    code = str(phonenumbers.country_code_for_region(region))
    number = phonenumbers.PhoneNumber(country_code=int(code), national_number=int(national))
    assert is_valid_national(national, code, region) == phonenumbers.is_valid_number(number)


@pytest.mark.parametrize("region", ["GH", "CN", "NG", "DE"])
def test_precompiled_validity_agrees_on_every_example_number(region: str) -> None:
    """Real numbers of every type (phonenumbers' examples), valid and with a digit added or dropped."""
    code = str(phonenumbers.country_code_for_region(region))
    for number_type in range(12):
        example = phonenumbers.example_number_for_type(region, number_type)
        if example is None:
            continue
        national = str(example.national_number)
        for candidate in (national, national + "1", national[:-1]):
            number = phonenumbers.PhoneNumber(country_code=int(code), national_number=int(candidate))
            assert is_valid_national(candidate, code, region) == phonenumbers.is_valid_number(number), candidate
