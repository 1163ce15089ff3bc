"""The in-file dedupe gives the same answers with its index in memory and moved to disk."""

from __future__ import annotations

import random
from dataclasses import dataclass

from primepre.imports.dedupe import InFileDedupe, KeyIndex
from primepre.imports.schema import get_schema


@dataclass
class Row:
    row_number: int
    phone: str
    mark_key: str
    email: str | None
    values: tuple = ()


def _rows(seed: int, count: int) -> list[Row]:
    pick = random.Random(seed)
    return [
        Row(
            number,
            f"+23324{pick.randrange(400):07d}",
            f"pm{pick.randrange(500)}",
            pick.choice([None, "", f"a{pick.randrange(300)}@example.com"]),
        )
        for number in range(2, count + 2)
    ]


def _answers(rows: list[Row], spill_after: int, batch: int) -> tuple[list[int], list[tuple]]:
    keys = get_schema("customers").dedupe_keys
    index = KeyIndex([key.attr for key in keys], spill_after=spill_after)
    dedupe = InFileDedupe(index, keys)
    accepted, failures = [], []
    try:
        for start in range(0, len(rows), batch):
            accepted += [row.row_number for row in dedupe.filter(rows[start : start + batch], failures)]
    finally:
        index.close()
    return accepted, [
        (f.row_number, [(e.field, e.code, e.message) for e in f.errors])
        for f in sorted(failures, key=lambda f: f.row_number)
    ]


def test_the_index_in_memory_agrees_with_the_spilled_index() -> None:
    for seed in range(5):
        rows = _rows(seed, 1500)
        fast = _answers(rows, spill_after=10**9, batch=250)
        spilled = _answers(rows, spill_after=0, batch=250)  # on disk after the first batch
        assert fast == spilled
        assert fast[1]  # the data has duplicates of every kind
        assert {code for _, errors in fast[1] for _, code, _ in errors} == {"duplicate_in_file"}
        assert {field for _, errors in fast[1] for field, _, _ in errors} == {"phone", "shipping_mark", "email"}
