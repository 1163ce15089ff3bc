"""Phone numbers: the one place that turns whatever a spreadsheet holds into E.164.

Excel mangles phone numbers in predictable ways: it stores them as numbers (dropping the leading zero, adding `.0`,
or switching to scientific notation), and people type separators, `00` prefixes, `(0)` trunk digits and `tel:` links.
We undo those, then let `phonenumbers` decide validity with `is_valid_number` (real numbering plans, not lengths).
Tidy cells are answered first by the fast path (`phone_fast.py`), which gives the same answers without a full parse.
The functions here never raise: a bad value comes back as a reason a person can act on.
"""

from __future__ import annotations

import math
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from primepre.common.caught import release

from .phone_fast import fast_e164, fast_refusal

MAX_INPUT_LENGTH = 64  # longer than any phone number with formatting; anything longer is not one number


class PhoneResult(NamedTuple):
    """Either `e164` is set (the number is valid) or `code` and `message` say why not.

    A NamedTuple, not a frozen dataclass: as immutable, and much cheaper to build (one per imported row)."""

    e164: str | None = None
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.e164 is not None


def _fail(code: str, message: str) -> PhoneResult:
    return PhoneResult(code=code, message=message)


_SCIENTIFIC = re.compile(r"^[+-]?(\d+)(?:[.,](\d*))?[eE]\+?(\d{1,2})$")
_EXCEL_FLOAT = re.compile(r"^(\d+)\.0+$")
_PREFIX = re.compile(r"^(?:tel|phone|mobile|mob|cell|whatsapp|tél)\s*[:.]?\s*", re.IGNORECASE)
_TRUNK_IN_PARENS = re.compile(r"\(\s*0\s*\)")
_EXTENSION = re.compile(r"(?:ext\.?|extension|x|#)\s*\d+\s*$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-./()\[\]]+")
_LIST_SPLIT = re.compile(r"\s*(?:[,;/|&\\]|\bor\b|\band\b)\s*", re.IGNORECASE)
_DIGITS = re.compile(r"\d")


def _text_from_cell(raw: object) -> str | PhoneResult:
    """A cell value as text, turning numeric cells back into the digits Excel displayed."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return _fail("invalid_phone", "A true/false value is not a phone number.")
    if isinstance(raw, int):
        return str(raw) if raw >= 0 else _fail("invalid_phone", f"{raw} is not a phone number.")
    if isinstance(raw, float):
        if not math.isfinite(raw) or raw != int(raw) or raw < 0:
            return _fail("invalid_phone", f"{raw!r} is not a phone number.")
        return str(int(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite() or raw != raw.to_integral_value() or raw < 0:
            return _fail("invalid_phone", f"{raw} is not a phone number.")
        return str(int(raw))
    if isinstance(raw, str):
        return raw
    return _fail("invalid_phone", f"A {type(raw).__name__} value is not a phone number.")


def _undo_scientific(text: str) -> str | PhoneResult:
    """`2.33241234567E+11` → `233241234567`, unless Excel already rounded digits away."""
    match = _SCIENTIFIC.match(text)
    if not match:
        return text
    whole, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    try:
        value = Decimal(f"{whole}.{fraction or '0'}e{exponent}")
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        return _fail("invalid_phone", "Not a phone number.")
    if value != value.to_integral_value():
        return _fail("invalid_phone", f"{text} is not a whole number, so not a phone number.")
    if len(fraction) < exponent:
        # Excel's General format shows about six significant digits; the zeros it pads with are not the number.
        return _fail(
            "phone_rounded",
            f"{text} is a number Excel shortened to scientific notation, so digits are lost. "
            "Format the column as Text and type the number again.",
        )
    digits = str(int(value))
    return digits


def normalise_phone(raw: object, region: str = "GH") -> PhoneResult:
    """Return the E.164 form of `raw` (a cell value of any type) or the reason it is not a valid phone number.

    `region` is the country assumed for numbers written without a country code (the lost leading zero included).
    Idempotent: normalising an E.164 result gives it back unchanged.
    """
    region = (region or "GH").upper()
    try:
        e164 = fast_e164(raw, region)
        if e164:
            return PhoneResult(e164=e164)
        refused = fast_refusal(raw, region)
        return _not_valid(refused, region) if refused else _normalise(raw, region)
    except Exception:  # noqa: BLE001 - the contract is "never raises"; phonenumbers has odd corners
        return _fail("invalid_phone", "Not a phone number.")


def normalise_phone_slow(raw: object, region: str = "GH") -> PhoneResult:
    """The full path alone (phonenumbers.parse): the reference the fast path is tested against."""
    try:
        return _normalise(raw, (region or "GH").upper())
    except Exception:  # noqa: BLE001 - the contract is "never raises"; phonenumbers has odd corners
        return _fail("invalid_phone", "Not a phone number.")


def _normalise(raw: object, region: str) -> PhoneResult:
    text = _text_from_cell(raw)
    if isinstance(text, PhoneResult):
        return text
    # NFKC folds full-width digits, non-breaking and other exotic spaces into plain ASCII.
    text = unicodedata.normalize("NFKC", text).strip()
    text = "".join(ch for ch in text if unicodedata.category(ch) not in {"Cf", "Cc"} or ch in "\t\n")
    text = text.strip().strip("'\"`").strip()
    if not text:
        return _fail("required", "Phone number is missing.")
    if len(text) > MAX_INPUT_LENGTH:
        return _fail("invalid_phone", "Too long to be one phone number.")

    text = _PREFIX.sub("", text)
    text = _EXTENSION.sub("", text).strip()
    if len([part for part in _LIST_SPLIT.split(text) if len(_DIGITS.findall(part)) >= 7]) > 1:
        return _fail("multiple_phones", "The cell holds more than one phone number; keep one per customer.")

    text = _undo_scientific(text)
    if isinstance(text, PhoneResult):
        return text
    excel_float = _EXCEL_FLOAT.match(text)
    if excel_float:
        text = excel_float.group(1)

    text = _TRUNK_IN_PARENS.sub("", text)
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("+"):
        compact = "+" + compact[1:].lstrip("+")
    body = compact[1:] if compact.startswith("+") else compact
    if not body.isdigit():
        return _fail("invalid_phone", "A phone number may hold only digits, spaces, dashes and a leading +.")
    if len(body) < 6:
        return _fail("invalid_phone", "Too short to be a phone number.")
    if len(body) > 15:
        return _fail("invalid_phone", "Too long to be a phone number (E.164 allows 15 digits).")

    candidates = [compact]
    if not compact.startswith("+"):
        # Excel drops the `+` of an international number stored as a number: 233241234567.
        candidates.append("+" + compact)
    for candidate in candidates:
        number = _parse(candidate, region)
        if number is not None and phonenumbers.is_valid_number(number):
            return PhoneResult(e164=phonenumbers.format_number(number, PhoneNumberFormat.E164))
    return _not_valid(compact, region)


def _not_valid(compact: str, region: str) -> PhoneResult:
    return _fail("invalid_phone", f"{_describe(compact, region)} is not a valid phone number.")


def _parse(candidate: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(candidate, None if candidate.startswith("+") else region)
    except NumberParseException as exc:
        release(exc)
        return None


def _describe(compact: str, region: str) -> str:
    """The number as the user typed it, for the error message staff read beside the cell (logs mask every phone
    themselves: config/log.py)."""
    return compact if compact.startswith("+") else f"{compact} (read as a {region} number)"


def display_phone(e164: str, home_region: str = "GH") -> str:
    """How staff read a stored number: `+233240000001` → `024 000 0001` for a number of `home_region` (the way it is
    dialled and written in Ghana), the international format (`+44 20 7946 0958`) for any other country, so a foreign
    number never looks local. Anything that does not parse comes back as it is; never raises."""
    if not e164 or not e164.startswith("+"):
        return e164
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException as exc:
        release(exc)
        return e164
    home = number.country_code == phonenumbers.country_code_for_region((home_region or "GH").upper())
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL)
