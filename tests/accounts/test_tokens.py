"""API tokens (knox): issued by `POST /api/v1/auth/token/` with an expiry, sent as `Authorization: Token …`,
refused once expired, revocable one at a time or all at once, stored only as a digest, and described in the schema."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from primepre.accounts.tokens import issue_token

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/token/"
PASSWORD = "a-long-test-password"


@pytest.fixture
def ama(admin_user):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    return admin_user


def _client(token: str = "") -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _works(token: str) -> bool:
    return _client(token).get("/api/v1/customers/").status_code == 200


@pytest.mark.parametrize("body_format", ["json", "multipart"])
def test_a_token_that_expires_after_the_ttl(ama, body_format: str) -> None:
    response = APIClient().post(URL, {"username": ama.username, "password": PASSWORD}, format=body_format)
    assert response.status_code == 200
    body = response.json()
    expiry = dt.datetime.fromisoformat(body["expiry"])
    assert abs(expiry - (timezone.now() + dt.timedelta(hours=24 * 7))) < dt.timedelta(minutes=1)
    assert _works(body["token"])


def test_form_encoded_bodies_work_too(ama) -> None:
    response = APIClient().post(
        URL, f"username={ama.username}&password={PASSWORD}", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200 and _works(response.json()["token"])


def test_the_ttl_is_a_setting(ama, settings) -> None:
    settings.API_TOKEN_TTL_HOURS = 2
    body = APIClient().post(URL, {"username": ama.username, "password": PASSWORD}, format="json").json()
    expiry = dt.datetime.fromisoformat(body["expiry"])
    assert abs(expiry - (timezone.now() + dt.timedelta(hours=2))) < dt.timedelta(minutes=1)


def test_an_expired_token_is_refused_and_a_new_one_can_be_had(ama) -> None:
    instance, token = issue_token(ama)
    assert _works(token)
    AuthToken.objects.filter(pk=instance.pk).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    refused = _client(token).get("/api/v1/customers/")
    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"
    # The client still sends its dead token while logging in again: that must not stand in the way.
    again = _client(token).post(URL, {"username": ama.username, "password": PASSWORD}, format="json")
    assert again.status_code == 200 and _works(again.json()["token"])


def test_blank_fields_are_a_validation_error_naming_them() -> None:
    response = APIClient().post(URL, {"username": "", "password": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"username", "password"}
    assert body["fields"]["password"][0]["code"] == "blank"
    missing = APIClient().post(URL, {}, format="json").json()
    assert set(missing["fields"]) == {"username", "password"}


def test_wrong_credentials_are_a_400_with_a_code(ama) -> None:
    response = APIClient().post(URL, {"username": ama.username, "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert not AuthToken.objects.exists()


def test_an_inactive_user_gets_no_token(ama) -> None:
    ama.is_active = False
    ama.save()
    response = APIClient().post(URL, {"username": ama.username, "password": PASSWORD}, format="json")
    assert response.status_code == 400 and not AuthToken.objects.exists()


def test_delete_revokes_only_the_token_used(ama) -> None:
    _, first = issue_token(ama)
    _, second = issue_token(ama)
    assert _client(first).delete(URL).status_code == 204
    assert not _works(first)
    assert _works(second)
    assert _client(second).post(URL + "revoke/").status_code == 204
    assert not _works(second)
    assert _client(second).delete(URL).status_code == 401  # already revoked


def test_revoke_all_revokes_every_token_of_that_user_only(ama, staff_user) -> None:
    tokens = [issue_token(ama)[1] for _ in range(3)]
    _, colleague = issue_token(staff_user)
    response = _client(tokens[0]).post(URL + "revoke-all/")
    assert response.status_code == 200 and response.json() == {"revoked": 3}
    assert not any(_works(token) for token in tokens)
    assert _client(colleague).get("/api/v1/customers/").status_code == 200


def test_revoking_needs_a_token(ama, client) -> None:
    anonymous = APIClient().delete(URL)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"
    assert APIClient().post(URL + "revoke-all/").status_code == 401
    client.force_login(ama)  # a browser session is not a token: nothing to revoke
    assert client.post(URL + "revoke-all/").status_code == 401


def test_only_a_digest_of_the_token_is_stored(ama) -> None:
    _, token = issue_token(ama)
    row = AuthToken.objects.values().get()
    assert token not in {str(value) for value in row.values()}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AuthToken._meta.db_table}")
        assert not any(token in str(value) for found in cursor.fetchall() for value in found)


def test_the_token_endpoints_in_the_openapi_schema(client, staff_user) -> None:
    client.force_login(staff_user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    token = schema["paths"]["/api/v1/auth/token/"]
    post = token["post"]
    assert post.get("security", []) in ([], [{}]) and "security" not in schema  # logging in needs no token
    request_ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    request_schema = schema["components"]["schemas"][request_ref]
    assert set(request_schema["required"]) == {"username", "password"}
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    ok_ref = post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ok_ref]["properties"]) == {"token", "expiry"}
    assert {"400", "429"} <= set(post["responses"])
    assert "204" in token["delete"]["responses"]
    assert {"knoxApiToken": []} in token["delete"]["security"]
    assert "post" in schema["paths"]["/api/v1/auth/token/revoke-all/"]
    assert "post" in schema["paths"]["/api/v1/auth/token/revoke/"]
    assert schema["components"]["securitySchemes"]["knoxApiToken"]["type"] in {"http", "apiKey"}


def test_logging_in_for_a_token_opens_no_session_but_records_the_login(ama) -> None:
    from django.contrib.sessions.models import Session

    response = APIClient().post(URL, {"username": ama.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert "sessionid" not in response.cookies and not Session.objects.exists()
    ama.refresh_from_db()
    assert ama.last_login is not None and timezone.now() - ama.last_login < dt.timedelta(minutes=1)
