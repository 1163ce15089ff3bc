"""What Django refuses while it reads a multipart body is answered in the API's error shape on /api/ paths, with a
code of its own: too many files (DATA_UPLOAD_MAX_NUMBER_FILES), a file name over MAX_FILE_NAME_LENGTH (including
the ones so long that Django drops the part and the view would say "no file")."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from config.uploads import MAX_FILE_NAME_LENGTH
from primepre.imports.models import ImportJob

pytestmark = pytest.mark.django_db
CSV = b"Shipping Mark,First Name,Last Name,Phone\nPM1 AMA,Ama,Owusu,0241234567\n"


def _file(name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, CSV, content_type="text/csv")


def _post_named(client: Client, url: str, name: str, **fields: str):
    """A multipart body written by hand: the test client's SimpleUploadedFile cuts names to 255 characters."""
    boundary = "BoUnDaRy1234"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in fields.items()
    ]
    disposition = f'Content-Disposition: form-data; name="file"; filename="{name}"'
    head = f"--{boundary}\r\n{disposition}\r\nContent-Type: text/csv\r\n\r\n"
    body = "".join(parts).encode() + head.encode() + CSV + f"\r\n--{boundary}--\r\n".encode()
    return client.generic("POST", url, body, content_type=f"multipart/form-data; boundary={boundary}")


@pytest.mark.parametrize("url", ["/api/v1/imports/", "/api/v1/customers/"])
def test_too_many_files_is_a_json_400_with_its_code(admin_api: APIClient, url: str) -> None:
    response = admin_api.post(url, {"file": [_file() for _ in range(101)]}, format="multipart")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "too_many_files" and "at most 100" in body["message"]
    assert body["request_id"] == response["X-Request-ID"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("length", [MAX_FILE_NAME_LENGTH + 1, 900, 5000])
def test_a_file_name_over_the_limit_is_named_not_missing(admin_api: APIClient, length: int) -> None:
    response = _post_named(admin_api, "/api/v1/imports/", "c" * (length - 4) + ".csv")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "file_name_too_long", body
    assert f"at most {MAX_FILE_NAME_LENGTH} characters" in body["message"]
    assert not ImportJob.objects.exists()


def test_a_name_at_the_limit_is_accepted(admin_api: APIClient) -> None:
    name = "c" * (MAX_FILE_NAME_LENGTH - 4) + ".csv"
    response = _post_named(admin_api, "/api/v1/imports/", name, dry_run="true")
    assert response.status_code in {201, 202}, response.content[:300]
    assert ImportJob.objects.get().file_name == name


def test_the_upload_page_says_it_in_a_page(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    response = _post_named(client, "/imports/new/", "c" * 5000 + ".csv", mode="create")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"at most 255 characters" in response.content
    assert b"<script" not in response.content and b"style=" not in response.content
