"""A refused page (issue #24 item 10): the app's own page with the reason in words and a way back, never a bare
"403 Forbidden"; the API keeps its JSON error shape."""

from __future__ import annotations

import pytest
from django.test import Client

from ..customers.factories import make_customer
from ..goods.factories import make_receipt

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("who", "path", "reason"),
    [
        ("warehouse", "/sms/", "Your role (Warehouse) cannot send SMS."),
        ("staff", "/goods/", "Your role (Staff) cannot see goods received."),
        ("staff", "/customers/export.csv", "Your role (Staff) cannot export customers."),
    ],
)
def test_a_refused_page_says_why_inside_the_app(request, who: str, path: str, reason: str) -> None:
    user = request.getfixturevalue(f"{who}_user")
    response = _client(user).get(path, HTTP_REFERER="http://testserver/customers/")
    html = response.content.decode()
    assert response.status_code == 403
    assert f'<p class="error" role="alert" id="forbidden-reason">{reason}</p>' in html
    assert "<nav" in html and 'href="http://testserver/customers/">Go back</a>' in html  # the shell, a way back


def test_a_refused_action_says_which_permission_it_needs(staff_user) -> None:
    receipt = make_receipt(customer=make_customer())
    response = _client(staff_user).post(f"/goods/{receipt.pk}/", {"action": "cancel", "reason": "x"})
    assert response.status_code == 403 and b"cannot see goods received" in response.content


@pytest.mark.parametrize("referer", ["https://evil.example/phish", "//evil.example/phish"])
def test_the_back_link_never_leaves_the_site(warehouse_user, referer: str) -> None:
    response = _client(warehouse_user).get("/sms/", HTTP_REFERER=referer)
    assert 'href="/">Go back</a>' in response.content.decode()


def test_the_api_keeps_its_error_shape(staff_api) -> None:
    response = staff_api.get("/api/v1/goods/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
