"""ISO 6346 container numbers: `CSQU3054383` is an owner code (3 letters), a category (U freight container, J
detachable equipment, Z trailer or chassis), a 6-digit serial and a check digit.

The check digit: each of the first ten characters gets a value (digits their own; letters from A=10 upwards, skipping
11, 22 and 33, the multiples of 11), multiplied by 2**position; the sum modulo 11, then modulo 10 (a remainder of 10
is written 0). A typo in a container number sends a customer's goods to look for the wrong box, so a number is
refused unless its check digit holds.
"""

from __future__ import annotations

import re
import string

_SHAPE = re.compile(r"^[A-Z]{3}[UJZ][0-9]{7}$")
_LETTER_VALUES: dict[str, int] = {}
_value = 10
for _letter in string.ascii_uppercase:
    if _value % 11 == 0:
        _value += 1
    _LETTER_VALUES[_letter] = _value
    _value += 1


class ContainerNumberError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_digit(first_ten: str) -> int:
    """The check digit of an owner code + category + serial (`CSQU305438` → 3)."""
    total = sum(
        (_LETTER_VALUES[ch] if ch.isalpha() else int(ch)) * 2**position for position, ch in enumerate(first_ten)
    )
    return total % 11 % 10


def clean_container_number(raw: str) -> str:
    """`csqu 305438-3` → `CSQU3054383`, or ContainerNumberError (`invalid_container_shape`, `invalid_check_digit`)."""
    number = re.sub(r"[\s\-./]", "", raw or "").upper()
    if not _SHAPE.match(number):
        raise ContainerNumberError(
            "invalid_container_shape",
            f"{raw!r} is not a container number: 3 letters, U, J or Z, then 7 digits (e.g. CSQU3054383).",
        )
    expected = check_digit(number[:10])
    if int(number[10]) != expected:
        raise ContainerNumberError(
            "invalid_check_digit",
            f"{number} fails its check digit (ISO 6346 gives {expected}, not {number[10]}): check the number.",
        )
    return number
