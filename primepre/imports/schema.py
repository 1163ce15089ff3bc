"""The customer import schema: one file row → one CleanRow, or every problem of the row with its column and code.

Plain functions over cell values, built on the directory's own rules (phones.py, marks.py, regions.py) so a row the
import accepts is a customer the model accepts. No serializers and no queries: this runs for every row.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

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

NEUTRALISED = ("=", "+", "-", "@")
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
    """A row that passed every check that needs no database. `provided` lists the fields the file gave a value for:
    an upsert changes only those, so a blank cell never wipes what a customer already has."""

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
    provided: frozenset[str]
    values: tuple[Any, ...]
    mark_generated: bool = False

    def field_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in UPDATABLE_FIELDS}


@functools.lru_cache(maxsize=4096)
def _region(raw: str) -> str | None:
    return parse_region(raw)


def _cell(values: tuple[Any, ...], index: int | None) -> Any:
    if index is None or index >= len(values):
        return ""
    value = values[index]
    if value is None:
        return ""
    if type(value) is str and value[:1] == "'" and value[1:2] in NEUTRALISED:
        return value[1:]  # our error file's CSV neutralises formula-like cells with an apostrophe
    return value


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
    """Cleans and validates rows for one mapping. Reports every error of a row, not only the first."""

    def __init__(self, mapping: ColumnMapping, *, region: str, generate_marks: bool) -> None:
        self.mapping = mapping
        self.region = region
        self.generate_marks = generate_marks
        fields = mapping.fields
        self.index = {name: fields.get(name) for name in (*UPDATABLE_FIELDS, "full_name")}
        self.column = {name: mapping.header_for(name) for name in self.index}

    def _error(self, field: str, code: str, message: str) -> RowError:
        column_field = "full_name" if field in ("first_name", "last_name") and self.index[field] is None else field
        return RowError(self.column[column_field], field, code, message)

    def clean(self, row_number: int, values: tuple[Any, ...]) -> tuple[CleanRow | None, list[RowError]]:
        index = self.index
        errors: list[RowError] = []
        provided: set[str] = set()

        first = tidy_text(_cell(values, index["first_name"]))
        last = tidy_text(_cell(values, index["last_name"]))
        if not first and not last and index["full_name"] is not None:
            full = tidy_text(_cell(values, index["full_name"]))
            first, _, last = full.partition(" ")
        for name, value in (("first_name", first), ("last_name", last)):
            label = "First name" if name == "first_name" else "Last name"
            if not value:
                errors.append(self._error(name, "required", f"{label} is missing."))
            elif len(value) > NAME_MAX:
                errors.append(self._error(name, "too_long", f"{label} is {len(value)} characters; at most {NAME_MAX}."))
            else:
                provided.add(name)

        phone_result = normalise_phone(_cell(values, index["phone"]), self.region)
        if phone_result.ok:
            provided.add("phone")
        else:
            code = phone_result.code or "invalid_phone"
            errors.append(self._error("phone", code, phone_result.message or "Not a valid phone number."))

        mark = tidy_text(_cell(values, index["shipping_mark"]))
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
        else:
            provided.add("shipping_mark")

        email = normalise_email(tidy_text(_cell(values, index["email"])))
        if email:
            if len(email) > EMAIL_MAX:
                errors.append(self._error("email", "too_long", f"Email is longer than {EMAIL_MAX} characters."))
            else:
                try:
                    validate_email(email)
                    provided.add("email")
                except ValidationError:
                    errors.append(self._error("email", "invalid_email", f"{email!r} is not a valid email address."))

        region_text = tidy_text(_cell(values, index["region"]))
        region = ""
        if region_text:
            parsed = _region(region_text)
            if parsed:
                region = parsed
                provided.add("region")
            else:
                errors.append(
                    self._error("region", "invalid_region", f"{region_text!r} is not one of Ghana's 16 regions.")
                )

        company = tidy_text(_cell(values, index["company_name"]))
        if len(company) > COMPANY_MAX:
            errors.append(self._error("company_name", "too_long", f"Company is longer than {COMPANY_MAX} characters."))
        elif company:
            provided.add("company_name")

        type_text = tidy_text(_cell(values, index["customer_type"])).casefold()
        customer_type = CustomerType.BUSINESS if company else CustomerType.INDIVIDUAL
        if type_text:
            if type_text in _CUSTOMER_TYPES:
                customer_type = _CUSTOMER_TYPES[type_text]
                provided.add("customer_type")
            else:
                errors.append(
                    self._error("customer_type", "invalid_type", f"{type_text!r} is not individual or business.")
                )

        if errors:
            return None, errors
        return (
            CleanRow(
                row_number=row_number,
                first_name=first,
                last_name=last,
                phone=phone_result.e164 or "",
                shipping_mark=mark,
                mark_key=key,
                email=email,
                region=region,
                company_name=company,
                customer_type=customer_type,
                provided=frozenset(provided),
                values=values,
                mark_generated=generated,
            ),
            errors,
        )
