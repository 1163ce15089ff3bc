"""JSON request bodies: too deep or too large is a 400 `invalid_json` in the API's error shape, quickly, everywhere;
ordinary bodies parse as before."""

from __future__ import annotations

import io
import json
import time

import ijson
import pytest
from rest_framework.test import APIClient

from primepre.common.jsonlimits import JsonTooDeep, check_json_depth

pytestmark = pytest.mark.django_db

NESTED = b'{"customers":' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # the review's 200 KB body


def _post(client: APIClient, url: str, body: bytes):
    started = time.perf_counter()
    response = client.generic("POST", url, body, content_type="application/json")
    return response, time.perf_counter() - started


@pytest.mark.parametrize("url", ["/api/v1/customers/", "/api/v1/sms/send/", "/api/v1/imports/"])
def test_a_deeply_nested_body_is_a_fast_400_on_every_endpoint(admin_api: APIClient, url: str) -> None:
    from primepre.imports.models import ImportJob

    response, seconds = _post(admin_api, url, NESTED)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "invalid_json"
    assert "nested more than" in body["message"]
    assert seconds < 1.0
    assert not ImportJob.objects.exists()  # nothing stored or queued


def test_a_body_over_the_limit_is_refused_unparsed(admin_api: APIClient, settings) -> None:
    settings.API_JSON_MAX_BYTES = 1000
    body = json.dumps({"first_name": "x" * 2000}).encode()
    response, _ = _post(admin_api, "/api/v1/customers/", body)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert "larger than 1,000 bytes" in response.json()["message"]


@pytest.mark.parametrize("body", [b'{"first_name": ', b'{"a": NaN}', b"[1] x", b'"\xff"'])
def test_invalid_json_is_invalid_json(admin_api: APIClient, body: bytes) -> None:
    response, _ = _post(admin_api, "/api/v1/customers/", body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid_json"
    assert payload["message"].startswith("The JSON body is not valid:")
    assert "\n" not in payload["message"]  # yajl's drawing of the input is left out


def test_ordinary_bodies_still_work(admin_api: APIClient) -> None:
    created = admin_api.post(
        "/api/v1/customers/",
        {"shipping_mark": "PM4 KOFI", "first_name": "Kofi", "last_name": "Mensah", "phone": "0241234567"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    patched = admin_api.patch(f"/api/v1/customers/{created.json()['id']}/", {"last_name": "Owusu"}, format="json")
    assert patched.status_code == 200 and patched.json()["last_name"] == "Owusu"
    # The deepest body an endpoint takes: the SMS send's filter with a list of regions (3 levels).
    sent = admin_api.post("/api/v1/sms/send/", {"body": "Hello", "filter": {"region": ["AA"]}}, format="json")
    assert sent.status_code != 400 or sent.json()["code"] != "invalid_json"


def test_the_depth_check_is_linear() -> None:
    deep = b"[" * 2_000_000 + b"]" * 2_000_000
    started = time.perf_counter()
    with pytest.raises(JsonTooDeep):
        check_json_depth(deep, 4)
    assert time.perf_counter() - started < 0.5
    check_json_depth(b'{"a": [{"b": [1]}]}', 4)  # exactly the limit
    with pytest.raises(JsonTooDeep):
        check_json_depth(b'{"a": [{"b": [[1]]}]}', 4)
    with pytest.raises(ijson.JSONError):
        check_json_depth(b'{"a": ', 4)
    with pytest.raises(ijson.JSONError):
        check_json_depth(io.BytesIO(b"").read(), 4)
