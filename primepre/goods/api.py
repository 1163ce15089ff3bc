"""REST API for goods received: `/api/v1/goods/` and the unknown-mark queue `/api/v1/goods/unknown-marks/`.

Receipts are created by imports, never by hand through the API, and never deleted (a mistake is `cancelled`), so the
receipt endpoints are list, detail and edit. Edits are validated by the model (`GoodsReceipt.full_clean`), as the
admin's are.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from primepre.common.api import ModelValidated
from primepre.common.api import error_responses as _errors
from primepre.common.filters import MAX_ID, BoolFilter, IdFilter, StrictFilterBackend
from primepre.common.permissions import HasModelPermission, requires
from primepre.customers.marks import mark_key as key_of
from primepre.customers.models import Customer
from primepre.customers.search import SEARCH_MAX_LENGTH, check_search_words, search_condition

from .cleaning import tracking_key
from .history import save_with_history
from .models import ChangeSource, GoodsReceipt, Method, ReceiptChange, ReceiptStatus
from .queue import QUEUE_ORDERINGS, unknown_marks, with_suggestions
from .resolve import MarkConflict, MarkNotQueued, assign_mark, create_customer_for_mark, leave_mark, unassign_mark
from .warehouses import warehouse_name, warehouses

_WRITABLE = [
    "customer", "shipping_mark", "warehouse", "received_on", "description", "cartons", "cbm", "length_cm", "width_cm",
    "height_cm", "weight_kg", "tracking_number", "method", "status", "notes", "specification",
]  # fmt: skip


COMMON_ERRORS = {"_401": "`not_authenticated`", "_403": "`permission_denied`: the role lacks the permission"}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "Someone changed this first."


class GoodsPermission(HasModelPermission):
    """View to read, change to edit (PUT/PATCH). POST and DELETE are not offered: 405 to anyone signed in."""

    perms_map = {**HasModelPermission.perms_map, "POST": [], "DELETE": []}


class GoodsReceiptSerializer(ModelValidated, serializers.ModelSerializer):
    writable = tuple(_WRITABLE)
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(),
        allow_null=True,
        required=False,
        help_text="Customer id; null while unidentified.",
    )
    customer_mark = serializers.CharField(source="customer.shipping_mark", read_only=True, default=None)
    customer_name = serializers.CharField(source="customer.full_name", read_only=True, default=None)
    warehouse_name = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = GoodsReceipt
        fields = [
            "id", *_WRITABLE, "mark_key", "tracking_key", "customer_mark", "customer_name", "warehouse_name",
            "import_job", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["mark_key", "tracking_key", "import_job", "created_at", "updated_at"]
        validators: list[Any] = []  # the model validates, after normalising (see validate)
        # ...every field at once: a field validator here would stop before the model's other checks run.
        extra_kwargs = {"warehouse": {"validators": []}}

    def get_warehouse_name(self, instance: GoodsReceipt) -> str:
        return warehouse_name(instance.warehouse)


class FieldChangeSerializer(serializers.Serializer):
    before = serializers.JSONField(allow_null=True, help_text="As stored before: customer id, decimals as text.")
    after = serializers.JSONField(allow_null=True)


class ReceiptChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.CharField(source="changed_by_name", help_text="Username; empty when no user made it.")
    changes = serializers.DictField(child=FieldChangeSerializer(), help_text="Each changed field: before → after.")

    class Meta:
        model = ReceiptChange
        fields = ["changed_at", "changed_by", "source", "changes"]


class GoodsReceiptDetailSerializer(GoodsReceiptSerializer):
    """One receipt with its history (the list leaves it out: one query a page, not one a receipt)."""

    history = ReceiptChangeSerializer(
        source="changes", many=True, read_only=True, help_text="Every change to the receipt, newest first."
    )

    class Meta(GoodsReceiptSerializer.Meta):
        fields = [*GoodsReceiptSerializer.Meta.fields, "history"]


class GoodsReceiptDetailSchema(OpenApiSerializerExtension):
    """The detail in the schema is the receipt's own component plus `history` (allOf), not a copy of its fields: a
    copy would put the status choices in two components, and drf-spectacular would rename their enum."""

    target_class = GoodsReceiptDetailSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        receipt = auto_schema.resolve_serializer(GoodsReceiptSerializer(), direction)
        change = auto_schema.resolve_serializer(ReceiptChangeSerializer(), direction)
        history = {"type": "array", "items": change.ref, "readOnly": True}
        history["description"] = "Every change to the receipt, newest first."
        extra = {"type": "object", "properties": {"history": history}, "required": ["history"]}
        return {"allOf": [receipt.ref, extra]}


def search_goods(queryset: QuerySet, query: str) -> QuerySet:
    """One box: the mark however spaced, the tracking number however spaced, the description, or the customer (their
    mark, name, phone in any format: the customer directory's own search)."""
    query = " ".join(query[:SEARCH_MAX_LENGTH].split())
    if not query:
        return queryset
    condition = Q(description__icontains=query)
    key = key_of(query)
    if key:
        condition |= Q(mark_key__contains=key)
    tracking = tracking_key(query)
    if tracking:
        condition |= Q(tracking_key__contains=tracking)
    customers = search_condition(query)
    if customers is not None:
        condition |= Q(customer__in=Customer.objects.filter(customers).values("pk"))
    return queryset.filter(condition)


# The codes are GOODS_WAREHOUSES, read at start-up like every setting: the schema lists them, as the filter checks.
@extend_schema_field({"type": "string", "enum": list(warehouses())})  # an item; the filter makes it an array
class WarehouseFilter(django_filters.MultipleChoiceFilter):
    pass


class GoodsFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        label="Mark, tracking number, description, or customer (mark, name, phone)",
        max_length=SEARCH_MAX_LENGTH,
        validators=[check_search_words],
    )
    received_after = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")
    received_before = django_filters.DateFilter(field_name="received_on", lookup_expr="lte")
    warehouse = WarehouseFilter(choices=lambda: list(warehouses().items()), distinct=False)
    method = django_filters.ChoiceFilter(choices=Method.choices)
    status = django_filters.MultipleChoiceFilter(choices=ReceiptStatus.choices, distinct=False)
    unidentified = BoolFilter(method="filter_unidentified", label="Only (or no) unidentified")
    customer = IdFilter(field_name="customer_id", label="Receipts of this customer")
    import_job = IdFilter(field_name="import_job_id", label="Created by this import job")

    class Meta:
        model = GoodsReceipt
        fields = [
            "search", "received_after", "received_before", "warehouse", "method", "status", "unidentified", "customer",
            "import_job",
        ]  # fmt: skip

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_goods(queryset, value)

    def filter_unidentified(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if value:
            return queryset.filter(status=ReceiptStatus.UNIDENTIFIED)
        return queryset.exclude(status=ReceiptStatus.UNIDENTIFIED)


@extend_schema_view(
    list=extend_schema(summary="List goods receipts (search, filters, ordering, pages)", responses={
        200: GoodsReceiptSerializer(many=True), **_errors(_400="`validation_error`: a bad filter", **COMMON_ERRORS)
    }),
    retrieve=extend_schema(summary="One goods receipt, with its history", responses={
        200: GoodsReceiptDetailSerializer, **_errors(_404="`not_found`", **COMMON_ERRORS)
    }),
    update=extend_schema(summary="Replace a receipt's fields (the model's validation; recorded in its history)",
                         request=GoodsReceiptSerializer, responses={
        200: GoodsReceiptDetailSerializer, **_errors(_400="`validation_error` with `fields`", _404="`not_found`",
                                                     **COMMON_ERRORS)
    }),
    partial_update=extend_schema(summary="Change some fields of a receipt; cancel it with status=cancelled",
                                 request=GoodsReceiptSerializer, responses={
        200: GoodsReceiptDetailSerializer, **_errors(_400="`validation_error` with `fields`", _404="`not_found`",
                                                     **COMMON_ERRORS)
    }),
)  # fmt: skip
class GoodsReceiptViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    queryset = GoodsReceipt.objects.select_related("customer", "created_by").defer("customer__search_text")
    serializer_class = GoodsReceiptSerializer
    permission_classes = [GoodsPermission]
    filterset_class = GoodsFilter
    filter_backends = [StrictFilterBackend, OrderingFilter]  # `?status=` (no value) is a 400, not "every row"
    ordering_fields = ["received_on", "created_at", "cartons", "cbm", "mark_key", "status"]
    ordering = ["-received_on", "-id"]
    lookup_value_regex = r"\d+"  # so `unknown-marks/` is never read as a receipt id

    def get_serializer_class(self) -> type[GoodsReceiptSerializer]:
        return GoodsReceiptSerializer if self.action == "list" else GoodsReceiptDetailSerializer

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        return queryset if self.action == "list" else queryset.prefetch_related("changes")

    def perform_update(self, serializer: GoodsReceiptSerializer) -> None:
        """Save and record the change in one transaction; the request's fields go onto the row as stored now
        (locked), so a concurrent edit of other fields is kept, and the history says what this one replaced."""

        def apply(stored: GoodsReceipt) -> GoodsReceipt:
            serializer.instance = stored
            return serializer.save()

        save_with_history(serializer.instance.pk, apply, self.request.user, ChangeSource.API)


# --- the unknown-mark queue ------------------------------------------------------------------------------------------


class SuggestionSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer_id")
    shipping_mark = serializers.CharField()
    name = serializers.CharField()
    matched_key = serializers.CharField(help_text="The customer's mark key, or their alias that was close.")
    via_alias = serializers.BooleanField()
    distance = serializers.IntegerField(help_text="Edits apart, after folding look-alikes (0/O, 1/I/L, 5/S).")
    phone_masked = serializers.CharField(help_text="The customer's phone with its middle digits hidden.")
    region = serializers.CharField(help_text="The customer's region by name; empty when unknown.")
    receipts = serializers.IntegerField(help_text="Receipts the customer already has.")


class UnknownMarkSerializer(serializers.Serializer):
    mark_key = serializers.CharField()
    shipping_mark = serializers.CharField(help_text="One way the mark was written.")
    receipts = serializers.IntegerField()
    cartons = serializers.IntegerField()
    cbm = serializers.DecimalField(max_digits=14, decimal_places=3)
    first_received = serializers.DateField()
    last_received = serializers.DateField()
    suggestions = SuggestionSerializer(many=True, help_text="Up to 5; empty without customers.view_customer.")


class ResolveSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["assign", "create", "leave", "unassign"])
    customer = serializers.PrimaryKeyRelatedField(
        queryset=Customer.objects.all(), required=False, help_text="assign: the customer who owns the mark."
    )
    first_name = serializers.CharField(max_length=100, required=False, help_text="create: required.")
    last_name = serializers.CharField(max_length=100, required=False, help_text="create: required.")
    phone = serializers.CharField(max_length=64, required=False, help_text="create: required, any common format.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = {"assign": ["customer"], "create": ["first_name", "last_name", "phone"]}.get(attrs["action"], [])
        missing = {name: [exceptions.ErrorDetail("Required for this action.", "required")] for name in needed
                   if not attrs.get(name)}  # fmt: skip
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


# The schema of a resolution: one shape per action, each with the fields that action requires (ResolveSerializer
# checks the same), so a client knows `create` needs the names and phone.
class AssignMark(serializers.Serializer):
    action = serializers.ChoiceField(choices=["assign"])
    customer = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The customer who owns the mark.")


class CreateForMark(serializers.Serializer):
    action = serializers.ChoiceField(choices=["create"])
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=64, help_text="Any common format.")


class LeaveMark(serializers.Serializer):
    action = serializers.ChoiceField(choices=["leave"])


class UnassignMark(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["unassign"],
        help_text="Undo an assignment: the mark stops routing to its customer and the receipts it gave them go back "
        "to the queue (SMS already sent are not recalled).",
    )


RESOLVE_REQUEST = PolymorphicProxySerializer(
    component_name="Resolve",
    serializers={
        "AssignMark": AssignMark,
        "CreateForMark": CreateForMark,
        "LeaveMark": LeaveMark,
        "UnassignMark": UnassignMark,
    },
    resource_type_field_name=None,
)


class ResolutionSerializer(serializers.Serializer):
    mark_key = serializers.CharField()
    action = serializers.CharField()
    receipts = serializers.IntegerField(help_text="Receipts moved to the customer (leave: still unidentified).")
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    messages_queued = serializers.IntegerField(help_text="Receipt SMS queued (imports that asked for them).")


_LEFT_CHOICES = {"false": False, "true": True, "all": None}


@extend_schema_view(
    list=extend_schema(
        summary="Unknown marks: unidentified receipts grouped by mark key, with suggested customers",
        parameters=[
            OpenApiParameter("ordering", str, enum=list(QUEUE_ORDERINGS), description="Default: first_received"),
            OpenApiParameter(
                "left",
                str,
                enum=["false", "true", "all"],
                description="false (default): the queue, without marks left for later while no receipt arrived "
                "since; true: only those; all: every unknown mark",
            ),
        ],
        responses={200: UnknownMarkSerializer(many=True), **_errors(**COMMON_ERRORS)},
    ),
)
class UnknownMarkViewSet(viewsets.GenericViewSet):
    # The queue is read with `goods.view_goodsreceipt`; resolving needs `goods.resolve_marks`.
    permission_classes = [requires("goods.view_goodsreceipt", resolve="goods.resolve_marks")]
    serializer_class = UnknownMarkSerializer
    lookup_field = "mark_key"
    lookup_value_regex = r"[^/]+"
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet:
        ordering = self.request.query_params.get("ordering", "first_received")
        if ordering not in QUEUE_ORDERINGS:
            # The schema lists the orderings; anything else is refused, not silently replaced by the default.
            choices = ", ".join(QUEUE_ORDERINGS)
            raise exceptions.ValidationError(
                {"ordering": [exceptions.ErrorDetail(f"Order by one of: {choices}.", code="invalid_choice")]}
            )
        raw = self.request.query_params.get("left", "false")
        if raw not in _LEFT_CHOICES:
            raise exceptions.ValidationError(
                {"left": [exceptions.ErrorDetail("One of: false, true, all.", code="invalid_choice")]}
            )
        return unknown_marks(ordering, left=_LEFT_CHOICES[raw])

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = with_suggestions(page) if request.user.has_perm("customers.view_customer") else _bare(page)
        return self.get_paginated_response(UnknownMarkSerializer(rows, many=True).data)

    @extend_schema(
        summary="Resolve a mark once: assign it to a customer, create the customer, leave it unidentified, or undo an "
        "assignment",
        request=RESOLVE_REQUEST,
        responses={
            200: ResolutionSerializer,
            **_errors(
                _400="`validation_error`: a missing field, or the new customer's (phone, names) with `fields`",
                _404="`not_found`: no unidentified receipt has this mark key",
                _409="`conflict`: someone resolved this mark first; nothing was changed",
                **COMMON_ERRORS,
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="resolve")
    def resolve(self, request: Request, mark_key: str) -> Response:
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if data["action"] == "create" and not request.user.has_perm("customers.add_customer"):
            raise exceptions.PermissionDenied("Creating a customer needs customers.add_customer.")
        try:
            if data["action"] == "assign":
                result = assign_mark(mark_key, data["customer"], request.user)
            elif data["action"] == "create":
                names = {name: data[name] for name in ("first_name", "last_name", "phone")}
                result = create_customer_for_mark(mark_key, user=request.user, **names)
            elif data["action"] == "unassign":
                result = unassign_mark(mark_key, request.user)
            else:
                result = leave_mark(mark_key, request.user)
        except MarkNotQueued:
            raise exceptions.NotFound("No unidentified receipt has this mark.") from None
        except MarkConflict as exc:
            raise Conflict(exc.message) from None
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        return Response(ResolutionSerializer(result).data)


def _bare(rows: Any) -> list[dict[str, Any]]:
    return [{**row, "suggestions": []} for row in rows]
