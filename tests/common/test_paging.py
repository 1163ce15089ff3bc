"""Counts bounded at COUNT_LIMIT ("10,000+"), in the API's pagination and on the list pages; a first page that is
not full is its own count (no count query)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from primepre.common import paging
from primepre.common.paging import BoundedPaginator
from primepre.customers.models import Customer
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/"


@pytest.fixture
def limit_of_three(monkeypatch) -> None:
    monkeypatch.setattr(paging.BoundedPaginator, "count_limit", 3)


def _counts(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if "COUNT(" in query["sql"].upper()]


def test_a_first_page_that_is_not_full_is_its_own_count() -> None:
    for n in range(3):
        make_customer(shipping_mark=f"PM{n} AMA")
    paginator = BoundedPaginator(Customer.objects.order_by("pk"), 5)
    with CaptureQueriesContext(connection) as queries:
        page = paginator.page(1)
    assert len(page) == 3 and paginator.count == 3 and paginator.count_is_exact
    assert len(queries.captured_queries) == 1 and not _counts(queries)


def test_past_the_limit_the_count_stops_and_says_so(limit_of_three) -> None:
    for n in range(6):
        make_customer(shipping_mark=f"PM{n} AMA")
    paginator = BoundedPaginator(Customer.objects.order_by("pk"), 2)
    page = paginator.page(1)
    assert [c.shipping_mark for c in page] == ["PM0 AMA", "PM1 AMA"]
    assert paginator.count == 4 and not paginator.count_is_exact and paginator.display_count == 3
    assert page.has_next()
    deep = BoundedPaginator(Customer.objects.order_by("pk"), 2).page(3)  # past the limit: still reachable
    assert [c.shipping_mark for c in deep] == ["PM4 AMA", "PM5 AMA"] and not deep.has_next()


def test_the_api_says_when_its_count_is_not_exact(staff_api: APIClient, limit_of_three) -> None:
    for n in range(5):
        make_customer(shipping_mark=f"PM{n} AMA")
    body = staff_api.get(URL, {"page_size": 2}).json()
    assert (body["count"], body["count_exact"], len(body["results"])) == (3, False, 2)
    assert body["next"]
    small = staff_api.get(URL, {"page_size": 2, "search": "PM1"}).json()
    assert (small["count"], small["count_exact"]) == (1, True)


def test_the_list_page_shows_ten_thousand_plus(client, staff_user, monkeypatch) -> None:
    monkeypatch.setattr(paging.BoundedPaginator, "count_limit", 55)  # the page holds 50
    for n in range(60):
        make_customer(shipping_mark=f"PM{n} AMA")
    client.force_login(staff_user)
    page = client.get("/customers/").content.decode()
    assert '<span id="result-count">55+</span>' in page
    assert "Page 1 of" not in page and "Page 1<" in page  # no last page to promise
    exact = client.get("/customers/", {"search": "PM59"}).content.decode()
    assert '<span id="result-count">1</span>' in exact


def test_the_schema_documents_the_bounded_count(client, staff_user) -> None:
    client.force_login(staff_user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    listing = schema["components"]["schemas"]["PaginatedCustomerList"]
    assert {"count", "count_exact", "results"} <= set(listing["required"])
    assert listing["properties"]["count_exact"]["type"] == "boolean"


def test_a_search_gets_its_page_and_its_count_from_one_scan() -> None:
    for n in range(7):
        make_customer(first_name="Kofi" if n % 2 else "Ama", shipping_mark=f"PM{n} X")
    paginator = BoundedPaginator(Customer.objects.filter(first_name="Kofi").order_by("pk"), 2, count_with_page=True)
    with CaptureQueriesContext(connection) as queries:
        page = paginator.page(2)
        assert paginator.count == 3 and paginator.count_is_exact and page.has_next() is False
    # The window query (ids and the count), then the page's rows by primary key: no count query of its own.
    sql = [query["sql"].upper() for query in queries.captured_queries]
    assert len(page) == 1 and len(sql) == 2 and "OVER ()" in sql[0] and '"ID" IN (' in sql[1]
    past_the_end = BoundedPaginator(Customer.objects.filter(first_name="Kofi"), 2, count_with_page=True)
    with pytest.raises(paging.EmptyPage):
        past_the_end.page(10**17)


def test_the_api_counts_a_search_in_its_page_query(staff_api: APIClient) -> None:
    for n in range(3):
        make_customer(first_name="Kwabena", shipping_mark=f"PM{n} K")
    with CaptureQueriesContext(connection) as queries:
        body = staff_api.get(URL, {"search": "kwabena", "page_size": 2}).json()
    assert (body["count"], body["count_exact"], len(body["results"])) == (3, True, 2)
    assert not _counts(queries) or all("OVER" in sql.upper() for sql in _counts(queries))


@pytest.mark.parametrize("ordering", [("-created_at", "-id"), ("last_name", "first_name", "pk"), ("-last_name", "id")])
def test_a_counted_page_holds_the_rows_the_ordered_query_gives(ordering: tuple[str, ...]) -> None:
    """The count is taken in a subquery and the order applied outside it: every page is what the plain ordered
    queryset gives, the exact-first rank of a search included."""
    from django.db.models import Case, IntegerField, Value, When

    for n in range(11):
        make_customer(
            first_name=["Kofi", "Ama", "Esi"][n % 3], last_name=["Mensah", "Owusu"][n % 2], shipping_mark=f"P{n}"
        )
    queryset = Customer.objects.exclude(first_name="Esi").order_by(*ordering)
    ranked = queryset.annotate(
        rank=Case(When(shipping_mark="P4", then=Value(0)), default=Value(1), output_field=IntegerField())
    ).order_by("rank", *ordering)
    for listed in (queryset, ranked):
        expected = [customer.pk for customer in listed]
        paginator = BoundedPaginator(listed, 3, count_with_page=True)
        pages = [[row.pk for row in paginator.page(number)] for number in (1, 2, 3)]
        assert paginator.count == len(expected) == 8
        assert pages == [expected[0:3], expected[3:6], expected[6:8]]
