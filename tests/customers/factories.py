"""Small builders for customers in tests (plain functions: the model is small)."""

from __future__ import annotations

import itertools
from typing import Any

from primepre.customers.models import Customer

_counter = itertools.count(1)


def customer_data(**overrides: Any) -> dict[str, Any]:
    n = next(_counter)
    data = {
        "first_name": "Kofi",
        "last_name": f"Mensah{n}",
        "phone": f"+23324{n:07d}",
        # A prefix no fixture file uses (basic.xlsx holds PM4 KOFI): the counter is shared by the whole session, so
        # the marks a test gets depend on which tests ran before it.
        "shipping_mark": f"FX{n} KOFI",
    }
    data.update(overrides)
    return data


def make_customer(**overrides: Any) -> Customer:
    return Customer.objects.create(**customer_data(**overrides))
