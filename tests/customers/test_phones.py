"""The phone rules, table-driven on what real spreadsheets contain, plus properties that must hold for any input."""

from __future__ import annotations

from decimal import Decimal

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from primepre.common.phonemask import mask_phone
from primepre.customers.phone_fast import fast_e164, fast_refusal, is_valid_national
from primepre.customers.phones import normalise_phone, normalise_phone_slow

KOFI = "+233241234567"

VALID = [
    # As typed.
    ("0241234567", KOFI),
    ("+233241234567", KOFI),
    ("233241234567", KOFI),
    ("00233241234567", KOFI),
    ("+233 24 123 4567", KOFI),
    ("024 123 4567", KOFI),
    ("024-123-4567", KOFI),
    ("024.123.4567", KOFI),
    ("(024) 123 4567", KOFI),
    ("+233 (0)24 123 4567", KOFI),
    ("+233(0)241234567", KOFI),
    ("+233-24-123-4567", KOFI),
    ("00 233 24 123 4567", KOFI),
    ("tel:+233241234567", KOFI),
    ("TEL: 0241234567", KOFI),
    ("Tel. 024 123 4567", KOFI),
    ("  0241234567  ", KOFI),
    ("'0241234567", KOFI),  # Excel's text-forcing apostrophe
    ("0241234567 ext 12", KOFI),
    # What Excel does to numbers.
    (241234567, KOFI),  # numeric cell: the leading zero is gone
    ("241234567", KOFI),
    (241234567.0, KOFI),
    ("241234567.0", KOFI),
    (233241234567, KOFI),
    (233241234567.0, KOFI),
    ("2.33241234567E+11", KOFI),
    ("2.33241234567e11", KOFI),
    (Decimal("233241234567"), KOFI),
    # Unicode that arrives from phones, web forms and Chinese keyboards.
    ("0241\u00a0234\u00a0567", KOFI),  # non-breaking spaces
    ("０２４１２３４５６７", KOFI),  # full-width digits
    ("＋２３３ ２４ １２３ ４５６７", KOFI),
    ("\u200e+233241234567", KOFI),  # left-to-right mark copied from WhatsApp
    ("0241234567\t", KOFI),
    # Other Ghana networks and landlines.
    ("0201234567", "+233201234567"),
    ("0551234567", "+233551234567"),
    ("0501234567", "+233501234567"),
    ("0302123456", "+233302123456"),
    # Foreign numbers with their country code.
    ("+86 138 0013 8000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("+44 20 7946 0958", "+442079460958"),
    ("+1 (415) 555-2671", "+14155552671"),
]


@pytest.mark.parametrize(("raw", "expected"), VALID)
def test_valid_inputs_become_e164(raw: object, expected: str) -> None:
    result = normalise_phone(raw)
    assert (result.e164, result.code) == (expected, None)


INVALID = [
    (None, "required"),
    ("", "required"),
    ("   ", "required"),
    ("\u00a0", "required"),
    ("n/a", "invalid_phone"),
    ("0241234", "invalid_phone"),  # too short
    ("02412345678901234567", "invalid_phone"),  # too long
    ("0241234567890", "invalid_phone"),
    ("1234567890", "invalid_phone"),  # not a Ghana number and no country code
    ("+233 11 123 4567", "invalid_phone"),  # no such Ghana range
    ("0241-CALL-ME", "invalid_phone"),
    ("1-800-FLOWERS", "invalid_phone"),  # phonenumbers would read letters as digits; people do not mean that
    ("2.33241E+11", "phone_rounded"),  # Excel's General format already dropped digits
    ("2.4E+8", "phone_rounded"),
    ("2.5", "invalid_phone"),
    (241234567.5, "invalid_phone"),
    (float("nan"), "invalid_phone"),
    (float("inf"), "invalid_phone"),
    (-241234567, "invalid_phone"),
    (True, "invalid_phone"),
    ([0, 2, 4], "invalid_phone"),
    ("0241234567 / 0201234567", "multiple_phones"),
    ("0241234567, 0201234567", "multiple_phones"),
    ("0241234567 or 0551234567", "multiple_phones"),
    ("+", "invalid_phone"),
    ("++233241234567x", "invalid_phone"),
    ("9" * 200, "invalid_phone"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID)
def test_invalid_inputs_say_why(raw: object, code: str) -> None:
    result = normalise_phone(raw)
    assert result.e164 is None
    assert result.code == code
    assert result.message and len(result.message) > 10


def test_region_is_configurable() -> None:
    assert normalise_phone("020 7946 0958", region="GB").e164 == "+442079460958"
    assert normalise_phone("020 7946 0958", region="GH").e164 is None
    assert normalise_phone("+233241234567", region="GB").e164 == KOFI  # a country code always wins


def test_messages_show_the_number_to_staff_and_logs_mask_it() -> None:
    """Masking is for logs (config/log.py masks every line); staff fixing a cell read the number they typed."""
    from config.log import mask_phones_in_log

    message = normalise_phone("+233 11 123 4567").message or ""
    assert message == "+233111234567 is not a valid phone number."
    assert "1234567" not in mask_phones_in_log(f"[IMPORT-FAIL] reason={message}")


def test_mask_phone() -> None:
    assert mask_phone("+233241234567") == "+23324****567"
    assert mask_phone("0241234567") == "024****567"


# --- properties -----------------------------------------------------------------------------------------------------

any_cell = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet="0123456789 +-().\u00a0eE/,tel:x#０１２３"),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


@settings(max_examples=600, deadline=None)
@given(any_cell)
def test_never_raises_and_is_idempotent(raw: object) -> None:
    result = normalise_phone(raw)
    assert result.ok == (result.code is None)
    if result.ok:
        assert result.e164.startswith("+") and result.e164[1:].isdigit()
        again = normalise_phone(result.e164)
        assert again.e164 == result.e164


GHANA_PREFIXES = ["20", "23", "24", "26", "27", "28", "50", "53", "54", "55", "56", "57"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(GHANA_PREFIXES), st.integers(min_value=0, max_value=9_999_999), st.integers(0, 6))
def test_every_format_of_one_ghana_mobile_is_one_number(prefix: str, line: int, style: int) -> None:
    national = f"{prefix}{line:07d}"
    formats = [
        f"0{national}",
        f"+233{national}",
        f"00233 {national[:2]} {national[2:5]} {national[5:]}",
        f"+233 (0){national}",
        int(national),
        float(f"233{national}"),
        f"0{national[:2]}-{national[2:5]}-{national[5:]}",
    ]
    results = {normalise_phone(f).e164 for f in formats}
    assert results == {f"+233{national}"}
    assert normalise_phone(formats[style]).ok


# --- the fast path (phone_fast.py) gives the library's answers ----------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        *("0241234567", "+233 24 123 4567", "233241234567", "024-123-4567", "+233 (0)24 123 4567", "+233(0)241234567"),
        *(241234567, 241234567.0, 233241234567.0),
    ],
)
def test_tidy_cells_are_answered_by_the_fast_path(raw: object) -> None:
    assert fast_e164(raw, "GH") == KOFI


@pytest.mark.parametrize(
    "raw",
    [
        "00233241234567",  # the 00 prefix: left to the full path
        "+233 ( 0 )24 123 4567",  # the trunk zero in brackets with spaces inside: the full path
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


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("02412345", "02412345 (read as a GH number)"),  # a digit short
        ("0581234567", "0581234567 (read as a GH number)"),  # a range with no numbers
        ("024-123-456712", "024123456712 (read as a GH number)"),  # two digits too many
        ("+233 11 123 4567", "+233111234567"),
    ],
)
def test_common_invalid_numbers_are_refused_without_the_full_parse(raw: str, shown: str) -> None:
    assert fast_refusal(raw, "GH") == shown.split(" ")[0]
    assert normalise_phone(raw, "GH") == normalise_phone_slow(raw, "GH")
    assert normalise_phone(raw, "GH").message == f"{shown} is not a valid phone number."


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("0241234567", "GH"),  # valid: not the refusal's to answer
        ("0000000000", "GH"),  # 00 dials abroad
        ("447911123456", "GH"),  # a UK number that lost its +: valid as +44
        ("233111234567", "GH"),  # the country code without +: the parse decides how to read it
        ("+233 024 123 4567", "GH"),  # a trunk 0 after the code: the parse drops it
        ("+234 11 123 4567", "GH"),  # another country's code
        ("02012345", "US"),  # a region dialling abroad with 011
        ("0581234567", "CN"),  # a region with several international prefixes
        ("N/A", "GH"),
        (581234567, "GH"),
    ],
)
def test_the_refusal_leaves_every_other_shape_to_the_full_parse(raw: object, region: str) -> None:
    assert fast_refusal(raw, region) is None


digit_runs = st.text(alphabet="0123456789", min_size=1, max_size=16)
decorated = st.builds(
    lambda prefix, body, sep: prefix + sep.join([body[:3], body[3:6], body[6:]]),
    st.sampled_from(
        [
            *("", "0", "+", "+233", "233", "00233", "+234", "+86", "00", "0233", "+2330"),
            *("+49", "+33", "+27", "+91", "+490", "049"),  # the other regions the fast path refuses for
            *("+233 (0)", "+233(0)", "(0)", "+234 (0)", "0(0)", "+233 (0) ", "+44 (0)"),  # the trunk zero in brackets
        ]
    ),
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
    """Both fast answers, the E.164 form and the refusal, against the full parse alone; FR, ZA and IN are refused
    by the fast path as GH and DE are, the others are not."""
    for region in ("GH", "NG", "US", "DE", "CN", "GB", "FR", "ZA", "IN"):
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


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet=" \t\u00a0\u2003\x00\u200b\ufeff\x07abcKOFI.-")))
def test_tidy_text_collapses_every_kind_of_whitespace(text: str) -> None:
    from primepre.customers.text import tidy_text

    tidy = tidy_text(text)
    assert tidy == tidy.strip() and "  " not in tidy and tidy_text(tidy) == tidy
    assert not any(ch.isspace() and ch != " " for ch in tidy)
    assert tidy.isprintable()  # no NUL, zero-width space, BOM or bell left in a name


def test_tidy_text_drops_invisible_characters() -> None:
    from primepre.customers.text import tidy_text

    assert tidy_text("Ko\x00fi \u200bMensah\ufeff") == "Kofi Mensah"
    assert tidy_text("\x00 \u200b") == ""
