"""Per-row costs of cleaning, against the library calls they replace (no database).

    .venv/bin/python bench/micro.py [--rows 100000] [--repeat 3]

On the `make bench` CSV file (made by generate.py if missing), prints microseconds per value for:
- our phone normalisation (fast path, then phonenumbers' full parse when it declines) vs the full parse alone;
- validity of an already-split national number: our precompiled plan vs `phonenumbers.is_valid_number`;
- email: `email_is_valid` (Django's patterns compiled once) vs Django's `validate_email`;
- one whole row through `CustomerCleaner.clean` (customers/import_schema.py);
- the same for what is refused: invalid phones, invalid emails, rows the cleaner fails.
Each figure is the best of `--repeat` runs. Tests (tests/customers/test_phones.py,
tests/imports/test_schema.py) check that the fast versions give the libraries' answers; this only measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-micro-not-a-secret")  # no request is served; settings need one

import django  # noqa: E402

django.setup()

import phonenumbers  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.validators import validate_email  # noqa: E402
from run import ensure_file  # noqa: E402

from primepre.customers.import_schema import CustomerCleaner, email_is_valid  # noqa: E402
from primepre.customers.phone_fast import is_valid_national  # noqa: E402
from primepre.customers.phones import normalise_phone, normalise_phone_slow  # noqa: E402
from primepre.imports.columns import detect_columns  # noqa: E402
from primepre.imports.readers import open_rows  # noqa: E402
from primepre.imports.schema import get_schema  # noqa: E402


def best_us(function: Callable[[Any], Any], values: Sequence[Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for value in values:
            function(value)
        best = min(best, time.perf_counter() - started)
    return best / max(1, len(values)) * 1e6


def django_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="size of the bench CSV to read")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    path, _ = ensure_file(args.rows, "csv", 1, 0.02, "standard")
    table = open_rows(Path(path))
    mapping, leftovers = detect_columns(table.rows, get_schema("customers"), region="GH")
    rows = [*leftovers, *table.rows]
    table.close()
    fields = mapping.fields

    def column(name: str) -> list[Any]:
        index = fields[name]
        return [values[index] if index < len(values) else "" for _, values in rows]

    phones = column("phone")
    results = [normalise_phone(value, "GH") for value in phones]
    valid = [result.e164 for result in results if result.ok and result.e164 and result.e164.startswith("+233")]
    nationals = [e164[4:] for e164 in valid]
    numbers = [phonenumbers.PhoneNumber(country_code=233, national_number=int(n)) for n in nationals]
    emails = [value.strip().lower() for value in column("email") if value and value.strip()]
    cleaner = CustomerCleaner(mapping.fields, region="GH", generate_marks=False)
    refused_phones = [value for value, result in zip(phones, results, strict=True) if not result.ok]
    refused_emails = [value for value in emails if not django_email(value)]
    failing_rows = [item for item in rows if cleaner.clean(*item)[0] is None]

    cases: list[tuple[str, Callable[[Any], Any], Sequence[Any]]] = [
        ("phone, normalise_phone (ours)", lambda v: normalise_phone(v, "GH"), phones),
        ("phone, phonenumbers full parse", lambda v: normalise_phone_slow(v, "GH"), phones),
        ("validity, precompiled plan (ours)", lambda n: is_valid_national(n, "233", "GH"), nationals),
        ("validity, phonenumbers.is_valid_number", phonenumbers.is_valid_number, numbers),
        ("email, email_is_valid (ours)", email_is_valid, emails),
        ("email, Django validate_email", django_email, emails),
        ("whole row, CustomerCleaner.clean", lambda item: cleaner.clean(*item), rows),
        ("refused phone, normalise_phone (ours)", lambda v: normalise_phone(v, "GH"), refused_phones),
        ("refused phone, phonenumbers full parse", lambda v: normalise_phone_slow(v, "GH"), refused_phones),
        ("refused email, email_is_valid (ours)", email_is_valid, refused_emails),
        ("refused email, Django validate_email", django_email, refused_emails),
        ("failing row, CustomerCleaner.clean", lambda item: cleaner.clean(*item), failing_rows),
    ]
    lines = [(label, best_us(function, values, args.repeat)) for label, function, values in cases]
    print(f"{path.name}: {len(rows):,} rows, {len(phones):,} phones, {len(nationals):,} valid +233 numbers, ", end="")
    print(f"{len(emails):,} emails; refused: {len(refused_phones):,} phones, {len(refused_emails):,} emails, ", end="")
    print(f"{len(failing_rows):,} rows failing in the cleaner")
    for label, micros in lines:
        print(f"  {label:<42} {micros:6.2f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
