"""A paginator whose count stops at COUNT_LIMIT ("10,000+", the way large admin lists avoid counting), for the API's
pagination and the list pages.

Counting every row a search matches means reading every matching row: without a trigram index, a second scan of
the table after the one that found the page. Here the first page is read first, and when it is not full its rows
are the count (no count query at all); otherwise the count reads at most COUNT_LIMIT + 1 rows. A deeper page counts
as far as it needs, so every page stays reachable.

`count_with_page=True` is for lists the database has to read whole to find their first page anyway (a search: no
index serves `LIKE '%…%'`, so PostgreSQL scans the table and sorts the matches): the query that finds the page's
rows carries the count (`COUNT(*) OVER ()`), one scan instead of two, and the count is exact.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db import connections
from django.db.models import Count, F, QuerySet, Window

COUNT_LIMIT = 10_000
_DEEPEST_COUNT = 10**12  # a page number as large as the API accepts must not overflow the count's LIMIT


class BoundedPaginator(Paginator):
    """`count` is exact up to `count_limit`; past it the count is `count_limit + 1` and `count_is_exact` is False.
    `display_count` is what to show: the exact count, or the limit (to be read as "10,000+")."""

    count_limit = COUNT_LIMIT
    count_is_exact = True

    def __init__(self, object_list: Any, per_page: int, *args: Any, count_with_page: bool = False, **kwargs: Any):
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_with_page = count_with_page and isinstance(object_list, QuerySet)

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        if isinstance(self.object_list, QuerySet):
            counted = self.object_list.order_by()[: self.count_limit + 1].count()
        else:
            counted = len(self.object_list)
        self.count_is_exact = counted <= self.count_limit
        return counted

    @property
    def display_count(self) -> int:
        counted = self.count  # first: counting is what says whether it is exact
        return counted if self.count_is_exact else self.count_limit

    def _page_and_count(self, bottom: int) -> list[Any]:
        """The page's rows, and the count from the same scan: the window runs over the matches' ids and sort keys
        only (over whole rows, PostgreSQL would hold every matching row), then the page's rows are read by primary
        key."""
        found = self._ids_and_count(bottom)
        if not found:
            return []
        self.__dict__["count"] = found[0][1]
        position = {pk: index for index, (pk, _) in enumerate(found)}
        return sorted(self.object_list.filter(pk__in=list(position)), key=lambda row: position[row.pk])

    def _ids_and_count(self, bottom: int) -> list[tuple[Any, int]]:
        """(pk, count of all matches) of the page's rows. The count is taken in a subquery, the order and the page
        outside it: written as one ordered query, PostgreSQL (with statistics on the sort column) walks the sort
        column's index over the whole table to feed the count, a heap read per row, where a sequential scan is
        cheaper (bench/README.md)."""
        queryset = self.object_list
        ordering = list(queryset.query.order_by or queryset.model._meta.ordering) or ["pk"]
        if not all(isinstance(item, str) and item.lstrip("-") not in ("", "?") for item in ordering):
            counted = queryset.annotate(paging_total=Window(Count("pk")))  # an expression to order by: as it is
            return list(counted.values_list("pk", "paging_total")[bottom : bottom + self.per_page])
        keys = {f"paging_key_{index}": F(item.lstrip("-")) for index, item in enumerate(ordering)}
        inner = queryset.order_by().annotate(paging_total=Window(Count("pk")), **keys)
        sql, params = inner.values_list("pk", "paging_total", *keys).query.sql_with_params()
        order = ", ".join(
            f"{index + 3} {'DESC' if item.startswith('-') else 'ASC'}" for index, item in enumerate(ordering)
        )
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                f"SELECT * FROM ({sql}) paging ORDER BY {order} LIMIT %s OFFSET %s",  # noqa: S608 - our own SQL
                [*params, self.per_page, bottom],
            )
            return [(row[0], row[1]) for row in cursor.fetchall()]

    def get_page(self, number: Any) -> Page:
        """Django's forgiving lookup (not a number: the first page; out of range: the last), without counting before
        the first page is read."""
        try:
            whole = int(number)
        except (TypeError, ValueError):
            whole = 1
        try:
            return self.page(whole)
        except EmptyPage:
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        try:
            whole = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if whole >= 1:
            self.count_limit = max(self.count_limit, min(whole * self.per_page, _DEEPEST_COUNT))
            bottom = (whole - 1) * self.per_page
            if self.count_with_page and "count" not in self.__dict__ and bottom < _DEEPEST_COUNT:
                rows = self._page_and_count(bottom)
                if rows:  # (none: past the end, or an empty list; the count says which, below)
                    return self._get_page(rows, whole, self)
        if whole == 1 and "count" not in self.__dict__:
            rows = list(self.object_list[: self.per_page + 1])
            if len(rows) <= self.per_page:  # the whole list: its rows are its count
                self.__dict__["count"] = len(rows)
                return self._get_page(rows, 1, self)
            self.validate_number(1)  # counts, from the second row past the page on
            return self._get_page(rows[: self.per_page], 1, self)
        return super().page(number)
