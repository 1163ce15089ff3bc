"""The customer directory's filters, one set for the API, the list page, its exports and SMS to a list: a filter
added here reaches all of them, and a value refused by one is refused by all with the same message."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import django_filters
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

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

    def region_labels(self) -> list[str]:
        """The regions ticked in the query, by name in the picker's order: what the closed region picker says, so a
        selection never hides in a scrolled list. Read from the query itself, so another field's error hides none."""
        ticked = set(self._query().getlist("region"))
        return [label for code, label in Region.choices if code in ticked]

    def active(self) -> list[ActiveFilter]:
        """The filters in force, each value with the link that drops it: shown above the results at every width."""
        self.is_valid()  # cleaned_data holds every field that validated, even when another did not
        data, regions = self.form.cleaned_data, dict(Region.choices)
        active = []
        if data.get("region"):
            values = [(regions[code], self._without("region", code)) for code in dict.fromkeys(data["region"])]
            active.append(ActiveFilter("Regions" if len(values) > 1 else "Region", values))
        if data.get("customer_type"):
            active.append(
                ActiveFilter("Type", [(CustomerType(data["customer_type"]).label, self._without("customer_type"))])
            )
        if data.get("search"):
            active.append(ActiveFilter("Search", [(f"“{data['search']}”", self._without("search"))]))
        dates = [
            (f"{word} {day:%d %b %Y}", self._without(name))
            for word, name in (("from", "created_after"), ("until", "created_before"))
            if (day := data.get(name))
        ]
        if dates:
            active.append(ActiveFilter("Created", dates))
        if data.get("import_job"):
            active.append(ActiveFilter("Import", [(f"#{data['import_job']}", self._without("import_job"))]))
        return active

    def cleared(self) -> str:
        """The query of the whole list in the same order: every filter off, the sort kept."""
        sort = self._query().get("sort")
        return urlencode({"sort": sort}) if sort else ""

    def _query(self) -> QueryDict:
        if isinstance(self.data, QueryDict):
            return self.data
        query = QueryDict(mutable=True)  # the API passes a plain dict
        for name, value in (self.data or {}).items():
            query.setlist(name, value if isinstance(value, list) else [value])
        return query

    def _without(self, name: str, value: str | None = None) -> str:
        """This page's query with one filter value (or the whole filter) taken out, back on the first page."""
        query = self._query().copy()
        query.pop("page", None)
        if value is None:
            query.pop(name, None)
        else:
            query.setlist(name, [kept for kept in query.getlist(name) if kept != value])
        return query.urlencode()


@dataclass(frozen=True)
class ActiveFilter:
    """One filter in force as the list page shows it: its name and, per value, the query string without it."""

    name: str
    values: list[tuple[str, str]]


def page_filter(request: HttpRequest) -> tuple[CustomerFilter, str]:
    """The filter set of a page's query string, over customers in its `sort` (an unknown sort is the default): the
    list, its exports and "Send SMS to this list" all read the same customers from the same query string."""
    sort = request.GET.get("sort", "")
    sort = sort if sort in PAGE_SORTS else next(iter(PAGE_SORTS))
    customers = Customer.objects.order_by(*PAGE_SORTS[sort])
    return CustomerFilter(request.GET, queryset=customers, request=request), sort
