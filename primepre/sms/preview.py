"""What the composer shows before anything is sent: the placeholders a text may use, and the text filled in with the
longest value of each placeholder among the recipients, whose segment count is the most any one of them can cost.

The longest values come from one scan of the recipients (an aggregate per placeholder), not from filling the text
for every recipient. Combining each placeholder's longest value gives an upper bound: no single recipient's text is
longer. Lengths are compared in characters; a value holding a character outside GSM-7 switches that recipient's
text to UCS-2 (70 characters a segment), which a shorter value can do too: each message's real count is stored in
the outbox when it is queued. There is no price per segment in the settings, so the page states segments, not money.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Case, CharField, F, Max, QuerySet, Value, When
from django.db.models.functions import Cast, Concat, Length

from primepre.customers.models import Customer

from .segments import Segments, count_segments
from .services import EXAMPLE_CUSTOMER, TEXT_PLACEHOLDERS

# What each placeholder is filled with, said on the composer; the keys are TEXT_PLACEHOLDERS, in their order.
PLACEHOLDER_LABELS = {
    "first_name": "first name",
    "last_name": "last name",
    "shipping_mark": "shipping mark",
    "company": "company name, or the full name when there is none",
}
_OFFSET = 1000  # added to each length: four digits for any stored value (company names: 200 characters at most)
_WIDTH = 4


def _value_of(name: str) -> Any:
    """The database expression a placeholder is filled from: `services._customer_values`, in SQL."""
    if name == "company":
        full_name = Concat("first_name", Value(" "), "last_name", output_field=CharField())
        return Case(When(company_name="", then=full_name), default=F("company_name"), output_field=CharField())
    return F(name)


def _longest(expression: Any) -> Max:
    """The longest value as one aggregate: each value behind its length plus 1000 (`1012Kofi Mensah`), so the
    greatest string is the longest value (the prefixes are digits of one width: every collation orders them as
    numbers). Plain SQL arithmetic, not LPAD: on SQLite, Django's LPAD is a Python call per row (3x slower over 100,000
    customers: 485 against 161 ms; PostgreSQL 107 ms)."""
    length = Cast(Length(expression) + _OFFSET, CharField())
    return Max(Concat(length, expression, output_field=CharField()))


def longest_values(recipients: QuerySet[Customer]) -> dict[str, str]:
    """{placeholder: its longest value among `recipients`}; the example customer's values when there are none (the
    preview then shows what the text looks like)."""
    # Aliased apart from the fields: an aggregate named like a field would shadow it in the expressions.
    aggregates = {f"longest_{name}": _longest(_value_of(name)) for name in TEXT_PLACEHOLDERS}
    found = recipients.order_by().aggregate(**aggregates)
    if any(value is None for value in found.values()):
        example = Customer(**EXAMPLE_CUSTOMER)
        return {
            "first_name": example.first_name,
            "last_name": example.last_name,
            "shipping_mark": example.shipping_mark,
            "company": example.full_name,
        }
    return {name: found[f"longest_{name}"][_WIDTH:] for name in TEXT_PLACEHOLDERS}


def uses_placeholders(body: str) -> bool:
    return any("{" + name + "}" in body for name in TEXT_PLACEHOLDERS)


def longest_text(body: str, values: Mapping[str, str]) -> str:
    """`body` filled in with `values` (check it first with `services.placeholder_problem`)."""
    if "{" not in body and "}" not in body:
        return body
    return body.format_map(values)


def longest_segments(body: str, values: Mapping[str, str]) -> tuple[str, Segments]:
    """The longest filled text and its count: what the page states per recipient ("up to")."""
    text = longest_text(body, values)
    return text, count_segments(text)
