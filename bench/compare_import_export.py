"""The baseline: import a customer file with django-import-export in its bulk mode, tuned as its documentation advises.

    DATABASE_URL=sqlite:////tmp/x/bench.sqlite3 .venv/bin/python bench/compare_import_export.py FILE --json

Run as a subprocess exactly like `manage.py import_customers FILE --mode create --json`; the last stdout line is the
same JSON summary (plus "engine": "django-import-export"), so bench/run.py measures both the same way.

Tuning, from the "Bulk imports" page of the django-import-export 4.x docs (Performance tuning section) and the
ResourceOptions source (import_export/options.py):

- `use_bulk = True`: instances are collected and written with `bulk_create()`, not one `save()` per row.
- `batch_size = 1000`: the default; the docs say `None` (one batch at the end) was always slower and used more memory.
- `force_init_instance = True`: the import only creates, so no per-row lookup of an existing instance.
- `skip_diff = True`: no deepcopy/compare of each instance (no row diff is needed; also makes `skip_row` a no-op).
- `skip_html_diff = True`: no HTML diff per row (implied by skip_diff, set for clarity).
- `skip_unchanged = False`: "unchanged" only has meaning for updates and needs the diff that skip_diff turns off.
- `use_transactions = True`: the whole import is one transaction (the library's default); in bulk mode import-export
  creates no per-row savepoints, and one commit is the fastest way to write on SQLite. A failed bulk batch would roll
  back everything, which is why rows are fully validated before they reach a batch (below).
- `clean_model_instances = False` (the default): `full_clean()` would run two uniqueness queries per row through
  `Customer.clean()`; `--full-clean` turns it on to show its cost.
- `store_instance = False`, `store_row_values = False`: the defaults, so results do not keep every row alive.
- `import_data(raise_errors=False, collect_failed_rows=True)`: invalid rows are reported, not raised.

`bulk_create()` bypasses `Customer.save()`, so the resource does what `Customer.normalise()` does, in widget `clean`
methods (the place import-export gives for per-field conversion): the phone to E.164 with `normalise_phone`, names and
company tidied, the mark cleaned and `mark_key` derived, the email lower-cased and validated, the region parsed. A value
they refuse raises ValueError, which import-export turns into a per-row validation error. Uniqueness cannot be left to
the database either (one duplicate would fail its whole batch of 1,000 and roll back the import), so
`validate_instance` checks phone, mark key and email against the keys already in the table and those seen earlier in
the file, in memory.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource as rusage
import sys
import time
from pathlib import Path
from typing import Any

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

import tablib  # noqa: E402 - after django.setup(): the resource needs the app registry
from django.conf import settings  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.validators import validate_email  # noqa: E402
from import_export import fields, resources, widgets  # noqa: E402
from import_export.results import Result  # noqa: E402

from primepre.customers.marks import MARK_KEY_MAX_LENGTH, MARK_MAX_LENGTH, clean_mark, mark_key  # noqa: E402
from primepre.customers.models import Customer, normalise_email  # noqa: E402
from primepre.customers.phones import normalise_phone  # noqa: E402
from primepre.customers.regions import parse_region  # noqa: E402
from primepre.customers.text import tidy_text  # noqa: E402

ENGINE = "django-import-export"

# Header spellings (folded with mark_key: case, spaces and punctuation ignored) → canonical column names.
HEADER_ALIASES: dict[str, str] = {
    **dict.fromkeys(["shippingmark", "mark", "clientmark", "customermark"], "shipping_mark"),
    **dict.fromkeys(["firstname", "first", "givenname", "othernames"], "first_name"),
    **dict.fromkeys(["lastname", "surname", "familyname"], "last_name"),
    **dict.fromkeys(["name", "fullname", "customername", "clientname", "namefullnameinonecolumn"], "full_name"),
    **dict.fromkeys(["phone", "phonenumber", "tel", "telephone", "mobile", "mobilenumber", "phoneno"], "phone"),
    **dict.fromkeys(["email", "emailaddress", "mail"], "email"),
    "region": "region",
    **dict.fromkeys(["company", "companyname", "business", "businessname"], "company_name"),
}


class TextWidget(widgets.Widget):
    """Trimmed, inner spaces collapsed (tidy_text, as Customer.normalise); required and length as the model says."""

    def __init__(self, required: bool, max_length: int) -> None:
        super().__init__()
        self.required = required
        self.max_length = max_length

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        text = tidy_text(value)
        if self.required and not text:
            raise ValueError("This field is required.")
        if len(text) > self.max_length:
            raise ValueError(f"At most {self.max_length} characters.")
        return text


class MarkWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        mark = clean_mark(value)
        key = mark_key(mark)
        if not mark:
            raise ValueError("Shipping mark is required.")
        if not key:
            raise ValueError("A shipping mark needs at least one letter or digit.")
        if len(mark) > MARK_MAX_LENGTH or len(key) > MARK_KEY_MAX_LENGTH:
            raise ValueError("Shipping mark is too long.")
        return mark


class PhoneWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        result = normalise_phone(value, settings.DEFAULT_PHONE_REGION)
        if not result.ok:
            raise ValueError(result.message)
        return result.e164 or ""


class EmailWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str | None:
        email = normalise_email(value)
        if email is None:
            return None
        if len(email) > 254:
            raise ValueError("Email is too long.")
        try:
            validate_email(email)
        except ValidationError as exc:
            raise ValueError("Enter a valid email address.") from exc
        return email


class RegionWidget(widgets.Widget):
    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> str:
        region = parse_region(value)
        if region is None:
            raise ValueError(f"Unknown region {tidy_text(value)!r}.")
        return region


class CustomerResource(resources.ModelResource):
    shipping_mark = fields.Field(attribute="shipping_mark", column_name="shipping_mark", widget=MarkWidget())
    first_name = fields.Field(attribute="first_name", column_name="first_name", widget=TextWidget(True, 100))
    last_name = fields.Field(attribute="last_name", column_name="last_name", widget=TextWidget(True, 100))
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    email = fields.Field(attribute="email", column_name="email", widget=EmailWidget())
    region = fields.Field(attribute="region", column_name="region", widget=RegionWidget())
    company_name = fields.Field(attribute="company_name", column_name="company_name", widget=TextWidget(False, 200))

    class Meta:
        model = Customer
        fields = ("shipping_mark", "first_name", "last_name", "phone", "email", "region", "company_name")
        use_bulk = True
        batch_size = 1000
        force_init_instance = True
        skip_diff = True
        skip_html_diff = True
        skip_unchanged = False
        use_transactions = True
        clean_model_instances = False
        store_instance = False
        store_row_values = False

    dedupe = True  # False (--no-dedupe): leave uniqueness to the database, to show what one duplicate does to a batch

    def before_import(self, dataset: tablib.Dataset, **kwargs: Any) -> None:
        """Split a one-column name; load the keys already in the table, so a repeat fails its row, not its batch."""
        if "full_name" in (dataset.headers or []):
            # The first word is the first name, the rest the last name. Done on the dataset, not the row dict:
            # collect_failed_rows copies rows into a dataset of the original width.
            parts = [tidy_text(value).partition(" ") for value in dataset["full_name"]]
            dataset.append_col([first for first, _, _ in parts], header="first_name")
            dataset.append_col([last for _, _, last in parts], header="last_name")
        self.phones: set[str] = set(Customer.objects.values_list("phone", flat=True).iterator())
        self.mark_keys: set[str] = set(Customer.objects.values_list("mark_key", flat=True).iterator())
        self.emails: set[str] = set(Customer.objects.exclude(email=None).values_list("email", flat=True).iterator())

    def validate_instance(
        self, instance: Customer, import_validation_errors: dict[str, Any] | None = None, validate_unique: bool = True
    ) -> None:
        """Derive mark_key (bulk_create skips Customer.save) and reject duplicates of the table or of earlier rows."""
        errors: dict[str, Any] = dict(import_validation_errors or {})
        instance.mark_key = mark_key(instance.shipping_mark)
        if not self.dedupe:
            super().validate_instance(instance, errors, validate_unique)
            return
        if "phone" not in errors and instance.phone in self.phones:
            errors["phone"] = [ValidationError("A customer with this phone number already exists.", code="unique")]
        if "shipping_mark" not in errors and instance.mark_key in self.mark_keys:
            errors["shipping_mark"] = [ValidationError("A customer with this shipping mark already exists.", "unique")]
        if "email" not in errors and instance.email and instance.email in self.emails:
            errors["email"] = [ValidationError("A customer with this email already exists.", code="unique")]
        if not errors:
            self.phones.add(instance.phone)
            self.mark_keys.add(instance.mark_key)
            if instance.email:
                self.emails.add(instance.email)
        super().validate_instance(instance, errors, validate_unique)


def load_dataset(path: Path) -> tablib.Dataset:
    """tablib reads xlsx through openpyxl (read-only mode) and csv through the csv module, all into memory."""
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        with path.open("rb") as handle:
            return tablib.Dataset().load(handle, format="xlsx")
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        return tablib.Dataset().load(handle, format="csv")


def map_headers(dataset: tablib.Dataset) -> list[str]:
    """Rename the file's headers to the resource's column names; unknown columns keep their name (and are ignored)."""
    renamed = [HEADER_ALIASES.get(mark_key(header), str(header)) for header in dataset.headers or []]
    dataset.headers = renamed
    has_names = {"first_name", "last_name"} <= set(renamed) or "full_name" in renamed
    missing = [column for column in ("shipping_mark", "phone") if column not in renamed]
    if missing or not has_names:
        raise SystemExit(f"missing required columns: {missing or ['first_name/last_name or full_name']}")
    return renamed


def failure_breakdown(result: Result) -> dict[str, int]:
    """Failed rows by `field/code` of their first error: lets the driver compare them with the planted defects."""
    counts: collections.Counter[str] = collections.Counter()
    for invalid in result.invalid_rows:
        error_dict = getattr(invalid.error, "error_dict", {"__all__": [invalid.error]})
        field, errors = next(iter(error_dict.items()))
        counts[f"{field}/{getattr(errors[0], 'code', None) or 'invalid'}"] += 1
    for error_row in result.error_rows:
        counts[f"error/{type(error_row.errors[0].error).__name__}"] += 1
    return dict(counts.most_common())


def run(path: Path, batch_size: int, dry_run: bool, full_clean: bool, dedupe: bool = True) -> dict[str, Any]:
    """Import `path`; timing starts at opening the file and ends when import_data has committed."""
    CustomerResource._meta.batch_size = batch_size
    CustomerResource._meta.clean_model_instances = full_clean
    CustomerResource.dedupe = dedupe
    before = Customer.objects.count()

    started = time.perf_counter()
    dataset = load_dataset(path)
    loaded = time.perf_counter()
    map_headers(dataset)
    result = CustomerResource().import_data(
        dataset, dry_run=dry_run, raise_errors=False, use_transactions=True, collect_failed_rows=True
    )
    seconds = time.perf_counter() - started

    read = len(dataset)
    created = Customer.objects.count() - before
    failed = result.totals["invalid"] + result.totals["error"]
    base_errors = [f"{type(error.error).__name__}: {error.error}"[:300] for error in result.base_errors]
    return {
        "engine": ENGINE,
        "job": None,
        "status": "failed" if base_errors else "succeeded",
        "read": read,
        "created": created,
        "updated": 0,
        "unchanged": 0,
        "failed": failed,
        # Rows the resource accepted that are not in the table (a failed bulk batch, or a dry run).
        "lost": read - created - failed,
        "seconds": round(seconds, 3),
        "rows_per_second": round(read / seconds, 1) if seconds else 0.0,
        "load_seconds": round(loaded - started, 3),
        "failed_by": failure_breakdown(result),
        "base_errors": base_errors[:5],
        "maxrss_mb": round(rusage.getrusage(rusage.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "settings": {
            "use_bulk": True,
            "batch_size": batch_size,
            "force_init_instance": True,
            "skip_diff": True,
            "use_transactions": True,
            "clean_model_instances": full_clean,
            "dedupe_in_memory": dedupe,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Import customers with django-import-export (bulk mode).")
    parser.add_argument("file", type=Path)
    parser.add_argument("--mode", choices=["create"], default="create", help="only create is compared")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--full-clean", action="store_true", help="also run Customer.full_clean() on every row")
    parser.add_argument(
        "--no-dedupe", action="store_true", help="skip the in-memory uniqueness checks (shows a batch failing)"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON summary line")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    summary = run(args.file, args.batch_size, args.dry_run, args.full_clean, not args.no_dedupe)
    if not args.json:
        print(
            f"{ENGINE}: read {summary['read']}, created {summary['created']}, failed {summary['failed']} "
            f"in {summary['seconds']} s ({summary['rows_per_second']} rows/s)"
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
