"""The dashboard per role (issue #24 item 11): the warehouse's day for whoever works on goods, the latest imports for
whoever may import (the same rule as the nav and the API), and the next step on a fresh install."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from primepre.imports.jobs import create_job
from primepre.imports.services import store_file

from ..customers.factories import make_customer
from ..goods.factories import make_receipt
from ..imports.helpers import write_csv

pytestmark = pytest.mark.django_db


def _page(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/").content.decode()


def test_the_warehouse_sees_its_day(warehouse_user, tmp_path, settings) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    today = timezone.localdate()
    kofi = make_customer()
    make_receipt(customer=kofi, warehouse="GZ", received_on=today, cartons=3, cbm=Decimal("0.5"))
    make_receipt(customer=kofi, warehouse="GZ", received_on=today, cartons=2, cbm=Decimal("0.25"))
    make_receipt(shipping_mark="PM9 NOBODY", warehouse="YW", received_on=today - dt.timedelta(days=today.weekday()))
    make_receipt(customer=kofi, warehouse="GZ", received_on=today - dt.timedelta(days=30))  # before this week
    path = write_csv(tmp_path / "goods-today.csv", ["Mark", "Date", "CTNS", "CBM"], [["PM1", "2026-11-28", 1, 0.1]])
    create_job(store_file(path), file_name=path.name, user=warehouse_user, schema="goods")
    html = _page(warehouse_user)
    assert 'id="unknown-marks-waiting"><span class="big">1</span> unknown mark waiting' in html
    assert '<tr><th scope="row">today</th><td>Guangzhou</td><td class="num">2</td><td class="num">5</td>' in html
    assert "0.750" in html and "Yiwu" in html
    assert 'id="import-todays-sheet"' in html and "goods-today.csv" in html
    assert ">Import</a>" in html and "Latest imports" in html  # one may-import rule: the nav and the dashboard agree


def test_a_fresh_install_says_what_to_do_first(admin_user) -> None:
    assert "Import your first customers" in _page(admin_user)
    make_customer()
    assert "Import your first customers" not in _page(admin_user)


def test_staff_see_no_warehouse_panel(staff_user) -> None:
    html = _page(staff_user)
    assert 'id="warehouse-day"' not in html and ">Import</a>" in html
