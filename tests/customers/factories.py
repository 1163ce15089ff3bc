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
        "shipping_mark": f"PM{n} KOFI",
    }
    data.update(overrides)
    return data


def make_customer(**overrides: Any) -> Customer:
    return Customer.objects.create(**customer_data(**overrides))
