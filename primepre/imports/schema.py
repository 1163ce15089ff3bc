"""The customer import schema: one file row → one CleanRow, or every problem of the row with its column and code.

Plain functions over cell values, built on the directory's own rules (phones.py, marks.py, regions.py) so a row the
import accepts is a customer the model accepts. No serializers and no queries: this runs for every row.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email

from primepre.common.csvsafe import unguard
from primepre.customers.marks import MARK_KEY_MAX_LENGTH, MARK_MAX_LENGTH, mark_key
from primepre.customers.models import Customer, CustomerType, normalise_email
from primepre.customers.phones import normalise_phone
from primepre.customers.regions import parse_region
from primepre.customers.text import tidy_text

from .columns import ColumnMapping

NAME_MAX = Customer._meta.get_field("first_name").max_length
COMPANY_MAX = Customer._meta.get_field("company_name").max_length
EMAIL_MAX = Customer._meta.get_field("email").max_length
UPDATABLE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "shipping_mark",
    "email",
    "region",
    "company_name",
    "customer_type",
)

_CUSTOMER_TYPES = {
    "individual": CustomerType.INDIVIDUAL,
    "ind": CustomerType.INDIVIDUAL,
    "person": CustomerType.INDIVIDUAL,
    "personal": CustomerType.INDIVIDUAL,
    "private": CustomerType.INDIVIDUAL,
    "business": CustomerType.BUSINESS,
    "biz": CustomerType.BUSINESS,
    "company": CustomerType.BUSINESS,
    "corporate": CustomerType.BUSINESS,
    "organisation": CustomerType.BUSINESS,
    "organization": CustomerType.BUSINESS,
}


# Django's own email patterns, compiled once: its validator reaches them through lazy proxies (bench/micro.py:
# 0.75 µs an address against 3.3 µs).
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)


def email_is_valid(email: str) -> bool:
    """Exactly `validate_email`: its common accepting path on compiled patterns, anything else asked of it."""
    if email and "@" in email and len(email) <= 320:
        user, _, domain = email.rpartition("@")
        if _EMAIL_USER.match(user) and _EMAIL_DOMAIN.match(domain):
            return True
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _cell_text(raw: object) -> str:
    """A text cell tidied; one our error report wrote as `'=…` (formula injection guard) reads back as `=…`."""
    text = tidy_text(raw)
    if text[:1] == "'" and isinstance(raw, str):
        # The guard is judged on the cell as written (tidying turns the TAB or line break it may guard into a space).
        text = tidy_text(unguard(raw.strip()))
    return text


@dataclass(slots=True)
class RowError:
    column: str  # the header as it appears in the file
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"column": self.column, "field": self.field, "code": self.code, "message": self.message}


@dataclass(slots=True)
class CleanRow:
    """A row that passed every check that needs no database. An upsert changes only the fields the file gave a value
    for (`provided()`), so a blank cell never wipes what a customer already has."""

    row_number: int
    first_name: str
    last_name: str
    phone: str
    shipping_mark: str
    mark_key: str
    email: str | None
    region: str
    company_name: str
    customer_type: str
    values: tuple[Any, ...]
    mark_generated: bool = False
    type_given: bool = False

    def provided(self) -> list[str]:
        """The fields the file gave a value for (only these change in an upsert)."""
        names = ["first_name", "last_name", "phone"]
        if not self.mark_generated:
            names.append("shipping_mark")
        if self.email:
            names.append("email")
        if self.region:
            names.append("region")
        if self.company_name:
            names.append("company_name")
        if self.type_given:
            names.append("customer_type")
        return names


@functools.lru_cache(maxsize=4096)
def _region(raw: str) -> str | None:
    return parse_region(raw)


class MarkRule:
    """Builds a shipping mark for a row without one, from a rule such as `PM {FIRST_NAME:6}` (6 letters of the first
    name, upper case). Uniqueness is the writer's job: it appends a counter (`PM KOFI 2`) until the key is free."""

    _PLACEHOLDER = re.compile(r"\{([A-Z_]+)(?::(\d+))?\}")
    _SOURCES = {"FIRST_NAME": "first_name", "LAST_NAME": "last_name", "COMPANY": "company_name"}

    def __init__(self, rule: str) -> None:
        unknown = {name for name, _ in self._PLACEHOLDER.findall(rule)} - {*self._SOURCES, "PHONE_LAST4"}
        if unknown:
            raise ValueError(f"Unknown placeholder(s) in mark rule {rule!r}: {', '.join(sorted(unknown))}")
        self.rule = rule

    def base(self, row: CleanRow) -> str:
        def replace(match: re.Match[str]) -> str:
            name, length = match.group(1), match.group(2)
            if name == "PHONE_LAST4":
                return row.phone[-4:]
            value = "".join(ch for ch in getattr(row, self._SOURCES[name]) if ch.isalnum()).upper()
            return value[: int(length)] if length else value

        return tidy_text(self._PLACEHOLDER.sub(replace, self.rule))[: MARK_MAX_LENGTH - 6]


class RowCleaner:
    """Cleans and validates rows for one mapping. Reports every error of a row, not only the first.

    This runs once per row (100,000 rows in a few seconds), so it fetches all mapped cells with one itemgetter and
    avoids per-cell function calls; the rules themselves live in customers/ (phones, marks, regions, text).
    """

    _ORDER = ("first_name", "last_name", "full_name", "phone", "shipping_mark", "email", "region", "company_name")
    _ORDER += ("customer_type",)

    def __init__(self, mapping: ColumnMapping, *, region: str, generate_marks: bool) -> None:
        self.mapping = mapping
        self.region = region
        self.generate_marks = generate_marks
        fields = mapping.fields
        self.index = {name: fields.get(name) for name in self._ORDER}
        self.column = {name: mapping.header_for(name) for name in self.index}
        # Unmapped fields read a padding cell that is always empty.
        self.width = max([index for index in self.index.values() if index is not None], default=0) + 1
        self.padding = ("",) * (self.width + 1)
        self.getter = operator.itemgetter(
            *(self.width if self.index[name] is None else self.index[name] for name in self._ORDER)
        )
        self.has_full_name = self.index["full_name"] is not None

    def _error(self, field: str, code: str, message: str) -> RowError:
        column_field = "full_name" if field in ("first_name", "last_name") and self.index[field] is None else field
        return RowError(self.column[column_field], field, code, message)

    def clean(self, row_number: int, values: tuple[Any, ...]) -> tuple[CleanRow | None, list[RowError]]:
        cells = self.getter(values[: self.width] + self.padding[len(values[: self.width]) :])
        first_raw, last_raw, full_raw, phone_raw, mark_raw, email_raw, region_raw, company_raw, type_raw = cells
        errors: list[RowError] = []

        # Text cells lose the `'` our error report puts before `=`, `+`, `-`, `@`; a phone (`'+233…`) loses it in
        # normalise_phone, which strips quotes.
        first = _cell_text(first_raw)
        last = _cell_text(last_raw)
        if not first and not last and self.has_full_name:
            first, _, last = _cell_text(full_raw).partition(" ")
        if not first:
            errors.append(self._error("first_name", "required", "First name is missing."))
        elif len(first) > NAME_MAX:
            errors.append(
                self._error("first_name", "too_long", f"First name is {len(first)} characters; at most {NAME_MAX}.")
            )
        if not last:
            errors.append(self._error("last_name", "required", "Last name is missing."))
        elif len(last) > NAME_MAX:
            errors.append(
                self._error("last_name", "too_long", f"Last name is {len(last)} characters; at most {NAME_MAX}.")
            )

        phone_result = normalise_phone(phone_raw, self.region)
        if phone_result.e164 is None:
            errors.append(
                self._error(
                    "phone", phone_result.code or "invalid_phone", phone_result.message or "Not a phone number."
                )
            )

        mark = _cell_text(mark_raw)
        key = mark_key(mark)
        generated = False
        if not mark:
            if self.generate_marks:
                generated = True
            else:
                errors.append(self._error("shipping_mark", "required", "Shipping mark is missing."))
        elif len(mark) > MARK_MAX_LENGTH:
            errors.append(
                self._error("shipping_mark", "too_long", f"Shipping mark is {len(mark)} characters; at most 100.")
            )
        elif not key:
            errors.append(self._error("shipping_mark", "invalid_mark", "A shipping mark needs a letter or digit."))
        elif len(key) > MARK_KEY_MAX_LENGTH:
            errors.append(self._error("shipping_mark", "too_long", "Shipping mark is too long."))

        email = normalise_email(_cell_text(email_raw)) if email_raw != "" else None
        if email:
            if len(email) > EMAIL_MAX:
                errors.append(self._error("email", "too_long", f"Email is longer than {EMAIL_MAX} characters."))
            elif not email_is_valid(email):
                errors.append(self._error("email", "invalid_email", f"{email!r} is not a valid email address."))

        region = ""
        if region_raw != "":
            region_text = _cell_text(region_raw)
            if region_text:
                region = _region(region_text) or ""
                if not region:
                    errors.append(
                        self._error("region", "invalid_region", f"{region_text!r} is not one of Ghana's 16 regions.")
                    )

        company = _cell_text(company_raw) if company_raw != "" else ""
        if len(company) > COMPANY_MAX:
            errors.append(self._error("company_name", "too_long", f"Company is longer than {COMPANY_MAX} characters."))

        customer_type = CustomerType.BUSINESS if company else CustomerType.INDIVIDUAL
        type_given = False
        if type_raw != "":
            type_text = _cell_text(type_raw).casefold()
            if type_text in _CUSTOMER_TYPES:
                customer_type = _CUSTOMER_TYPES[type_text]
                type_given = True
            elif type_text:
                errors.append(
                    self._error("customer_type", "invalid_type", f"{type_text!r} is not individual or business.")
                )

        if errors:
            return None, errors
        return (
            CleanRow(
                row_number,
                first,
                last,
                phone_result.e164,
                mark,
                key,
                email,
                region,
                company,
                customer_type,
                values,
                generated,
                type_given,
            ),
            errors,
        )
