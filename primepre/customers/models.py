"""The customer directory.

The rules that make duplicates impossible live in the database, not only in forms: phones are stored in E.164 and
unique, marks are unique on their folded key, emails are lower-case and unique when present. Any code path that
writes customers (admin, API, bulk import) therefore cannot create the old system's twins.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Concat, Length, Lower

from primepre.imports.models import ImportedRecord

from .marks import MARK_KEY_MAX_LENGTH, MARK_MAX_LENGTH, clean_mark, mark_key
from .phones import normalise_phone
from .regions import Region, parse_region
from .text import tidy_text

# `phone__length` in the check constraint below.
models.CharField.register_lookup(Length, "length")


class CustomerType(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    BUSINESS = "business", "Business"


def normalise_email(raw: object) -> str | None:
    """Stored lower-case; an empty value is NULL so any number of customers may have none."""
    text = "" if raw is None else str(raw).strip()
    return text.lower() or None


class Customer(ImportedRecord):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone = models.CharField(
        max_length=16,
        help_text="E.164, e.g. +233241234567. Any common format is accepted and normalised.",
        error_messages={"unique": "A customer with this phone number already exists."},
    )
    shipping_mark = models.CharField(max_length=MARK_MAX_LENGTH, help_text="As written on parcels, e.g. PM4 KOFI.")
    mark_key = models.CharField(
        max_length=MARK_KEY_MAX_LENGTH,
        editable=False,
        help_text="The mark folded for comparison (case, spacing, punctuation and accents removed).",
    )
    # NULL, not "", when absent: NULLs never collide, so the unique constraint only binds real addresses.
    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001
    region = models.CharField(max_length=2, choices=Region.choices, blank=True, default="")
    company_name = models.CharField(max_length=200, blank=True, default="")
    customer_type = models.CharField(max_length=12, choices=CustomerType.choices, default=CustomerType.INDIVIDUAL)
    # The import bookkeeping comes from ImportedRecord; the list is sorted by creation, so that column is indexed.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # What the search box matches, computed by the database on every write (so bulk COPY, the ORM and raw SQL all
    # keep it right). One lower-case column makes a search one LIKE per row instead of five UPPER() LIKEs, faster on
    # both databases (bench/db_costs.py; figures in bench/README.md). No trigram index on it (yet): it would multiply
    # the database's work per inserted row (README, "Search reads one column").
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "first_name",
                models.Value(" "),
                "last_name",
                models.Value(" "),
                "company_name",
                models.Value(" "),
                Coalesce("email", models.Value("")),
                models.Value(" "),
                "mark_key",
                models.Value(" "),
                "phone",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("import_customers", "Can import customers from files"),
            ("export_customers", "Can export customers"),
            ("send_sms", "Can send SMS to customers"),
        ]
        constraints = [
            # A constraint rather than unique=True: same guarantee, without the extra LIKE index Django adds on
            # PostgreSQL for unique text fields (search uses the exact E.164 value).
            models.UniqueConstraint(fields=["phone"], name="customer_phone_unique"),
            models.UniqueConstraint(
                fields=["mark_key"],
                name="customer_mark_key_unique",
                violation_error_message="A customer with this shipping mark already exists.",
            ),
            models.UniqueConstraint(
                fields=["email"],
                condition=Q(email__isnull=False),
                name="customer_email_unique_when_present",
                violation_error_message="A customer with this email already exists.",
            ),
            models.CheckConstraint(condition=~Q(first_name="") & ~Q(last_name=""), name="customer_names_required"),
            models.CheckConstraint(
                condition=Q(phone__startswith="+", phone__length__gte=8, phone__length__lte=16),
                name="customer_phone_e164",
            ),
            models.CheckConstraint(condition=~Q(shipping_mark="") & ~Q(mark_key=""), name="customer_mark_required"),
            models.CheckConstraint(
                condition=Q(email__isnull=True) | (~Q(email="") & Q(email=Lower("email"))),
                name="customer_email_lowercase",
            ),
            models.CheckConstraint(condition=Q(region__in=["", *Region.values]), name="customer_region_valid"),
            models.CheckConstraint(condition=Q(customer_type__in=CustomerType.values), name="customer_type_valid"),
        ]
        indexes = [
            # Sorting by name: last_name alone (PostgreSQL finishes the order with an incremental sort, SQLite with a
            # small temp b-tree per name). The two-column index made bulk inserts slower on both databases for the
            # same plans (bench/db_costs.py; figures in bench/README.md).
            models.Index(fields=["last_name"], name="customer_last_name_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shipping_mark} ({self.first_name} {self.last_name})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalise()
        super().save(*args, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def normalise(self) -> None:
        """Bring the typed values to their stored form; invalid phones are left as typed for `clean` to report."""
        self.first_name = tidy_text(self.first_name)
        self.last_name = tidy_text(self.last_name)
        self.company_name = tidy_text(self.company_name)
        self.shipping_mark = clean_mark(self.shipping_mark)
        self.mark_key = mark_key(self.shipping_mark)
        self.email = normalise_email(self.email)
        if self.region not in Region.values:
            self.region = parse_region(self.region) or self.region  # "Greater Accra" → "AA"; unknown stays for clean
        result = normalise_phone(self.phone, settings.DEFAULT_PHONE_REGION)
        if result.ok:
            self.phone = result.e164

    def clean_fields(self, exclude: Any = None) -> None:
        """Normalise first, so a phone typed as `+233 (0)24 123 4567` is validated in its E.164 form."""
        self.normalise()
        skip = set(exclude or ()) | {"mark_key"}  # derived from shipping_mark, whose own errors say it better
        errors: dict[str, list[ValidationError]] = {}
        if "phone" not in skip:
            result = normalise_phone(self.phone, settings.DEFAULT_PHONE_REGION)
            if not result.ok:
                errors["phone"] = [ValidationError(result.message, code=result.code)]
                skip.add("phone")
        try:
            super().clean_fields(exclude=skip)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def clean(self) -> None:
        errors: dict[str, ValidationError] = {}
        if self.shipping_mark and not self.mark_key:
            errors["shipping_mark"] = ValidationError(
                "A shipping mark needs at least one letter or digit.", code="invalid"
            )
        elif len(self.mark_key) > MARK_KEY_MAX_LENGTH:
            errors["shipping_mark"] = ValidationError("Shipping mark is too long.", code="too_long")
        elif self.mark_key:
            clash = Customer.objects.filter(mark_key=self.mark_key).exclude(pk=self.pk).first()
            if clash is not None:
                errors["shipping_mark"] = ValidationError(
                    "Shipping mark %(mark)s is already used by %(other)s (%(other_mark)s).",
                    code="unique",
                    params={"mark": self.shipping_mark, "other": clash.full_name, "other_mark": clash.shipping_mark},
                )
        for field, label in (("phone", "phone number"), ("email", "email")):
            value = getattr(self, field)
            holder = Customer.objects.filter(**{field: value}).exclude(pk=self.pk).first() if value else None
            if holder is not None:  # staff fixing a record need to know whose it is, not only that it is taken
                errors[field] = ValidationError(
                    "This %(label)s belongs to %(other)s (%(other_mark)s).",
                    code="unique",
                    params={"label": label, "other": holder.full_name, "other_mark": holder.shipping_mark},
                )
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude: Any = None) -> None:
        # The unique phone, mark key and conditional email constraints are checked in clean(), where the error can
        # name its field and the customer who holds the value; Django would report them without either.
        super().validate_constraints(exclude=set(exclude or ()) | {"mark_key", "email", "phone"})
