"""Shipments (a sea container or an air batch), their loading-list lines and one consignment per customer.

The rules that matter are the database's: a line loads at least one carton, once per receipt and shipment; the
cartons of all lines of a receipt never exceed what was received (`goods_cartons_loaded_within_received`, kept by
`GoodsReceipt.cartons_loaded`, which loading moves with one conditional UPDATE); one consignment per customer and
shipment; a sea shipment is closed only with its container number; an air batch has no container.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from primepre.goods.warehouses import WAREHOUSE_CODE_MAX

from .equipment import EQUIPMENT_CHOICES

CONTAINER_NUMBER_LENGTH = 11


class Mode(models.TextChoices):
    SEA = "sea", "Sea"
    AIR = "air", "Air"


class ShipmentStatus(models.TextChoices):
    # The milestones issue extends this (departed, arrived, …): a status is a field, not a hard-coded pair.
    OPEN = "open", "Open (loading)"
    CLOSED = "closed", "Closed (list frozen)"
    CANCELLED = "cancelled", "Cancelled"


class Shipment(models.Model):
    reference = models.CharField(max_length=32, unique=True, help_text="GZ-SEA-2026-041: origin, mode, year, number.")
    mode = models.CharField(max_length=3, choices=Mode.choices)
    equipment = models.CharField(max_length=4, choices=EQUIPMENT_CHOICES)
    container_number = models.CharField(max_length=CONTAINER_NUMBER_LENGTH, blank=True, default="")
    seal_number = models.CharField(max_length=30, blank=True, default="")
    carrier = models.CharField(max_length=100, blank=True, default="")
    bill_of_lading = models.CharField(
        max_length=40, blank=True, default="", help_text="B/L, or the master air waybill."
    )
    vessel_or_flight = models.CharField(max_length=100, blank=True, default="", help_text="Vessel/voyage or flight.")
    origin_warehouse = models.CharField(max_length=WAREHOUSE_CODE_MAX)
    destination = models.CharField(max_length=100, default="Tema → Accra warehouse")
    etd = models.DateField(null=True, blank=True, help_text="Planned departure.")
    eta = models.DateField(null=True, blank=True, help_text="Planned arrival.")
    notes = models.TextField(blank=True, default="")
    status = models.CharField(max_length=12, choices=ShipmentStatus.choices, default=ShipmentStatus.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("close_shipment", "Can close and reopen shipments and override their capacity")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ShipmentStatus.values), name="shipment_status_valid"),
            models.CheckConstraint(
                condition=Q(mode=Mode.AIR, equipment="AIR", container_number="")
                | (Q(mode=Mode.SEA) & ~Q(equipment="AIR")),
                name="shipment_equipment_fits_mode",
            ),
            # Optional while loading; a sea list is frozen only once the box it went into is known.
            models.CheckConstraint(
                condition=~Q(mode=Mode.SEA, status=ShipmentStatus.CLOSED) | ~Q(container_number=""),
                name="shipment_closed_sea_has_container",
            ),
            models.CheckConstraint(condition=~Q(origin_warehouse=""), name="shipment_origin_required"),
        ]

    def __str__(self) -> str:
        return self.reference


class Consignment(models.Model):
    """One customer's goods in one shipment: the unit later tracked, invoiced, released and shown to the customer."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="consignments")
    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="consignments")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shipment", "customer"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "shipment"], name="consignment_one_per_customer_and_shipment")
        ]

    def __str__(self) -> str:
        return f"{self.shipment} · {self.customer}"


class ShipmentLine(models.Model):
    """A loading-list line: some or all cartons of one receipt, in one shipment."""

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="lines")
    consignment = models.ForeignKey(Consignment, on_delete=models.PROTECT, related_name="lines")
    receipt = models.ForeignKey("goods.GoodsReceipt", on_delete=models.PROTECT, related_name="shipment_lines")
    cartons = models.PositiveIntegerField()
    cbm = models.DecimalField(max_digits=10, decimal_places=3, help_text="Pro rata of the receipt unless measured.")
    weight_kg = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    measured = models.BooleanField(default=False, help_text="CBM and kg measured at loading, not pro rata.")
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    loaded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shipment", "receipt"]
        constraints = [
            models.CheckConstraint(condition=Q(cartons__gte=1), name="shipment_line_has_cartons"),
            models.CheckConstraint(condition=Q(cbm__gte=0), name="shipment_line_cbm_not_negative"),
            models.UniqueConstraint(fields=["shipment", "receipt"], name="shipment_line_once_per_receipt"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment}: {self.cartons} ctns of receipt {self.receipt_id}"


class ShipmentAction(models.TextChoices):
    CREATE = "create", "Created"
    LOAD = "load", "Loaded"
    UNLOAD = "unload", "Unloaded"
    CLOSE = "close", "Closed"
    REOPEN = "reopen", "Reopened"
    CANCEL = "cancel", "Cancelled"
    OVERRIDE = "override", "Capacity overridden"


class ShipmentChange(models.Model):
    """The shipment's audit trail: who did what, when, and why (a reopen and an override always say why). Appended,
    never edited."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=ShipmentAction.choices)
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shipment", "changed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action__in=["reopen", "override"]) | ~Q(reason=""), name="shipment_change_reason_given"
            )
        ]

    def __str__(self) -> str:
        return f"{self.shipment} {self.action} {self.changed_at:%Y-%m-%d %H:%M}"
