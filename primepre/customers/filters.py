"""The customer directory's filters, one set for the API, the list page, its exports and SMS to a list: a filter
added here reaches all of them, and a value refused by one is refused by all with the same message."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.http import HttpRequest

from primepre.common.filters import IdFilter

from .models import Customer, CustomerType
from .regions import Region
from .search import SEARCH_MAX_LENGTH, check_search_words, search_customers

# The list page's sort choices (the API has `ordering`); the first is the default.
PAGE_SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "name": ("last_name", "first_name", "id"),
    "mark": ("mark_key", "id"),
}


class CustomerFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        label="Phone (any format), mark, name or email",
        max_length=SEARCH_MAX_LENGTH,
        validators=[check_search_words],
    )
    # distinct=False: the filter is on the customer row itself, so there is nothing to de-duplicate, and django-filter's
    # default DISTINCT turned the page count into a sort of every matching row (bench/db_costs.py measures both).
    region = django_filters.MultipleChoiceFilter(choices=Region.choices, distinct=False)
    customer_type = django_filters.ChoiceFilter(choices=CustomerType.choices)
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    import_job = IdFilter(field_name="import_job_id", label="Created by this import job")

    class Meta:
        model = Customer
        fields = ["search", "region", "customer_type", "created_after", "created_before", "import_job"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_customers(queryset, value)

    def describe(self) -> str:
        """The filter in words, for people confirming who a send or an export reaches ("in Ashanti or Volta, type
        business, matching "kofi""); "" for no filter. Only a valid filter set is described."""
        data = self.form.cleaned_data if self.is_valid() else {}
        regions = dict(Region.choices)
        parts = []
        if data.get("region"):
            parts.append("in " + " or ".join(regions[code] for code in data["region"]))
        if data.get("customer_type"):
            parts.append(f"type {CustomerType(data['customer_type']).label.lower()}")
        if data.get("search"):
            parts.append(f"matching “{data['search']}”")
        if data.get("created_after") or data.get("created_before"):
            after, before = data.get("created_after"), data.get("created_before")
            parts.append("created " + " and ".join(
                text for text in (after and f"from {after:%d %b %Y}", before and f"until {before:%d %b %Y}") if text
            ))  # fmt: skip
        if data.get("import_job"):
            parts.append(f"created by import #{data['import_job']}")
        return ", ".join(parts)


def page_filter(request: HttpRequest) -> tuple[CustomerFilter, str]:
    """The filter set of a page's query string, over customers in its `sort` (an unknown sort is the default): the
    list, its exports and "Send SMS to this list" all read the same customers from the same query string."""
    sort = request.GET.get("sort", "")
    sort = sort if sort in PAGE_SORTS else next(iter(PAGE_SORTS))
    customers = Customer.objects.order_by(*PAGE_SORTS[sort])
    return CustomerFilter(request.GET, queryset=customers, request=request), sort
