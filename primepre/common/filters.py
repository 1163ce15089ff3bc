"""Query parameters that name a row by its id: whole numbers a primary key can hold, or a 400 naming the parameter.

Ids are BigAutoFields (1 … 2^63-1). A 30-digit id reached the database as is: SQLite cannot bind it (a 500), and
nothing useful is ever found outside the range, so it is refused like any other bad filter value.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions

MAX_ID = 2**63 - 1


# The schema states the range the filter enforces, so a client (or a fuzzer) knows 0 and 2^63 are refused.
@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
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


class StrictBooleanField(forms.NullBooleanField):
    """`true`/`false` (or 1/0), as the schema's boolean says; Django's NullBooleanField reads anything else as "no
    filter", so `?unidentified=perhaps` answered every row."""

    widget = forms.TextInput  # NullBooleanSelect would read an unknown value as "no filter" before we see it

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in {"true", "1"}:
            return True
        if text in {"false", "0"}:
            return False
        raise forms.ValidationError("Give true or false.", code="invalid")

    def validate(self, value: object) -> None:
        pass


@extend_schema_field({"type": "boolean"})
class BoolFilter(django_filters.BooleanFilter):
    """A boolean query parameter: `true` or `false`, anything else a 400."""

    field_class = StrictBooleanField


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, except that `?status=` (a parameter given with no value) is refused for every filter but a
    text one: the schema says a date, a number or one of an enum, and django-filter would silently drop the filter
    (and answer every row), which a client reads as "these match". A single-valued parameter given twice is refused
    too."""

    def get_filterset(self, request: Any, queryset: Any, view: Any) -> Any:
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        problems: dict[str, list[exceptions.ErrorDetail]] = {}
        for name, field in filterset.filters.items():
            values = request.query_params.getlist(name)
            if len(values) > 1 and not isinstance(field, django_filters.MultipleChoiceFilter):
                # One value: django-filter would quietly use the last one.
                problems[name] = [exceptions.ErrorDetail("Give this parameter once.", code="repeated")]
            elif not isinstance(field, django_filters.CharFilter) and any(not value.strip() for value in values):
                problems[name] = [exceptions.ErrorDetail("Give a value, or leave the parameter out.", code="blank")]
        if problems:
            raise exceptions.ValidationError(problems)
        return filterset
