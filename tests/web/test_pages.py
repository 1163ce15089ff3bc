"""The staff UI's shell through Django's test client: sign-in, the dashboard, sign-out, and anonymous visitors sent
to the sign-in page."""

from __future__ import annotations

import pytest
from django.test import Client

from ..customers.factories import make_customer

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_login(client: Client) -> None:
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/login/").status_code == 200


def test_login_with_a_real_password_and_the_dashboard(client: Client, admin_user) -> None:
    admin_user.set_password("a-long-test-password")
    admin_user.save()
    make_customer()
    response = client.post("/login/", {"username": admin_user.username, "password": "a-long-test-password"})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert b"1</span> customers" in page.content
    assert client.post("/logout/").status_code == 302
