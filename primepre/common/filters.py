"""Query parameters that name a row by its id: whole numbers a primary key can hold, or a 400 naming the parameter.

Ids are BigAutoFields (1 … 2^63-1). A 30-digit id reached the database as is: SQLite cannot bind it (a 500), and
nothing useful is ever found outside the range, so it is refused like any other bad filter value.
"""

from __future__ import annotations

import django_filters
from django import forms
from rest_framework import exceptions

MAX_ID = 2**63 - 1


class IdFilter(django_filters.Filter):
    """`?import_job=7`: a whole number from 1 to 2^63-1 (an integer field, not NumberFilter's decimal)."""

    field_class = forms.IntegerField

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


def id_param(raw: str, name: str) -> int:
    """A query parameter that must be an id, as an int; otherwise the API's 400 naming `name`."""
    value = raw.strip()
    # The length first: int() of thousands of digits is refused by Python itself (and slow before that).
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or not 1 <= int(value) <= MAX_ID:
        raise exceptions.ValidationError(
            {name: [exceptions.ErrorDetail(f"Give a whole number from 1 to {MAX_ID}.", code="invalid")]}
        )
    return int(value)
