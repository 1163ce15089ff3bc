"""ISO 6346 container numbers: shape, check digit, and the digit itself against the standard's worked example."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from primepre.shipments.iso6346 import ContainerNumberError, check_digit, clean_container_number


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("CSQU3054383", "CSQU3054383"),  # the standard's own example
        ("csqu 305438-3", "CSQU3054383"),  # as typed off a door, with the check digit boxed apart
        ("MSKU9070323", "MSKU9070323"),
    ],
)
def test_valid_numbers(raw: str, clean: str) -> None:
    assert clean_container_number(raw) == clean


@pytest.mark.parametrize("raw", ["CSQU3054384", "CSQU3054380", "MSKU9070320"])
def test_a_wrong_check_digit_is_refused(raw: str) -> None:
    with pytest.raises(ContainerNumberError) as caught:
        clean_container_number(raw)
    assert caught.value.code == "invalid_check_digit" and raw in caught.value.message


@pytest.mark.parametrize(
    "raw", ["", "CSQ3054383", "CSQX3054383", "CSQU305438", "CSQU30543833", "1SQU3054383", "CSQUABCDEF3"]
)
def test_a_wrong_shape_is_refused(raw: str) -> None:
    with pytest.raises(ContainerNumberError) as caught:
        clean_container_number(raw)
    assert caught.value.code == "invalid_container_shape"


def test_letter_values_skip_the_multiples_of_eleven() -> None:
    # A=10, B=12 (11 skipped), … K=21, L=23 (22 skipped), … U=32, V=34 (33 skipped): the standard's table.
    assert check_digit("AAAU000000") == (10 + 20 + 40 + 32 * 8) % 11 % 10


@given(st.from_regex(r"[A-Z]{3}[UJZ][0-9]{6}", fullmatch=True))
def test_every_owner_and_serial_has_exactly_one_valid_check_digit(first_ten: str) -> None:
    valid = [digit for digit in "0123456789" if _valid(first_ten + digit)]
    assert valid == [str(check_digit(first_ten))]


def _valid(number: str) -> bool:
    try:
        clean_container_number(number)
    except ContainerNumberError:
        return False
    return True
