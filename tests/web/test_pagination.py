"""The pager every paged list shares (`web/_pagination.html`): it is there on each list, including the import history
(which paged by 25 with no way to reach page 2) and the failing rows of an import, and its links keep the page's query
string (search, filters, sort), changing only `page`."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from primepre.imports.models import ImportJob, ImportRowError, ImportStatus

from ..customers.factories import make_customer
from ..goods.factories import make_receipt

pytestmark = pytest.mark.django_db


def _links(html: str) -> dict[str, str]:
    """The pager's links by rel, as a browser reads them (entities decoded)."""
    pager = re.search(r'<nav class="pages"[^>]*>(.*?)</nav>', html, re.DOTALL)
    assert pager, "no pager on the page"
    found = re.findall(r'<a href="\?([^"]*)" rel="(prev|next)">', pager.group(1))
    return {rel: href.replace("&amp;", "&") for href, rel in found}


@pytest.fixture
def admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_customer_list_pages_keep_search_filters_and_sort(admin: Client) -> None:
    for index in range(51):
        make_customer(last_name=f"Name{index:02d}", region="AA")
    make_customer(region="AH")
    first = admin.get("/customers/", {"region": "AA", "sort": "name"})
    assert _links(first.content.decode()) == {"next": "region=AA&sort=name&page=2"}
    second = admin.get("/customers/?region=AA&sort=name&page=2")
    assert [c.last_name for c in second.context["page"]] == ["Name50"]
    assert _links(second.content.decode()) == {"prev": "region=AA&sort=name&page=1"}


def test_import_history_has_a_pager_that_keeps_its_filters(admin: Client, staff_user) -> None:
    ImportJob.objects.bulk_create(
        [ImportJob(created_by=staff_user, status=ImportStatus.SUCCEEDED, file_name=f"f{n}.csv") for n in range(26)]
    )
    ImportJob.objects.create(created_by=staff_user, status=ImportStatus.FAILED, file_name="other.csv")
    first = admin.get("/imports/", {"status": "succeeded"})
    assert first.context["page"].paginator.count == 26
    assert _links(first.content.decode()) == {"next": "status=succeeded&page=2"}
    second = admin.get("/imports/?status=succeeded&page=2")
    assert len(second.context["page"]) == 1 and "other.csv" not in second.content.decode()


def test_failing_rows_of_an_import_are_paged(admin: Client, staff_user) -> None:
    job = ImportJob.objects.create(
        created_by=staff_user, status=ImportStatus.PREVIEWED, dry_run=True, rows_read=30, failed=30
    )
    ImportRowError.objects.bulk_create(
        [ImportRowError(job=job, row_number=n, errors=[], values=[f"cell {n}"]) for n in range(2, 32)]
    )
    first = admin.get(f"/imports/{job.pk}/")
    assert _links(first.content.decode()) == {"next": "page=2"}
    second = admin.get(f"/imports/{job.pk}/", {"page": 2})
    assert [row["row"] for row in second.context["rows"]] == [27, 28, 29, 30, 31]


def test_goods_list_pages_keep_their_filters(admin: Client) -> None:
    for _ in range(51):
        make_receipt(method="air")
    make_receipt(method="sea")
    first = admin.get("/goods/", {"method": "air", "unidentified": "true"})
    assert _links(first.content.decode()) == {"next": "method=air&unidentified=true&page=2"}
    assert len(admin.get("/goods/?method=air&unidentified=true&page=2").context["page"]) == 1


def test_unknown_mark_queue_pages_keep_the_ordering(admin: Client) -> None:
    for n in range(26):
        make_receipt(shipping_mark=f"ZZ{n} NOBODY")
    first = admin.get("/goods/unknown-marks/", {"ordering": "-receipts"})
    assert _links(first.content.decode()) == {"next": "ordering=-receipts&page=2"}
