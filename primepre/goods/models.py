"""Goods received at the China warehouses, and the marks that stand for a customer.

As for customers, the rules live in the database: a receipt has at least one carton and no negative volume, a matched
receipt is never `unidentified` and an unidentified one has no customer, and a supplier's tracking number is recorded
once. Every path that writes receipts (the import, the API, the admin, resolving a mark) is held by them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from primepre.customers.marks import MARK_KEY_MAX_LENGTH, MARK_MAX_LENGTH, clean_mark, mark_key
from primepre.customers.text import tidy_text
from primepre.imports.models import ImportedRecord

from .cleaning import DESCRIPTION_MAX, SPECIFICATION_MAX, TRACKING_MAX, tracking_key
from .warehouses import WAREHOUSE_CODE_MAX, warehouses


class Method(models.TextChoices):
    SEA = "sea", "Sea"
    AIR = "air", "Air"


class ReceiptStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    UNIDENTIFIED = "unidentified", "Unidentified"
    ON_HOLD = "on_hold", "On hold"
    CANCELLED = "cancelled", "Cancelled"


def validate_warehouse(code: str) -> None:
    if code not in warehouses():
        raise ValidationError(
            "%(code)s is not one of our warehouses (%(known)s).",
            code="invalid_warehouse",
            params={"code": code, "known": ", ".join(warehouses())},
        )


# Fields a receipt's save() leaves to others: the primary key, and the loaded cartons (goods.loading).
_NOT_SAVED = frozenset({"id", "cartons_loaded"})


class GoodsReceipt(ImportedRecord):
    # PROTECT: goods are physical things in a warehouse that belong to someone. Deleting their customer must be
    # refused (and say why), not leave cartons owned by nobody, which SET_NULL would do, and which the
    # `goods_received_has_customer` rule below forbids anyway.
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="goods_receipts",
        db_index=False,  # the (customer, received_on) index below serves every lookup by customer
    )
    shipping_mark = models.CharField(max_length=MARK_MAX_LENGTH, help_text="As written on the parcel or the sheet.")
    mark_key = models.CharField(max_length=MARK_KEY_MAX_LENGTH, editable=False)
    warehouse = models.CharField(max_length=WAREHOUSE_CODE_MAX, validators=[validate_warehouse])
    received_on = models.DateField()
    description = models.CharField(max_length=DESCRIPTION_MAX, blank=True, default="")
    cartons = models.PositiveIntegerField()
    # Cartons on shipments' loading lists. Only `goods.loading` moves it, with one conditional UPDATE; `save()` never
    # writes it back (a form's copy may be stale). The database holds it within what was received.
    cartons_loaded = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    cbm = models.DecimalField("CBM", max_digits=10, decimal_places=3)
    length_cm = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    width_cm = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField("Weight (kg)", max_digits=10, decimal_places=2, null=True, blank=True)
    tracking_number = models.CharField(max_length=TRACKING_MAX, blank=True, default="")
    tracking_key = models.CharField(max_length=TRACKING_MAX, blank=True, default="", editable=False)
    method = models.CharField(max_length=3, choices=Method.choices, default=Method.SEA)
    status = models.CharField(max_length=12, choices=ReceiptStatus.choices, default=ReceiptStatus.RECEIVED)
    notes = models.TextField(blank=True, default="")
    # The sheet's SPECIFICATIONS when they are not carton dimensions: the system we replace used the column for a
    # grade or a note (`Class A`, `Premium`), which is kept as written rather than failing the line.
    specification = models.CharField(max_length=SPECIFICATION_MAX, blank=True, default="")

    class Meta:
        ordering = ["-received_on", "-id"]
        permissions = [
            ("import_goods", "Can import goods-received sheets"),
            ("resolve_marks", "Can resolve unknown shipping marks"),
        ]
        constraints = [
            # Every line of a sheet is at least one carton; zero is a typo, not a receipt.
            models.CheckConstraint(condition=Q(cartons__gte=1), name="goods_cartons_positive"),
            # Over all loading-list lines of a receipt, cartons loaded ≤ cartons received (partial loads, splits).
            models.CheckConstraint(
                condition=Q(cartons_loaded__lte=models.F("cartons")), name="goods_cartons_loaded_within_received"
            ),
            # Volume is billed: a negative one would credit the customer.
            models.CheckConstraint(condition=Q(cbm__gte=0), name="goods_cbm_not_negative"),
            # Weight is billed for air: optional, never negative.
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=0), name="goods_weight_not_negative"
            ),
            # Dimensions are a carton's three sides or nothing: one side alone computes no volume.
            models.CheckConstraint(
                condition=Q(length_cm__isnull=True, width_cm__isnull=True, height_cm__isnull=True)
                # isnull=False spelled out: a NULL side makes `> 0` unknown, which a CHECK lets through.
                | Q(
                    length_cm__isnull=False,
                    width_cm__isnull=False,
                    height_cm__isnull=False,
                    length_cm__gt=0,
                    width_cm__gt=0,
                    height_cm__gt=0,
                ),
                name="goods_dimensions_all_or_none",
            ),
            # Unknown values would match no filter and no bill.
            models.CheckConstraint(condition=Q(status__in=ReceiptStatus.values), name="goods_status_valid"),
            models.CheckConstraint(condition=Q(method__in=Method.values), name="goods_method_valid"),
            # Unidentified means nobody's yet: it never carries a customer...
            models.CheckConstraint(
                condition=~Q(status=ReceiptStatus.UNIDENTIFIED) | Q(customer__isnull=True),
                name="goods_unidentified_has_no_customer",
            ),
            # ...and a received (matched) receipt always does, so the queue and the customer's goods never overlap.
            models.CheckConstraint(
                condition=~Q(status=ReceiptStatus.RECEIVED) | Q(customer__isnull=False),
                name="goods_received_has_customer",
            ),
            # Matching is by the key: a receipt without one could never be matched or queued.
            models.CheckConstraint(condition=~Q(shipping_mark="") & ~Q(mark_key=""), name="goods_mark_required"),
            models.CheckConstraint(condition=~Q(warehouse=""), name="goods_warehouse_required"),
            # The key is derived from the number: both present or both empty.
            models.CheckConstraint(
                condition=Q(tracking_number="", tracking_key="") | (~Q(tracking_number="") & ~Q(tracking_key="")),
                name="goods_tracking_key_with_number",
            ),
            # A supplier's parcel is received once: a second line with its tracking number is a duplicate, never
            # a silent overwrite. Receipts without a number are not compared.
            models.UniqueConstraint(
                fields=["tracking_key"],
                condition=~Q(tracking_key=""),
                name="goods_tracking_key_unique",
                violation_error_message="A receipt with this tracking number already exists.",
            ),
        ]
        indexes = [
            # The unknown-mark queue groups unidentified receipts by key, and resolving a mark updates them by key:
            # a partial index holds only the (few) unidentified rows.
            models.Index(
                fields=["mark_key"], condition=Q(status=ReceiptStatus.UNIDENTIFIED), name="goods_unidentified_mark_idx"
            ),
            # A customer's goods, newest first, and the receipt SMS's per-customer-per-day totals.
            models.Index(fields=["customer", "received_on"], name="goods_customer_received_idx"),
            # The goods list, newest first, and its date filters.
            models.Index(fields=["received_on", "id"], name="goods_received_on_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shipping_mark} {self.received_on} ({self.cartons} ctns)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalise()
        if self.pk is not None and not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [f.attname for f in self._meta.concrete_fields if f.name not in _NOT_SAVED]
        super().save(*args, **kwargs)

    @property
    def loading_state(self) -> str:
        """Derived, never typed: waiting (nothing loaded), part loaded, or loaded."""
        if not self.cartons_loaded:
            return "waiting"
        return "loaded" if self.cartons_loaded >= self.cartons else "part loaded"

    def normalise(self) -> None:
        self.shipping_mark = clean_mark(self.shipping_mark)
        self.mark_key = mark_key(self.shipping_mark)
        self.description = tidy_text(self.description)
        self.tracking_number = tidy_text(self.tracking_number)
        self.tracking_key = tracking_key(self.tracking_number)
        self.warehouse = tidy_text(self.warehouse).upper()

    def clean_fields(self, exclude: Any = None) -> None:
        self.normalise()
        super().clean_fields(exclude=set(exclude or ()) | {"mark_key", "tracking_key"})

    def clean(self) -> None:
        """The database's rules as field errors, so the API and the admin say which field is wrong."""
        errors: dict[str, ValidationError] = {}
        if self.shipping_mark and not self.mark_key:
            errors["shipping_mark"] = ValidationError("A shipping mark needs a letter or digit.", code="invalid_mark")
        if self.status == ReceiptStatus.UNIDENTIFIED and self.customer_id is not None:
            errors["status"] = ValidationError(
                "A receipt with a customer cannot be unidentified; choose received, on hold or cancelled.",
                code="customer_status",
            )
        elif self.status == ReceiptStatus.RECEIVED and self.customer_id is None:
            errors["customer"] = ValidationError(
                "A received receipt needs its customer (or mark it unidentified).", code="customer_status"
            )
        if self.cartons is not None and self.cartons < 1:
            errors["cartons"] = ValidationError("At least 1 carton.", code="invalid_cartons")
        elif self.cartons is not None and self.cartons < self.cartons_loaded:
            errors["cartons"] = ValidationError(
                f"{self.cartons_loaded} cartons are on loading lists: unload them before counting fewer.",
                code="cartons_loaded",
            )
        sides = (self.length_cm, self.width_cm, self.height_cm)
        if any(side is not None for side in sides) and not all(side is not None and side > 0 for side in sides):
            errors["length_cm"] = ValidationError(
                "Give all three carton dimensions (more than 0 cm each) or none.", code="invalid_dimensions"
            )
        if self.tracking_key and (
            GoodsReceipt.objects.filter(tracking_key=self.tracking_key).exclude(pk=self.pk).exists()
        ):
            errors["tracking_number"] = ValidationError(
                "Tracking number %(number)s is already recorded on another receipt.",
                code="exists",
                params={"number": self.tracking_number},
            )
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude: Any = None) -> None:
        # tracking_key's uniqueness is checked in clean(), where the error names its field.
        super().validate_constraints(exclude=set(exclude or ()) | {"tracking_key"})


class MarkLeft(models.Model):
    """An unknown mark staff chose to leave for now ("Leave unidentified"): the queue hides it until a receipt with
    that mark arrives after `left_at` (then it is worth another look) or someone shows the left marks."""

    mark_key = models.CharField(max_length=MARK_KEY_MAX_LENGTH)
    left_at = models.DateTimeField(default=timezone.now)
    left_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mark_key"], name="goods_left_mark_key_unique")]

    def __str__(self) -> str:
        return f"{self.mark_key} left {self.left_at:%Y-%m-%d}"


class MarkAlias(models.Model):
    """A mark that belongs to a customer although it is not their own (`PM4 KOFFI` for `PM4 KOFI`): made when staff
    resolve an unknown mark, used by every later match. Matching looks at customers' own keys first."""

    mark_key = models.CharField(max_length=MARK_KEY_MAX_LENGTH)
    shipping_mark = models.CharField(max_length=MARK_MAX_LENGTH, help_text="The mark as it was written.")
    # CASCADE: an alias means nothing without its customer (and receipts, not aliases, are what PROTECT guards).
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="mark_aliases")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "mark aliases"
        ordering = ["mark_key"]
        constraints = [
            # One owner per mark: two staff resolving the same mark at once cannot both win.
            models.UniqueConstraint(fields=["mark_key"], name="goods_alias_mark_key_unique"),
            # An empty key would match every mark-less line.
            models.CheckConstraint(condition=~Q(mark_key=""), name="goods_alias_mark_key_required"),
        ]

    def __str__(self) -> str:
        return f"{self.shipping_mark} → customer {self.customer_id}"


class ChangeSource(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin", "Admin"
    RESOLVE = "resolve", "Mark resolved"
    PAGE = "page", "Receipt page"


class ReceiptChange(models.Model):
    """One change to a receipt: who, when, by which path, and each changed field's value before → after.

    Bills, containers and customers' texts are computed from receipts (their customer, cartons, CBM, weight, status),
    so every change to one is kept: written in the change's own transaction (`history.py`), never edited or deleted
    (no admin of its own; PROTECT: a receipt with history is never deleted, and undo keeps changed receipts)."""

    receipt = models.ForeignKey(GoodsReceipt, on_delete=models.PROTECT, related_name="changes", db_index=False)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The username as it was: the record still says who when the account is renamed or deleted.
    changed_by_name = models.CharField(max_length=150, blank=True, default="")
    source = models.CharField(max_length=8, choices=ChangeSource.choices)
    changes = models.JSONField(help_text='Each changed field: {"cartons": {"before": 2, "after": 3}}.')
    # Why, in the words of whoever changed it: required on the receipt page for a hold, a cancel and a reassignment.
    reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["receipt", "changed_at"], name="goods_change_receipt_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=ChangeSource.values), name="goods_change_source_valid"),
            # A record says what changed: an empty one would be a change nobody can read.
            models.CheckConstraint(condition=~Q(changes={}), name="goods_change_not_empty"),
        ]

    def __str__(self) -> str:
        return f"receipt {self.receipt_id} {self.changed_at:%Y-%m-%d %H:%M} {', '.join(self.changes)}"
