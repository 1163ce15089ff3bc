"""Row schema helpers that re-implement a library check for speed must agree with the library on every input."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from primepre.customers.import_schema import email_is_valid


def _django_says(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


_local = st.text(alphabet="abcxyz019._+-'\"!#~ \\é", min_size=0, max_size=12)
_domain = st.text(alphabet="abcxyz019.-é[]:_", min_size=0, max_size=20)
_special_domains = st.sampled_from(["localhost", "LOCALHOST", "[127.0.0.1]", "[IPv6:::1]", "[300.1.1.1]", "[::1]"])
_separators = st.sampled_from(["@", "@@", "", "@"])
_emails = st.builds(
    lambda user, at, domain: f"{user}{at}{domain}", _local, _separators, st.one_of(_domain, _special_domains)
)


@settings(max_examples=4000, deadline=None)
@given(st.one_of(_emails, st.emails().map(str.lower), st.text(max_size=40)))
def test_email_is_valid_is_djangos_validate_email(value: str) -> None:
    assert email_is_valid(value) == _django_says(value)


@pytest.mark.parametrize(
    "value",
    [
        "kofi@example.com",
        "kofi.mensah+ship@mail.example.com.gh",
        "user@localhost",
        "user@[127.0.0.1]",
        "user@[::1]",
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@example.c",
        "a@example.xn--p1ai",
        "ama@exa_mple.com",
        '"quoted here"@example.com',
        "x" * 64 + "@" + "y" * 250 + ".com",
    ],
)
def test_email_is_valid_on_the_edges(value: str) -> None:
    assert email_is_valid(value) == _django_says(value)


def test_the_ascii_domain_pattern_is_djangos_without_its_unicode_range() -> None:
    from django.core.validators import DomainNameValidator, EmailValidator

    from primepre.customers.import_schema import EMAIL_ASCII_DOMAIN_PATTERN

    assert EmailValidator.domain_regex.pattern.replace(DomainNameValidator.ul, "") == EMAIL_ASCII_DOMAIN_PATTERN
    assert EmailValidator.domain_regex.flags & re.IGNORECASE
