"""The Django admin for customers: search like the API, the model's validation, audit fields read-only."""

from __future__ import annotations

import pytest
from django.test import Client

from primepre.customers.models import Customer

from .factories import make_customer

pytestmark = pytest.mark.django_db
LIST = "/admin/customers/customer/"


@pytest.fixture
def superuser_client(client: Client, django_user_model) -> Client:
    client.force_login(django_user_model.objects.create_superuser("root", password="not-used-anywhere"))
    return client


@pytest.mark.parametrize("query", ["0241234567", "+233 24 123 4567", "pm4-kofi", "Mensah"])
def test_admin_search_understands_phones_and_marks(superuser_client: Client, query: str) -> None:
    make_customer(phone="+233241234567", shipping_mark="PM4 KOFI", last_name="Mensah")
    make_customer(phone="+233201111111", shipping_mark="PM9 YAW", last_name="Boateng")
    page = superuser_client.get(LIST, {"q": query})
    assert page.status_code == 200
    assert b"PM4 KOFI" in page.content
    assert b"PM9 YAW" not in page.content


def test_admin_filters_by_region_type_and_date(superuser_client: Client) -> None:
    make_customer(shipping_mark="PM1 ACCRA", region="AA")
    make_customer(shipping_mark="PM2 KUMASI", region="AH")
    page = superuser_client.get(LIST, {"region__exact": "AH"})
    assert b"PM2 KUMASI" in page.content and b"PM1 ACCRA" not in page.content
    assert superuser_client.get(LIST, {"customer_type__exact": "business"}).status_code == 200
    assert superuser_client.get(LIST, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).status_code == 200


def test_admin_add_normalises_and_records_who(superuser_client: Client) -> None:
    response = superuser_client.post(
        "/admin/customers/customer/add/",
        {
            "shipping_mark": "PM4  Kofi",
            "first_name": "Kofi",
            "last_name": "Mensah",
            "phone": "+233 (0)24 123 4567",
            "email": "",
            "region": "AA",
            "company_name": "",
            "customer_type": "individual",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    customer = Customer.objects.get()
    assert (customer.phone, customer.mark_key, customer.email) == ("+233241234567", "pm4kofi", None)
    assert customer.created_by.username == "root"


def test_admin_add_shows_field_errors_instead_of_crashing(superuser_client: Client) -> None:
    make_customer(phone="+233241234567", shipping_mark="PM4 KOFI")
    response = superuser_client.post(
        "/admin/customers/customer/add/",
        {
            "shipping_mark": "pm4-kofi",
            "first_name": "Kofi",
            "last_name": "Mensah",
            "phone": "0241234567",
            "customer_type": "individual",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"phone", "shipping_mark"}
    assert Customer.objects.count() == 1


def test_audit_fields_are_read_only(superuser_client: Client) -> None:
    customer = make_customer()
    page = superuser_client.get(f"/admin/customers/customer/{customer.pk}/change/")
    form = page.context["adminform"].form
    for field in ("created_by", "created_at", "updated_at", "mark_key"):
        assert field not in form.fields
