"""Phone numbers masked in log lines, in every spelling `normalise_phone` reads and the encodings a log line carries.

A log line meets a phone as a person typed it (`024 123 4567`, `(024) 123 4567`, `024.123.4567`, `+233 (0)24 123
4567`, `00 233 …`, full-width `０２４…`, with non-breaking spaces), URL- or form-encoded by whoever built the line
(`%2B233…`, `%28024%29+123+4567`, `%EF%BC%90…` for a full-width digit, `%C2%A0`), from any country, inside a file name
(`customers-0241234567.xlsx`). Two passes:

- `mask_phones_in_log` (every line: `config.log.MaskPhonesFilter`) finds RUNS: digits (any script, or percent-encoded
  full-width) with at most three separator tokens between them (spaces, `-`, `.`, `/`, brackets, in any width or
  encoding). A run is masked from its first group that starts a phone: a `+` (or `%2B`, `＋`) before it, `00`, a
  trunk `0` followed by a digit, or Ghana's `233`, with enough digits after. Elsewhere a phone starts only behind a
  space or a bracket, never a dot, so decimals (`0.0123456789`), dates, sizes, hashes and request ids (a run touching
  a letter) are left whole.
- `loggable_query` (the export views' `filters=`) masks at the source, on the decoded values, every run of 7 or more
  digits: it also covers what no pattern can tell from a number (`241234567`, Excel's `2.33241234567E+11`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import unquote_plus


def mask_phone(phone: str) -> str:
    """`+233241234567` → `+23324****567`: enough to tell numbers apart in a log, not enough to call them. At least
    four digits are hidden whatever the length (`+1234567` → `+****567`), so no seven digits in a row are shown."""
    if len(phone) <= 6:
        return "*" * len(phone)
    plus = phone.startswith("+")
    head = min(6 if plus else 3, max(len(phone) - 7, 1 if plus else 0))
    return phone[:head] + "*" * (len(phone) - head - 3) + phone[-3:]


_DIGIT = r"(?:\d|%[Ee][Ff]%[Bb][Cc]%9[0-9])"  # \d is Unicode: full-width digits too; then their UTF-8 encoding
_OPEN = r"(?:[(\[（［]|%28|%5[Bb]|%[Ee][Ff]%[Bb][Cc]%88|%[Ee][Ff]%[Bb][Cc]%[Bb][Bb])"
_CLOSE = r"(?:[)\]）］]|%29|%5[Dd]|%[Ee][Ff]%[Bb][Cc]%89|%[Ee][Ff]%[Bb][Cc]%[Bb][Dd])"
# A space: any Unicode space, its encodings, and a form-encoded `+` when a digit or a bracket follows.
_SPACE = rf"(?:[^\S\r\n]|%20|%[Cc]2%[Aa]0|%[Ee]3%80%80|%[Ee]2%80%[Aa][Ff]|\+(?={_DIGIT}|{_OPEN}))"
_MARK = r"(?:[-./－．／]|%2[DdEeFf]|%[Ee][Ff]%[Bb][Cc]%8[DdEeFf])"  # dash, dot, slash, full-width or encoded
_SEPARATOR = rf"(?:{_SPACE}|{_OPEN}|{_CLOSE}|{_MARK})"
_RUN = re.compile(
    # Not inside a word, a number or a percent escape (a run may start right after a whole escape: `%2B233`).
    rf"(?:(?<=%[0-9A-Fa-f]{{2}})|(?<![0-9A-Za-z.%\uff10-\uff19]))"
    rf"{_DIGIT}+(?:{_SEPARATOR}{{1,3}}{_DIGIT}+)*"
)
_PLUS_BEFORE = re.compile(r"(?:\+|＋|%2[Bb]|%[Ee][Ff]%[Bb][Cc]%8[Bb])$")
_SPLIT = re.compile(rf"({_SEPARATOR}+)")
_ENCODED_DIGIT = re.compile(r"%[Ee][Ff]%[Bb][Cc]%9([0-9])")
_OPENS_A_PHONE = re.compile(rf"^(?:{_SPACE}|{_OPEN}|{_CLOSE})")  # a separator a phone may start behind (not `.`)
_MARK_AHEAD = re.compile(_MARK)
_WORD_AFTER = re.compile(r"[0-9A-Za-z\uff10-\uff19]")


def _digits(token: str) -> str:
    """A group's digits in ASCII, whatever their script or encoding."""
    token = _ENCODED_DIGIT.sub(r"\1", token)
    return "".join(str(unicodedata.digit(ch)) for ch in token)


def _phone_start(digits: str, first: bool, plus: bool) -> tuple[int, str] | None:
    """(digits kept as a prefix, `intl`/`national`) when a phone starts at `digits` (the run's rest), else None."""
    if plus and first and digits[:1] != "0" and len(digits) >= 7:
        return 0, "intl"
    if digits.startswith("00") and digits[2:3] not in {"", "0"} and len(digits) >= 9:
        return 2, "intl"
    if digits[:1] == "0" and len(digits) >= 9:
        return 0, "national"
    if digits.startswith("233") and len(digits) >= 12:
        return 0, "national"
    return None


def _masked(digits: str, prefix: int, kind: str) -> str:
    head, rest = digits[:prefix], digits[prefix:]
    return head + (mask_phone("+" + rest)[1:] if kind == "intl" else mask_phone(rest))


def _mask_run(match: re.Match[str]) -> str:
    text = match.group(0)
    after = match.string[match.end() : match.end() + 1]
    if after and _WORD_AFTER.match(after):
        return text  # a run touching a letter (`2.33E+11`, `0241234567abcdef`) is part of a word or a number
    plus = bool(_PLUS_BEFORE.search(match.string[max(0, match.start() - 9) : match.start()]))
    parts = _SPLIT.split(text)  # digit groups at even indexes, separators at odd ones
    groups = [_digits(part) for part in parts[::2]]
    for index in range(len(groups)):
        if index and not _OPENS_A_PHONE.match(parts[2 * index - 1]):
            continue
        if index == 0 and groups[0] == "0" and len(parts) > 1 and _MARK_AHEAD.match(parts[1]):
            continue  # `0.0123…`, `0/100`: a decimal or a ratio; a trunk 0 is followed by a digit or sits in `(0)`
        rest = "".join(groups[index:])
        start = _phone_start(rest, index == 0, plus)
        if start is not None:
            return "".join(parts[: 2 * index]) + _masked(rest, *start)
    return text


def mask_phones_in_log(text: str) -> str:
    """Every phone number in a log message masked (`+233 24 123 4567` → `+23324****567`); the rest unchanged."""
    return _RUN.sub(_mask_run, text)


# --- at the source: a request's query for a log line -----------------------------------------------------------------

_VALUE_RUN = re.compile(r"\+?\d(?:[^\S\r\n\d]{0,4}[-./()\[\]+]?[^\S\r\n]{0,4}\d|[-./()\[\]+]{1,3}\d)*")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mask_value(value: str) -> str:
    for _ in range(3):  # a value that is itself encoded (a pasted URL, `%2B233%2024…`) is read as it would be shown
        decoded = unquote_plus(value) if "%" in value else value  # form-encoded: its `+` is a space
        if decoded == value:
            break
        value = decoded
    value = unicodedata.normalize("NFKC", value)
    if _ISO_DATE.fullmatch(value.strip()):
        return value  # the date filters: kept readable
    return _VALUE_RUN.sub(_mask_value_run, value)


def _mask_value_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = "".join(ch for ch in run if ch.isdigit())
    if len(digits) < 7:
        return run
    return mask_phone(("+" if run.startswith("+") else "") + digits)


def loggable_query(query: Any) -> str:
    """A request's query string (a QueryDict) for a log line: each value decoded and NFKC-folded, every run of 7+
    digits in it masked as a phone (whatever its spelling: `(024) 123 4567`, `２４１２３４５６７`, `2.33241234567E+11`),
    then encoded again (`*` left as it is)."""
    masked = query.copy()
    for key, values in query.lists():
        masked.setlist(key, [_mask_value(value) for value in values])
    return masked.urlencode(safe="*")
