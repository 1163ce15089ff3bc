"""Import history filtered by kind of sheet, by the days jobs were uploaded and by a part of the file's name (issue
#24, Low): the filters survive paging, a bad date is left out with a message (never a 500), and each job says its
kind of sheet as people call it."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
from django.test import Client
from django.utils import timezone

from primepre.imports.models import ImportJob, ImportStatus
from primepre.imports.schema import schemas

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def _job(user, file_name: str, schema: str = "customers", day: dt.date | None = None) -> ImportJob:
    job = ImportJob.objects.create(created_by=user, schema=schema, file_name=file_name, status=ImportStatus.SUCCEEDED)
    if day is not None:
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
        ImportJob.objects.filter(pk=job.pk).update(created_at=moment)
    return job


def _files(client: Client, **query: str) -> list[str]:
    return [row[1] for row in _rows(client.get("/imports/", query).content.decode())]


def _rows(html: str) -> list[list[str]]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [
        [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_kind_of_sheet_is_a_filter_and_each_job_says_its_kind(admin, admin_user) -> None:
    _job(admin_user, "clients.xlsx")
    _job(admin_user, "warehouse.xlsx", schema="goods")
    html = admin.get("/imports/").content.decode()
    for schema in schemas():
        assert f'<option value="{schema.name}">{schema.label}</option>' in html
    kinds = {row[1]: row[2] for row in _rows(html)}
    assert kinds == {"clients.xlsx": "Customers", "warehouse.xlsx": "Goods received"}
    assert _files(admin, kind="goods") == ["warehouse.xlsx"]
    assert '<option value="goods" selected>' in admin.get("/imports/", {"kind": "goods"}).content.decode()
    assert set(_files(admin, kind="nonsense")) == {"clients.xlsx", "warehouse.xlsx"}  # not a kind: no filter


def test_the_days_uploaded_from_and_until_are_both_included(admin, admin_user) -> None:
    for day in (25, 26, 27, 28):
        _job(admin_user, f"day-{day}.csv", day=dt.date(2026, 11, day))
    assert _files(admin, created_after="2026-11-26", created_before="2026-11-27") == ["day-27.csv", "day-26.csv"]
    assert _files(admin, created_after="2026-11-28") == ["day-28.csv"]
    assert _files(admin, created_before="2026-11-25") == ["day-25.csv"]
    html = admin.get("/imports/", {"created_after": "2026-11-27", "created_before": "2026-11-26"}).content.decode()
    assert "No imports match these filters." in html
    assert 'id="created_after" name="created_after" type="date" value="2026-11-27"' in html


@pytest.mark.parametrize("bad", ["2026-13-45", "28/11/2026", "yesterday", "x" * 5000, "2026-11-28\x00"])
def test_a_date_that_is_not_one_is_left_out_with_a_message(admin, admin_user, bad: str) -> None:
    _job(admin_user, "old.csv", day=dt.date(2026, 1, 5))
    _job(admin_user, "new.csv", day=dt.date(2026, 11, 28))
    response = admin.get("/imports/", {"created_after": bad, "created_before": "2026-11-30"})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    alert = html.split('<div class="error" role="alert" id="filter-problems">')[1].split("</div>")[0]
    assert alert.startswith("<p>Uploaded from: “") and "is not a date, so it was left out" in alert
    assert "Uploaded until" not in alert  # the good bound is not reported
    assert "x" * 21 not in html  # the echo is cut
    assert {row[1] for row in _rows(html)} == {"old.csv", "new.csv"}  # the bad bound ignored, the good one applied
    assert 'name="created_after" type="date" value=""' in html


def test_a_part_of_the_file_name_any_case_and_a_long_search_is_cut(admin, admin_user) -> None:
    _job(admin_user, "Goods-November.xlsx", schema="goods")
    _job(admin_user, "customers-october.csv")
    assert _files(admin, file="NOVEMBER") == ["Goods-November.xlsx"]
    assert _files(admin, file="  november ") == ["Goods-November.xlsx"]  # spaces around it are not searched for
    assert set(_files(admin, file="ber")) == {"Goods-November.xlsx", "customers-october.csv"}
    long = admin.get("/imports/", {"file": "a" * 10_000})
    assert long.status_code == 200 and f'value="{"a" * 100}"' in long.content.decode()
    assert "No imports match these filters." in long.content.decode()


def test_the_filters_are_kept_across_pages(admin, admin_user) -> None:
    for n in range(26):
        _job(admin_user, f"november-{n}.xlsx", schema="goods", day=dt.date(2026, 11, 20))
    _job(admin_user, "november-customers.xlsx", day=dt.date(2026, 11, 20))
    _job(admin_user, "october-goods.xlsx", schema="goods", day=dt.date(2026, 10, 20))
    query = {"kind": "goods", "file": "november", "created_after": "2026-11-01"}
    first = admin.get("/imports/", query).content.decode()
    nxt = re.search(r'<a href="\?([^"]+)" rel="next">', first)
    assert nxt and unescape(nxt[1]) == "kind=goods&file=november&created_after=2026-11-01&page=2"
    assert len(_rows(first)) == 25
    second = admin.get(f"/imports/?{unescape(nxt[1])}").content.decode()
    assert [row[1] for row in _rows(second)] == ["november-0.xlsx"]
