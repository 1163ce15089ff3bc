"""REST API for the customer directory: `/api/v1/customers/`.

Validation is the model's (`Customer.full_clean`), the same as the admin's and the import's, so a phone or mark that
is rejected in one place is rejected everywhere with the same code.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from primepre.common.api import ModelValidated
from primepre.common.filters import StrictFilterBackend
from primepre.common.paging import BoundedPaginator
from primepre.common.permissions import Pagination

from .filters import CustomerFilter
from .models import Customer
from .readlimit import ViewerReadThrottle  # one count with the pages, shared by every process

# "View" is looking customers up, a page at a time; copying the directory out is what `export_customers` is for.
# Without it a client gets pages of at most VIEWER_PAGE_SIZE and CUSTOMER_LIST_RATE_FOR_VIEWERS reads.
EXPORT_PERMISSION = "customers.export_customers"
VIEWER_PAGE_SIZE = 50

_WRITABLE = ["first_name", "last_name", "phone", "shipping_mark", "email", "region", "company_name", "customer_type"]


class CustomerSerializer(ModelValidated, serializers.ModelSerializer):
    writable = tuple(_WRITABLE)
    # Wider than the stored form: the model turns "+233 (0)24 123 4567" or "Greater Accra" into E.164 / a code.
    phone = serializers.CharField(max_length=64, help_text="Any common format; stored as E.164.")
    region = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="Region code (AA), name or common spelling."
    )
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, allow_null=True)
    region_label = serializers.CharField(source="get_region_display", read_only=True)
    full_name = serializers.CharField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            *_WRITABLE,
            "full_name",
            "region_label",
            "mark_key",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["mark_key", "created_at", "updated_at"]
        validators: list[Any] = []  # the model validates uniqueness after normalising, see validate()

    def to_representation(self, instance: Customer) -> dict[str, Any]:
        """The same dict DRF's generic field walk builds (a test compares them), at a fraction of its cost: a list
        page is 50 of these, and the field walk (attribute lookups, `inspect.signature` on every callable) was half of
        a request's Python time."""
        created_at = self.fields["created_at"]
        return {
            "id": instance.pk,
            "first_name": instance.first_name,
            "last_name": instance.last_name,
            "phone": instance.phone,
            "shipping_mark": instance.shipping_mark,
            "email": instance.email,
            "region": instance.region,
            "company_name": instance.company_name,
            "customer_type": instance.customer_type,
            "full_name": instance.full_name,
            "region_label": instance.get_region_display(),
            "mark_key": instance.mark_key,
            "created_by": instance.created_by.username if instance.created_by_id else None,
            "created_at": created_at.to_representation(instance.created_at),
            "updated_at": created_at.to_representation(instance.updated_at),
        }


class CustomerPagination(Pagination):
    """`page_size` up to 500 for users who may export, up to VIEWER_PAGE_SIZE for the others. A search's page and
    count come from one scan of the table (primepre/common/paging.py)."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        searching = bool(request.query_params.get("search", "").strip())
        self.django_paginator_class = partial(BoundedPaginator, count_with_page=searching)
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request: Request) -> int | None:
        size = super().get_page_size(request)
        if size is not None and not request.user.has_perm(EXPORT_PERMISSION):
            return min(size, VIEWER_PAGE_SIZE)
        return size


@extend_schema_view(
    list=extend_schema(summary="List customers (search, filters, ordering, pages)"),
    retrieve=extend_schema(summary="One customer"),
    create=extend_schema(summary="Create a customer"),
    update=extend_schema(summary="Replace a customer"),
    partial_update=extend_schema(summary="Change some fields of a customer"),
    destroy=extend_schema(summary="Delete a customer"),
)
class CustomerViewSet(viewsets.ModelViewSet):
    # search_text is only ever filtered on, never shown: not fetched.
    queryset = Customer.objects.select_related("created_by").defer("search_text")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    filter_backends = [StrictFilterBackend, OrderingFilter]  # `?status=` (no value) is a 400, not "every row"
    pagination_class = CustomerPagination
    throttle_classes = [ViewerReadThrottle]
    ordering_fields = ["created_at", "updated_at", "last_name", "first_name", "shipping_mark", "phone", "region"]
    ordering = ["-created_at", "-id"]

    def perform_create(self, serializer: CustomerSerializer) -> None:
        serializer.save(created_by=self.request.user)

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.Throttled) and isinstance(response.data, dict):
            # The error shape plus when to come back (also in the Retry-After header).
            response.data["retry_after"] = math.ceil(exc.wait) if exc.wait is not None else None
        return response
