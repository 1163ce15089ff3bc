"""What the shipments API reads and writes: shipments with their fill, loading-list lines grouped by consignment,
the bodies of the actions (load, close, reopen, cancel) and consignments with their totals.

CBM, kg and percentages are decimal strings (`"12.345"`), never floats, as everywhere in the API."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from primepre.common.filters import MAX_ID
from primepre.goods.cleaning import CARTONS_MAX
from primepre.goods.warehouses import default_warehouse, warehouse_name, warehouses

from .capacity import ZERO, Fill, fill_of
from .equipment import EQUIPMENT_CHOICES, equipment
from .iso6346 import ContainerNumberError, clean_container_number
from .models import Consignment, Shipment, ShipmentLine

# A loading list is at most a 40HC's 2,000-odd lines: one request loads them all (one transaction).
MAX_LOAD = 2000
REASON_MAX = 500
NOTES_MAX = 5000
# The shape the schema states and the field checks before anything else, so a client (or the fuzzer) is told exactly
# which text is a container number: 3 letters, U/J/Z, 7 digits, with spaces, `-`, `.` or `/` anywhere between.
_SEP = r"[\s\-./]*"
# Separators alone are blank (the schema's other branch is the empty string).
CONTAINER_PATTERN = rf"^(?:{_SEP}(?:[A-Za-z]{_SEP}){{3}}[UJZujz](?:{_SEP}[0-9]){{7}}{_SEP}|[\s\-./]+)$"
_CONTAINER_SHAPE = re.compile(CONTAINER_PATTERN)


class TextField(serializers.CharField):
    """Text, and only text: DRF's CharField would take the number 0 as "0" where the schema says a string."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class TextFieldSchema(OpenApiSerializerFieldExtension):
    """As the API's CharField (`primepre.common.api.TrimmedTextField`): a request's text that may not be blank needs
    a character other than whitespace (`pattern: \\S`), since the field trims it."""

    target_class = TextField

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and self.target.trim_whitespace and not self.target.allow_blank:
            schema.setdefault("pattern", r"\S")
        return schema


@extend_schema_field(
    {
        "type": "string",
        "pattern": CONTAINER_PATTERN,
        "maxLength": 40,
        "description": "ISO 6346 (e.g. CSQU3054383): owner code, U/J/Z, serial, check digit; empty clears it.",
    }
)
class ContainerNumberField(TextField):
    """An ISO 6346 container number, stored without separators and upper-cased; its check digit must hold (a typo
    sends a customer to look for the wrong box). Empty is allowed: not known yet."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        if not _CONTAINER_SHAPE.fullmatch(text):
            message = f"{text[:40]!r} is not a container number: 3 letters, U, J or Z, then 7 digits."
            raise serializers.ValidationError(message, code="invalid_container_shape")
        if not re.sub(r"[\s\-./]", "", text):
            return ""
        try:
            return clean_container_number(text)
        except ContainerNumberError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc


def _cbm(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=3, read_only=True, **kwargs)


def _kg(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True, **kwargs)


def _percent(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=1, read_only=True, allow_null=True, **kwargs)


class FillSerializer(serializers.Serializer):
    """How full the shipment is, by CBM and kg, against its equipment (all null limits: an air batch has none)."""

    cartons = serializers.IntegerField(read_only=True)
    cbm = _cbm()
    kg = _kg()
    usable_cbm = _cbm(allow_null=True, help_text="What loose cartons fill in practice; past it is a warning.")
    nominal_cbm = _cbm(allow_null=True, help_text="The box's inside; past it needs an override.")
    payload_kg = _kg(allow_null=True, help_text="The most cargo by weight; past it needs an override.")
    cbm_percent = _percent(help_text="Of the usable volume.")
    kg_percent = _percent(help_text="Of the payload.")
    binding = serializers.CharField(read_only=True, help_text='"volume" or "weight", whichever is nearer its limit.')
    over_usable = serializers.BooleanField(read_only=True)
    beyond_limits = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="The hard limits passed, in words (overridden)."
    )


def fill_from_totals(shipment: Shipment, cartons: Any, cbm: Any, kg: Any) -> Fill:
    """A Fill from sums already read (the list annotates them: no query per shipment)."""
    box = equipment(shipment.equipment)
    cbm = Decimal(cbm or ZERO).quantize(Decimal("0.001"))  # SQLite's SUM drops the places
    kg = Decimal(kg or ZERO).quantize(Decimal("0.01"))
    return Fill(cartons or 0, cbm, kg, box.usable_cbm, box.nominal_cbm, box.payload_kg)


class ShipmentSerializer(serializers.ModelSerializer):
    """A shipment as the list shows it: its fields and its fill."""

    # Plain text, not an enum: a second `mode` enum in the schema would rename the imports' one (ModeEnum).
    mode = serializers.CharField(read_only=True, help_text="`sea` or `air`: follows from the equipment.")
    equipment_label = serializers.CharField(source="get_equipment_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    origin_name = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    fill = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "id", "reference", "mode", "equipment", "equipment_label", "status", "status_label", "container_number",
            "seal_number", "carrier", "bill_of_lading", "vessel_or_flight", "origin_warehouse", "origin_name",
            "destination", "etd", "eta", "notes", "fill", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_origin_name(self, shipment: Shipment) -> str:
        return warehouse_name(shipment.origin_warehouse)

    @extend_schema_field(FillSerializer)
    def get_fill(self, shipment: Shipment) -> dict[str, Any]:
        if hasattr(shipment, "total_cbm"):  # the API's querysets annotate the sums (api._totals)
            fill = fill_from_totals(shipment, shipment.total_cartons, shipment.total_cbm, shipment.total_kg)
        else:
            fill = fill_of(shipment)  # a shipment read on its own: one aggregate query
        return FillSerializer(fill).data


class LineSerializer(serializers.ModelSerializer):
    """A loading-list line with what the loader needs of its receipt."""

    receipt = serializers.IntegerField(source="receipt_id", read_only=True)
    shipping_mark = serializers.CharField(source="receipt.shipping_mark", read_only=True)
    received_on = serializers.DateField(source="receipt.received_on", read_only=True)
    tracking_number = serializers.CharField(source="receipt.tracking_number", read_only=True)
    description = serializers.CharField(source="receipt.description", read_only=True)
    warehouse = serializers.CharField(source="receipt.warehouse", read_only=True)
    cartons_received = serializers.IntegerField(source="receipt.cartons", read_only=True)
    cbm = _cbm()
    weight_kg = _kg(allow_null=True)
    loaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = ShipmentLine
        fields = [
            "id", "receipt", "shipping_mark", "received_on", "tracking_number", "description", "warehouse",
            "cartons", "cartons_received", "cbm", "weight_kg", "measured", "loaded_by", "loaded_at",
        ]  # fmt: skip
        read_only_fields = fields


class ConsignmentLinesSerializer(serializers.Serializer):
    """One customer's part of a shipment, in the shipment's detail: totals and lines."""

    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_name = serializers.CharField(source="customer.full_name", read_only=True)
    shipping_mark = serializers.CharField(source="customer.shipping_mark", read_only=True)
    cartons = serializers.IntegerField(read_only=True)
    cbm = _cbm()
    weight_kg = _kg()
    lines = LineSerializer(source="lines_loaded", many=True, read_only=True)


class ShipmentDetailSerializer(ShipmentSerializer):
    """One shipment: its fill and its lines grouped by consignment (one per customer)."""

    consignments = serializers.SerializerMethodField()

    class Meta(ShipmentSerializer.Meta):
        fields = [*ShipmentSerializer.Meta.fields, "consignments"]
        read_only_fields = fields

    @extend_schema_field(ConsignmentLinesSerializer(many=True))
    def get_consignments(self, shipment: Shipment) -> list[dict[str, Any]]:
        return ConsignmentLinesSerializer(consignment_groups(shipment), many=True).data


def consignment_groups(shipment: Shipment) -> list[Consignment]:
    """The shipment's consignments (by customer mark), each with its lines and their sums: two queries."""
    lines = ShipmentLine.objects.filter(shipment=shipment).select_related("receipt", "loaded_by")
    by_consignment: dict[int, list[ShipmentLine]] = {}
    for line in lines.order_by("receipt__mark_key", "receipt__received_on", "receipt_id"):
        by_consignment.setdefault(line.consignment_id, []).append(line)
    consignments = list(
        Consignment.objects.filter(shipment=shipment).select_related("customer").order_by("customer__mark_key", "id")
    )
    for consignment in consignments:
        own = by_consignment.get(consignment.pk, [])
        consignment.lines_loaded = own
        consignment.cartons = sum(line.cartons for line in own)
        consignment.cbm = sum((line.cbm for line in own), ZERO)
        consignment.weight_kg = sum((line.weight_kg or ZERO for line in own), ZERO)
    return consignments


class ShipmentDetailSchema(OpenApiSerializerExtension):
    """The detail in the schema is the shipment's own component plus `consignments` (allOf), not a copy of its
    fields: a copy would put the status choices in two components, and drf-spectacular would rename their enum."""

    target_class = ShipmentDetailSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        shipment = auto_schema.resolve_serializer(ShipmentSerializer(), direction)
        group = auto_schema.resolve_serializer(ConsignmentLinesSerializer(), direction)
        consignments = {"type": "array", "items": group.ref, "readOnly": True}
        consignments["description"] = "The lines grouped by consignment (one per customer), by mark."
        extra = {"type": "object", "properties": {"consignments": consignments}, "required": ["consignments"]}
        return {"allOf": [shipment.ref, extra]}


class _ShipmentFields(serializers.Serializer):
    """The fields people type on a shipment (create and edit)."""

    carrier = TextField(max_length=100, required=False, allow_blank=True)
    seal_number = TextField(max_length=30, required=False, allow_blank=True)
    bill_of_lading = TextField(
        max_length=40, required=False, allow_blank=True, help_text="B/L, or the master air waybill."
    )
    vessel_or_flight = TextField(max_length=100, required=False, allow_blank=True, help_text="Vessel/voyage or flight.")
    destination = TextField(max_length=100, required=False)
    etd = serializers.DateField(required=False, allow_null=True, help_text="Planned departure.")
    eta = serializers.DateField(required=False, allow_null=True, help_text="Planned arrival.")
    notes = TextField(max_length=NOTES_MAX, required=False, allow_blank=True)


class ShipmentCreateSerializer(_ShipmentFields):
    """A new open shipment. The mode follows from the equipment (AIR is an air batch, the boxes are sea); the
    container number is given later (an edit while open, or at closing)."""

    equipment = serializers.ChoiceField(choices=EQUIPMENT_CHOICES)  # the model's choices: one enum in the schema
    origin_warehouse = serializers.ChoiceField(
        choices=[], required=False, help_text="The China warehouse it loads at (default: the first one)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # GOODS_WAREHOUSES is a setting: read when the serializer is made, as the goods filter reads it.
        self.fields["origin_warehouse"].choices = list(warehouses())

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs.setdefault("origin_warehouse", default_warehouse())
        return attrs


class ShipmentEditSerializer(_ShipmentFields):
    """An open shipment's fields (PATCH): any of them; the container number checked by ISO 6346."""

    container_number = ContainerNumberField()


class LoadItemSerializer(serializers.Serializer):
    receipt = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The goods receipt's id.")
    cartons = serializers.IntegerField(
        min_value=1,
        max_value=CARTONS_MAX,
        required=False,
        allow_null=True,
        help_text="How many of its cartons (a partial load); null or left out: all that are waiting.",
    )


class LoadSerializer(serializers.Serializer):
    receipts = serializers.ListField(child=LoadItemSerializer(), min_length=1, max_length=MAX_LOAD)
    override_reason = TextField(
        max_length=REASON_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why the load may pass the box's nominal volume or payload (needs shipments.close_shipment).",
    )


class LoadedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(source="pk")
    receipt = serializers.IntegerField(source="receipt_id")
    consignment = serializers.IntegerField(source="consignment_id")
    cartons = serializers.IntegerField(help_text="On the line now (a receipt loaded again adds to its line).")
    cbm = _cbm()
    weight_kg = _kg(allow_null=True)


class LoadResultSerializer(serializers.Serializer):
    shipment = serializers.IntegerField()
    lines = LoadedLineSerializer(many=True)
    fill = FillSerializer()
    warnings = serializers.ListField(child=serializers.CharField(), help_text="E.g. past the usable volume.")


class CloseSerializer(serializers.Serializer):
    container_number = ContainerNumberField(help_text="Required for a sea shipment that has none yet.")
    seal_number = TextField(max_length=30, required=False, allow_blank=True)


class ReopenSerializer(serializers.Serializer):
    reason = TextField(max_length=REASON_MAX, help_text="Why the frozen list is opened again.")


class CancelSerializer(serializers.Serializer):
    reason = TextField(max_length=REASON_MAX, required=False, allow_blank=True, default="")


class ConsignmentSerializer(serializers.ModelSerializer):
    """One customer's goods in one shipment, with the cartons, CBM and kg of its lines."""

    shipment_reference = serializers.CharField(source="shipment.reference", read_only=True)
    shipment_status = serializers.CharField(source="shipment.status", read_only=True)
    customer_name = serializers.CharField(source="customer.full_name", read_only=True)
    shipping_mark = serializers.CharField(source="customer.shipping_mark", read_only=True)
    cartons = serializers.IntegerField(source="total_cartons", read_only=True)
    cbm = _cbm(source="total_cbm")
    weight_kg = _kg(source="total_kg")
    line_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Consignment
        fields = [
            "id", "shipment", "shipment_reference", "shipment_status", "customer", "customer_name", "shipping_mark",
            "cartons", "cbm", "weight_kg", "line_count", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ConsignmentDetailSerializer(ConsignmentSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(ConsignmentSerializer.Meta):
        fields = [*ConsignmentSerializer.Meta.fields, "lines"]
        read_only_fields = fields

    @extend_schema_field(LineSerializer(many=True))
    def get_lines(self, consignment: Consignment) -> list[dict[str, Any]]:
        lines = consignment.lines.select_related("receipt", "loaded_by")
        return LineSerializer(lines.order_by("receipt__mark_key", "receipt__received_on", "receipt_id"), many=True).data
