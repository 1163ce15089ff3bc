"""The customer pages through Django's test client: the list (search, filters, sort, pages), detail and edit with
the model's validation, and the streamed export of the current filter with no row cap."""

from __future__ import annotations

import csv
import io
import re

import pytest
import python_calamine
from django.test import Client

from primepre.customers.models import Customer

from .factories import make_customer

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_search_by_a_differently_formatted_phone(admin_user) -> None:
    make_customer(phone="+233241234567", shipping_mark="PM4 KOFI")
    make_customer(phone="+233201111111", shipping_mark="PM9 YAW")
    page = _client(admin_user).get("/customers/", {"search": "024 123 4567"})
    assert b"PM4 KOFI" in page.content and b"PM9 YAW" not in page.content
    assert b'<span id="result-count">1</span>' in page.content


def test_filters_sort_and_pages(admin_user) -> None:
    for index in range(55):
        make_customer(last_name=f"Name{index:02d}", region="AA" if index % 2 else "AH")
    client = _client(admin_user)
    first = client.get("/customers/", {"sort": "name"})
    assert first.context["page"].paginator.count == 55 and len(first.context["page"]) == 50
    assert [c.last_name for c in first.context["page"]][:2] == ["Name00", "Name01"]
    second = client.get("/customers/", {"sort": "name", "page": 2})
    assert len(second.context["page"]) == 5
    accra = client.get("/customers/", {"region": "AA"})
    assert accra.context["page"].paginator.count == 27


def test_edit_uses_the_models_validation(admin_user, staff_user) -> None:
    kofi = make_customer(phone="+233241234567", shipping_mark="PM4 KOFI")
    ama = make_customer(phone="+233201111111", shipping_mark="PM5 AMA")
    client = _client(admin_user)
    data = {
        "shipping_mark": "pm4-kofi",
        "first_name": ama.first_name,
        "last_name": ama.last_name,
        "phone": "0241234567",
        "email": "",
        "region": "",
        "company_name": "",
        "customer_type": "individual",
    }
    refused = client.post(f"/customers/{ama.pk}/edit/", data)
    assert refused.status_code == 200
    assert set(refused.context["form"].errors) == {"phone", "shipping_mark"}
    data.update(shipping_mark="PM5 AMA-2", phone="+233 20 999 9999")
    saved = client.post(f"/customers/{ama.pk}/edit/", data)
    assert saved.status_code == 302 and saved["Location"] == f"/customers/{ama.pk}/"  # back to the read view
    ama.refresh_from_db()
    assert (ama.phone, ama.mark_key) == ("+233209999999", "pm5ama2")
    assert kofi.phone == "+233241234567"
    staff = _client(staff_user)  # Staff can view, not change
    assert staff.get(f"/customers/{ama.pk}/").status_code == 200
    assert staff.get(f"/customers/{ama.pk}/edit/").status_code == 403
    assert staff.post(f"/customers/{ama.pk}/edit/", data).status_code == 403


def test_export_of_a_filtered_list_has_no_row_cap(admin_user) -> None:
    Customer.objects.bulk_create(
        [
            Customer(
                first_name="Ama",
                last_name=f"Owusu{n}",
                phone=f"+23320{n:07d}",
                shipping_mark=f"PM{n}",
                mark_key=f"pm{n}",
                region="AA" if n % 3 else "TV",
                customer_type="individual",
            )
            for n in range(1, 6001)
        ]
    )
    client = _client(admin_user)
    response = client.get("/customers/export.csv", {"region": "AA"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Shipping Mark", "First Name", "Last Name", "Phone"]
    assert len(rows) - 1 == 4000  # more than the old 5,000 cap would matter for; all of the filter, nothing else
    assert rows[1][3].startswith("+233")  # E.164 as stored: `+` and digits is a number, never a formula
    xlsx = client.get("/customers/export.xlsx", {"region": "TV"})
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(b"".join(xlsx.streaming_content)))
    sheet = list(workbook.get_sheet_by_name("Customers").iter_rows())
    assert len(sheet) - 1 == 2000 and sheet[1][3].startswith("+233")


def test_export_needs_its_permission(staff_user) -> None:
    assert _client(staff_user).get("/customers/export.csv").status_code == 403


def test_an_empty_directory_says_how_to_fill_it_and_offers_no_list_actions(admin_client) -> None:
    html = admin_client.get("/customers/").content.decode()
    assert "No customers yet" in html and 'href="/imports/new/"' in html
    assert 'id="sms-list"' not in html and "export.csv" not in html


def test_counts_have_thousands_separators_and_the_nav_marks_the_page(admin_client) -> None:
    from primepre.customers.models import Customer

    Customer.objects.bulk_create(
        [Customer(first_name="A", last_name=f"B{n}", phone=f"+23324{n:07d}", shipping_mark=f"M{n}", mark_key=f"m{n}")
         for n in range(1000)]
    )  # fmt: skip
    html = admin_client.get("/customers/").content.decode()
    assert '<span id="result-count">1,000</span>' in html
    assert 'href="/customers/" aria-current="page"' in html


def test_a_refused_edit_keeps_the_heading_focuses_the_error_and_names_who_holds_the_phone(admin_client) -> None:
    from .factories import make_customer

    holder = make_customer(shipping_mark="PM9 YAW", first_name="Yaw", last_name="Boateng", phone="+233241110009")
    customer = make_customer(shipping_mark="PM4 KOFI", phone="+233241110004")
    data = {"first_name": "Kofi", "last_name": "Mensah", "phone": "024 111 0009", "shipping_mark": "PM4 RENAMED",
            "customer_type": "individual"}  # fmt: skip
    html = admin_client.post(f"/customers/{customer.pk}/edit/", data).content.decode()
    assert "<h1>Edit PM4 KOFI" in html and "PM4 RENAMED <small>" not in html
    assert f"This phone number belongs to {holder.full_name} (PM9 YAW)." in html
    phone_input = re.search(r'<input[^>]*name="phone"[^>]*>', html).group(0)
    assert "autofocus" in phone_input
