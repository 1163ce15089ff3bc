"""REST API for shipments (#26): `/api/v1/shipments/` and `/api/v1/consignments/`.

The rules are the domain's (`lifecycle.py`, `loading.py`); this module reads the request, checks the permission of
each action and maps a refusal (`ShipmentRefused`) to its HTTP status with the one error shape, `{"code", "message",
…details}`. Reading needs `shipments.view_shipment`; creating `add_shipment`; editing, loading, unloading and
cancelling an empty shipment `change_shipment`; closing, reopening and loading past the box's limits (an override)
`close_shipment`.
"""

from __future__ import annotations

import logging
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import FileResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from primepre.common.api import error_body
from primepre.common.api import error_responses as _errors
from primepre.common.filters import IdFilter, StrictFilterBackend
from primepre.common.parsers import JSONParser
from primepre.common.permissions import requires
from primepre.goods.api import WarehouseFilter
from primepre.goods.warehouses import warehouses

from . import loading
from .capacity import Fill, fill_of
from .equipment import EQUIPMENT_CHOICES, equipment
from .errors import ShipmentRefused
from .export import iter_csv, write_xlsx
from .lifecycle import cancel_shipment, close_shipment, create_shipment, locked_shipment, refuse_unless, reopen_shipment
from .loading import unload_line
from .models import Consignment, Mode, Shipment, ShipmentLine, ShipmentStatus
from .serializers import (
    CancelSerializer,
    CloseSerializer,
    ConsignmentDetailSerializer,
    ConsignmentSerializer,
    LoadResultSerializer,
    LoadSerializer,
    ReopenSerializer,
    ShipmentCreateSerializer,
    ShipmentDetailSerializer,
    ShipmentEditSerializer,
    ShipmentSerializer,
)

logger = logging.getLogger(__name__)

VIEW, ADD, CHANGE, CLOSE = (f"shipments.{name}_shipment" for name in ("view", "add", "change", "close"))
COMMON_ERRORS = {"_401": "`not_authenticated`", "_403": "`permission_denied`: the role lacks the permission"}
STATE_CONFLICT = "`wrong_state` (with `current`): the shipment is not in a state that allows it"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def refusal(exc: ShipmentRefused, request: Request) -> Response:
    """A domain refusal as the API's error: its status, code, message and details (e.g. `receipt`, `waiting`)."""
    body = error_body(exc.code, exc.message, **exc.details)
    request_id = getattr(getattr(request, "_request", request), "request_id", None)
    if request_id:
        body["request_id"] = request_id
    return Response(body, status=exc.status)


def _line_sum(link: str, column: str, output: Any) -> Coalesce:
    """A sum over the lines of the row (`link`: the lines' foreign key to it), as a subquery: the database evaluates
    it for the page's rows only, where a join and GROUP BY would add up every line of every row first."""
    sums = ShipmentLine.objects.filter(**{link: OuterRef("pk")}).order_by().values(link)
    total = Subquery(sums.annotate(total=Sum(column)).values("total"), output_field=output)
    return Coalesce(total, 0, output_field=output)


def _totals(link: str) -> dict[str, Any]:
    return {
        "total_cartons": _line_sum(link, "cartons", IntegerField()),
        "total_cbm": _line_sum(link, "cbm", DecimalField(max_digits=14, decimal_places=3)),
        "total_kg": _line_sum(link, "weight_kg", DecimalField(max_digits=14, decimal_places=2)),
    }


class ShipmentFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ShipmentStatus.choices, distinct=False)
    mode = django_filters.ChoiceFilter(choices=Mode.choices)
    equipment = django_filters.ChoiceFilter(choices=EQUIPMENT_CHOICES)
    origin = WarehouseFilter(
        field_name="origin_warehouse", choices=lambda: list(warehouses().items()), distinct=False, label="Origin"
    )

    class Meta:
        model = Shipment
        fields = ["status", "mode", "equipment", "origin"]


def edit_shipment(shipment_id: int, changes: dict[str, Any]) -> None:
    """An open shipment's typed fields, changed under its row lock (a close waits, or the edit finds it closed: 409).
    An air batch has no container: a number given for one is refused (the database would refuse it too)."""
    with transaction.atomic():
        shipment = locked_shipment(shipment_id)
        refuse_unless(shipment, ShipmentStatus.OPEN, "changed")
        _refuse_air_container(shipment, changes.get("container_number"))
        for name, value in changes.items():
            setattr(shipment, name, value)
        if changes:
            shipment.save(update_fields=[*changes, "updated_at"])


def _refuse_air_container(shipment: Shipment, number: str | None) -> None:
    if number and shipment.mode == Mode.AIR:
        raise ShipmentRefused(
            "air_has_no_container", f"{shipment.reference} is an air batch: it has no container number."
        )


def load_receipts(shipment_id: int, items: list[dict[str, Any]], user: Any, override_reason: str) -> list[ShipmentLine]:
    """Every receipt of the request in ONE call of the loader (one transaction, a few statements for the batch): a
    refusal undoes the whole request and names its receipt (`receipt`, and `index` in the list), so a loader fixes it
    and sends the list again."""
    wanted = [(item["receipt"], item.get("cartons")) for item in items]
    try:
        lines = loading.load_receipts(shipment_id, wanted, user, override_reason=override_reason)
    except ShipmentRefused as exc:
        receipt = exc.details.get("receipt", wanted[0][0])
        index = next((number for number, (given, _) in enumerate(wanted) if given == receipt), 0)
        details = {**exc.details, "receipt": receipt, "index": index}
        raise ShipmentRefused(exc.code, exc.message, exc.status, **details) from exc
    return list({line.pk: line for line in lines}.values())  # a receipt given twice: its one line


def _warnings(shipment: Shipment) -> tuple[Fill, list[str]]:
    """The fill after a load, and what the loader should know: past the usable volume (cartons may not all fit),
    past a hard limit (allowed by an override)."""
    fill = fill_of(shipment)
    warnings = []
    if fill.over_usable:
        warnings.append(
            f"{fill.cbm} CBM is past the {fill.usable_cbm} CBM that loose cartons usually fill: check they all fit."
        )
    warnings += [f"Past a limit, by override: {text}." for text in fill.beyond_limits()]
    return fill, warnings


# One permission class for every shipment endpoint: reads need view; each action its own permission.
SHIPMENT_PERMISSION = requires(
    VIEW, create=ADD, partial_update=CHANGE, lines=CHANGE, unload=CHANGE, cancel=CHANGE, close=CLOSE, reopen=CLOSE
)
LINE_ID = OpenApiParameter("line_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The line's id.")
_DETAIL_ERRORS = {"_404": "`not_found`", **COMMON_ERRORS}


@extend_schema_view(
    list=extend_schema(summary="List shipments (filters, ordering, pages), each with its fill", responses={
        200: ShipmentSerializer(many=True), **_errors(_400="`validation_error`: a bad filter", **COMMON_ERRORS)
    }),
    retrieve=extend_schema(summary="One shipment: its fill and its lines grouped by consignment", responses={
        200: ShipmentDetailSerializer, **_errors(**_DETAIL_ERRORS)
    }),
    create=extend_schema(summary="Create an open shipment (the mode follows from the equipment)",
                         request=ShipmentCreateSerializer, responses={
        201: ShipmentDetailSerializer, **_errors(_400="`validation_error` with `fields`", **COMMON_ERRORS)
    }),
    partial_update=extend_schema(summary="Change an open shipment's fields (container number checked by ISO 6346)",
                                 request=ShipmentEditSerializer, responses={
        200: ShipmentDetailSerializer, **_errors(
            _400="`validation_error` with `fields` (`invalid_container_shape`, `invalid_check_digit`)",
            _409=f"{STATE_CONFLICT}; `air_has_no_container`", **_DETAIL_ERRORS)
    }),
)  # fmt: skip
class ShipmentViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Shipments: a sea container or an air batch, its loading list and its life (open → closed → open …)."""

    permission_classes = [SHIPMENT_PERMISSION]
    # JSON only: a form's empty `etd` would be read as null, which the schema (a date or null) cannot say.
    parser_classes = [JSONParser]
    queryset = Shipment.objects.select_related("created_by")
    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    filter_backends = [StrictFilterBackend, OrderingFilter]  # `?status=` (no value) is a 400, not "every row"
    ordering_fields = ["created_at", "etd", "eta", "reference"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().annotate(**_totals("shipment"))

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ShipmentRefused):
            return refusal(exc, self.request)
        return super().handle_exception(exc)

    def _detail(self, shipment_id: int, code: int = status.HTTP_200_OK) -> Response:
        shipment = self.get_queryset().get(pk=shipment_id)
        return Response(ShipmentDetailSerializer(shipment).data, status=code)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return self._detail(self.get_object().pk)

    def create(self, request: Request) -> Response:
        body = ShipmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        code, origin = fields.pop("equipment"), fields.pop("origin_warehouse")
        shipment = create_shipment(
            request.user, mode=equipment(code).mode, equipment_code=code, origin_warehouse=origin, **fields
        )
        response = self._detail(shipment.pk, status.HTTP_201_CREATED)
        response["Location"] = reverse("shipment-detail", args=[shipment.pk])
        return response

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        shipment = self.get_object()
        body = ShipmentEditSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        edit_shipment(shipment.pk, dict(body.validated_data))
        return self._detail(shipment.pk)

    @extend_schema(
        summary="Load receipts (all of them, or some cartons each) in one transaction: one refusal refuses them all",
        request=LoadSerializer,
        responses={
            200: LoadResultSerializer,
            **_errors(
                _403="`permission_denied`: the role lacks the permission; an `override_reason` needs "
                "shipments.close_shipment",
                _404="`not_found`: no such shipment; `no_receipt` (with `receipt`, `index`): no such receipt",
                _409=f"{STATE_CONFLICT}. With `receipt` and `index`: `more_than_waiting` (with `waiting`), "
                "`receipt_unidentified`, `receipt_not_loadable`, `over_capacity` (with `beyond`)",
                _401=COMMON_ERRORS["_401"],
            ),
        },
    )
    @action(detail=True, methods=["post"], url_path="lines")
    def lines(self, request: Request, pk: str | None = None) -> Response:
        shipment = self.get_object()
        body = LoadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data["override_reason"]
        if reason.strip() and not request.user.has_perm(CLOSE):
            raise exceptions.PermissionDenied("Loading past the box's limits (an override) needs close_shipment.")
        lines = load_receipts(shipment.pk, body.validated_data["receipts"], request.user, reason)
        fill, warnings = _warnings(shipment)
        result = {"shipment": shipment.pk, "lines": lines, "fill": fill, "warnings": warnings}
        return Response(LoadResultSerializer(result).data)

    @extend_schema(
        summary="Take a line off an open shipment's list: its cartons wait again",
        parameters=[LINE_ID],
        request=None,
        responses={204: None, **_errors(_404="`not_found`: no such shipment, or no such line on it",
                                        _409=STATE_CONFLICT, **COMMON_ERRORS)},
    )  # fmt: skip
    @action(detail=True, methods=["delete"], url_path=r"lines/(?P<line_id>\d+)", url_name="line")
    def unload(self, request: Request, pk: str | None = None, line_id: str = "") -> Response:
        shipment = self.get_object()
        if not ShipmentLine.objects.filter(pk=line_id, shipment=shipment).exists():
            raise exceptions.NotFound(f"{shipment.reference} has no line {line_id}.")
        unload_line(int(line_id), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Close: freeze the loading list (a sea shipment needs its container number)",
        request=CloseSerializer,
        responses={
            200: ShipmentDetailSerializer,
            **_errors(
                _400="`validation_error` with `fields` (`invalid_container_shape`, `invalid_check_digit`); "
                "`container_required`: a sea shipment without its container number",
                _409=f"{STATE_CONFLICT}; `empty`: no lines (cancel it instead); `air_has_no_container`",
                **_DETAIL_ERRORS,
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        shipment = self.get_object()
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        number = body.validated_data.get("container_number", "")
        _refuse_air_container(shipment, number)
        close_shipment(shipment.pk, request.user, container_number=number,
                       seal_number=body.validated_data.get("seal_number", ""))  # fmt: skip
        return self._detail(shipment.pk)

    @extend_schema(
        summary="Reopen a closed shipment, saying why (recorded)",
        request=ReopenSerializer,
        responses={200: ShipmentDetailSerializer, **_errors(
            _400="`validation_error`: no reason; `reason_required`", _409=STATE_CONFLICT, **_DETAIL_ERRORS)},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        shipment = self.get_object()
        body = ReopenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reopen_shipment(shipment.pk, request.user, body.validated_data["reason"])
        return self._detail(shipment.pk)

    @extend_schema(
        summary="Cancel an open shipment that has no lines",
        request=CancelSerializer,
        responses={200: ShipmentDetailSerializer, **_errors(
            _409=f"{STATE_CONFLICT}; `has_lines`: unload them first", **_DETAIL_ERRORS)},
    )  # fmt: skip
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        shipment = self.get_object()
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cancel_shipment(shipment.pk, request.user, body.validated_data["reason"])
        return self._detail(shipment.pk)

    @extend_schema(
        summary="The loading list as .xlsx: header block, lines by mark, subtotals per mark, totals",
        responses={(200, XLSX): OpenApiTypes.BINARY, **_errors(**_DETAIL_ERRORS)},
    )
    def loading_list_xlsx(self, request: Request, pk: int | None = None) -> FileResponse:
        shipment = self.get_object()
        logger.info("[SHIPMENT-EXPORT] user=%s shipment=%s format=xlsx", request.user.pk, shipment.pk)
        name = f"loading-list-{shipment.reference}.xlsx"
        return FileResponse(write_xlsx(shipment), as_attachment=True, filename=name, content_type=XLSX)

    @extend_schema(
        summary="The loading list as .csv (the same rows as the .xlsx)",
        responses={(200, "text/csv"): OpenApiTypes.BINARY, **_errors(**_DETAIL_ERRORS)},
    )
    def loading_list_csv(self, request: Request, pk: int | None = None) -> StreamingHttpResponse:
        shipment = self.get_object()
        logger.info("[SHIPMENT-EXPORT] user=%s shipment=%s format=csv", request.user.pk, shipment.pk)
        response = StreamingHttpResponse(iter_csv(shipment), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="loading-list-{shipment.reference}.csv"'
        return response


# File downloads keep their file name in the URL (no trailing slash), so they are routed by hand (config/urls.py).
loading_list_xlsx_view = ShipmentViewSet.as_view({"get": "loading_list_xlsx"})
loading_list_csv_view = ShipmentViewSet.as_view({"get": "loading_list_csv"})


class ConsignmentFilter(django_filters.FilterSet):
    shipment = IdFilter(field_name="shipment_id", label="Consignments of this shipment")
    customer = IdFilter(field_name="customer_id", label="Consignments of this customer")

    class Meta:
        model = Consignment
        fields = ["shipment", "customer"]


@extend_schema_view(
    list=extend_schema(summary="List consignments (one customer's goods in one shipment), with their totals",
                       responses={200: ConsignmentSerializer(many=True),
                                  **_errors(_400="`validation_error`: a bad filter", **COMMON_ERRORS)}),
    retrieve=extend_schema(summary="One consignment: its totals and its lines",
                           responses={200: ConsignmentDetailSerializer, **_errors(**_DETAIL_ERRORS)}),
)  # fmt: skip
class ConsignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Consignments are read with `shipments.view_shipment`: they are the shipments' own rows, per customer."""

    permission_classes = [requires(VIEW)]
    queryset = Consignment.objects.select_related("shipment", "customer").defer("customer__search_text")
    serializer_class = ConsignmentSerializer
    filterset_class = ConsignmentFilter
    filter_backends = [StrictFilterBackend, OrderingFilter]
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet:
        count = ShipmentLine.objects.filter(consignment=OuterRef("pk")).order_by().values("consignment")
        lines = Subquery(count.annotate(n=Count("pk")).values("n"), output_field=IntegerField())
        return super().get_queryset().annotate(**_totals("consignment"), line_count=Coalesce(lines, 0))

    def get_serializer_class(self) -> type[ConsignmentSerializer]:
        return ConsignmentSerializer if self.action == "list" else ConsignmentDetailSerializer
