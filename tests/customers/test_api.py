"""The customers REST API: permissions per action, the error shape, search, filters and ordering."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from knox.models import AuthToken
from rest_framework.test import APIClient

from primepre.customers.models import Customer

from .factories import make_customer

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/"


def _detail(customer: Customer) -> str:
    return f"{URL}{customer.pk}/"


NEW = {
    "first_name": "Ama",
    "last_name": "Owusu",
    "phone": "+233 (0)24 765 4321",
    "shipping_mark": "pm7  ama",
    "email": "Ama@Example.com",
    "region": "Ashanti",
    "company_name": "Owusu Trading",
    "customer_type": "business",
}


def test_anonymous_clients_get_401_with_json_error(api: APIClient) -> None:
    response = api.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"
    assert api.post(URL, NEW, format="json").status_code == 401


def test_staff_can_read_but_not_write(staff_api: APIClient) -> None:
    customer = make_customer()
    assert staff_api.get(URL).status_code == 200
    assert staff_api.get(_detail(customer)).status_code == 200
    for response in (
        staff_api.post(URL, NEW, format="json"),
        staff_api.patch(_detail(customer), {"first_name": "Yaw"}, format="json"),
        staff_api.delete(_detail(customer)),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert Customer.objects.get().first_name == "Kofi"


def test_a_user_with_no_role_cannot_even_read(django_user_model) -> None:
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("visitor", password="unused-but-long"))
    assert client.get(URL).status_code == 403


def test_permissions_are_per_action_not_per_role(django_user_model) -> None:
    user = django_user_model.objects.create_user("clerk", password="unused-but-long")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "add_customer"]))
    client = APIClient()
    client.force_authenticate(user)
    assert client.post(URL, NEW, format="json").status_code == 201
    created = Customer.objects.get()
    assert client.patch(_detail(created), {"first_name": "Yaw"}, format="json").status_code == 403
    assert client.delete(_detail(created)).status_code == 403


def test_admin_creates_a_customer_with_everything_normalised(admin_api: APIClient, admin_user) -> None:
    response = admin_api.post(URL, NEW, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+233247654321"
    assert body["shipping_mark"] == "pm7 ama"
    assert body["mark_key"] == "pm7ama"
    assert body["email"] == "ama@example.com"
    assert (body["region"], body["region_label"]) == ("AH", "Ashanti")
    assert body["created_by"] == admin_user.username
    assert Customer.objects.get().created_by == admin_user


def test_validation_errors_have_code_message_and_fields(admin_api: APIClient) -> None:
    make_customer(phone="+233247654321", shipping_mark="PM7 AMA")
    response = admin_api.post(
        URL,
        {**NEW, "phone": "0247654321", "shipping_mark": "PM7-ama", "email": "not-an-email", "region": "Lagos"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"] == "4 problems with the input; see fields."
    assert body["request_id"] == response["X-Request-ID"]
    codes = {field: [error["code"] for error in errors] for field, errors in body["fields"].items()}
    assert codes == {
        "phone": ["unique"],
        "shipping_mark": ["unique"],
        "email": ["invalid"],
        "region": ["invalid_choice"],
    }
    assert "PM7 AMA" in body["fields"]["shipping_mark"][0]["message"]


def test_a_bad_phone_says_why(admin_api: APIClient) -> None:
    response = admin_api.post(URL, {**NEW, "phone": "2.33247E+11"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["phone"][0]["code"] == "phone_rounded"
    missing = admin_api.post(URL, {key: value for key, value in NEW.items() if key != "phone"}, format="json")
    assert missing.json()["fields"]["phone"][0]["code"] == "required"


def test_update_and_partial_update_revalidate(admin_api: APIClient) -> None:
    kofi = make_customer(phone="+233241234567", shipping_mark="PM4 KOFI")
    ama = make_customer(phone="+233247654321", shipping_mark="PM7 AMA")
    clash = admin_api.patch(_detail(ama), {"phone": "024 123 4567"}, format="json")
    assert clash.status_code == 400
    assert clash.json()["fields"]["phone"][0]["code"] == "unique"
    same = admin_api.patch(_detail(kofi), {"shipping_mark": "pm4 kofi", "phone": "0241234567"}, format="json")
    assert same.status_code == 200, same.json()  # a customer never clashes with itself
    assert same.json()["shipping_mark"] == "pm4 kofi"
    replaced = admin_api.put(_detail(ama), {**NEW, "phone": "0201111111", "shipping_mark": "PM8"}, format="json")
    assert replaced.status_code == 200
    ama.refresh_from_db()
    assert (ama.phone, ama.mark_key, ama.customer_type) == ("+233201111111", "pm8", "business")


def test_admin_deletes(admin_api: APIClient) -> None:
    customer = make_customer()
    assert admin_api.delete(_detail(customer)).status_code == 204
    assert not Customer.objects.exists()
    assert admin_api.get(_detail(customer)).json()["code"] == "not_found"


@pytest.mark.parametrize("query", ["0241234567", "+233 24 123 4567", "233241234567", "024 123", "4567"])
def test_search_finds_a_phone_in_any_format(staff_api: APIClient, query: str) -> None:
    kofi = make_customer(phone="+233241234567", first_name="Kofi")
    make_customer(phone="+233201111111")
    results = staff_api.get(URL, {"search": query}).json()["results"]
    assert [row["id"] for row in results] == [kofi.pk]


@pytest.mark.parametrize("query", ["pm4 kofi", "PM4-KOFI", "pm4kofi", "Mensah Kofi", "kofi@example", "Kente Ltd"])
def test_search_by_mark_name_email_company(staff_api: APIClient, query: str) -> None:
    kofi = make_customer(
        shipping_mark="PM4 KOFI",
        first_name="Kofi",
        last_name="Mensah",
        email="kofi@example.com",
        company_name="Kente Ltd",
    )
    make_customer(shipping_mark="PM5 AMA", first_name="Ama", last_name="Owusu")
    results = staff_api.get(URL, {"search": query}).json()["results"]
    assert [row["id"] for row in results] == [kofi.pk]


def test_filters_ordering_and_pagination(staff_api: APIClient) -> None:
    for index in range(7):
        make_customer(last_name=f"Name{index}", region="AA" if index % 2 else "AH", customer_type="business")
    make_customer(region="TV")
    accra = staff_api.get(URL, {"region": "AA", "ordering": "last_name"}).json()
    assert accra["count"] == 3
    assert [row["last_name"] for row in accra["results"]] == ["Name1", "Name3", "Name5"]
    two_regions = staff_api.get(URL, {"region": ["AA", "TV"]}).json()
    assert two_regions["count"] == 4
    assert staff_api.get(URL, {"customer_type": "business"}).json()["count"] == 7
    page = staff_api.get(URL, {"page_size": 3, "page": 2, "ordering": "-last_name"}).json()
    assert [row["last_name"] for row in page["results"]] == ["Name3", "Name2", "Name1"]
    assert staff_api.get(URL, {"created_after": "2000-01-01"}).json()["count"] == 8
    assert staff_api.get(URL, {"created_before": "2000-01-01"}).json()["count"] == 0
    bad = staff_api.get(URL, {"region": "XX"})
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"


def test_token_auth_for_api_clients(admin_user) -> None:
    client = APIClient()
    admin_user.set_password("a-long-test-password")
    admin_user.save()
    token = client.post("/api/v1/auth/token/", {"username": admin_user.username, "password": "a-long-test-password"})
    assert token.status_code == 200
    assert AuthToken.objects.get(user=admin_user).token_key == token.json()["token"][:15]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert client.get(URL).status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert client.get(URL).status_code == 401


def test_session_auth_for_the_browser(client, admin_user) -> None:
    client.force_login(admin_user)
    assert client.get(URL).status_code == 200


def test_openapi_schema_and_docs_page(client, staff_user) -> None:
    client.force_login(staff_user)  # with DEBUG off the schema and its docs need a login (tests/test_hardening.py)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/customers/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn.jsdelivr" not in docs.content  # served from our own static files: works offline


def test_the_fast_representation_equals_drf_generic_one(admin_user) -> None:
    from rest_framework import serializers

    from primepre.customers.api import CustomerSerializer

    plain = make_customer(email=None, region="", company_name="")
    full = make_customer(email="a@b.test", region="AH", company_name="Kente Ltd", customer_type="business")
    Customer.objects.filter(pk=full.pk).update(created_by=admin_user)
    for customer in Customer.objects.select_related("created_by").filter(pk__in=[plain.pk, full.pk]):
        serializer = CustomerSerializer(customer)
        generic = serializers.ModelSerializer.to_representation(serializer, customer)
        fast = serializer.to_representation(customer)
        assert list(fast.items()) == list(generic.items())
