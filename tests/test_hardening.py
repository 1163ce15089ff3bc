"""Security issue #11: bad query values are 400s, uploads stop at the limit before anything stores them, one SMS
length limit, Content-Security-Policy and no-store, what "view" allows, API docs behind a login, uploaded files
purged after their retention."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from primepre.imports.errors import too_large_message
from primepre.imports.management.commands import import_worker
from primepre.imports.models import ImportJob
from primepre.imports.retention import purge_import_files
from primepre.sms.backends import reset_backend
from primepre.sms.models import SmsMessage
from primepre.sms.views import checked_text

from .customers.factories import make_customer
from .imports.helpers import HEADER, run_import, write_csv

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
TOO_BIG = "9" * 30


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _field_codes(response) -> dict[str, list[str]]:
    body = response.json()
    assert body["code"] == "validation_error", body
    return {name: [error["code"] for error in errors] for name, errors in body["fields"].items()}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Uploaded files go to a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def fresh_sms_backend() -> Iterator[None]:
    reset_backend()
    yield
    reset_backend()


# --- 8. out-of-range and oversized query values ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [TOO_BIG, "0", "-1", "1e5", str(2**63), "abc"])
def test_an_import_job_filter_outside_the_id_range_is_a_400(admin_api: APIClient, value: str) -> None:
    response = admin_api.get("/api/v1/customers/", {"import_job": value})
    assert response.status_code == 400
    assert "import_job" in _field_codes(response)


def test_the_largest_id_is_still_a_filter(admin_api: APIClient) -> None:
    assert admin_api.get("/api/v1/customers/", {"import_job": str(2**63 - 1)}).json()["count"] == 0


def test_a_user_filter_outside_the_id_range_is_a_400(admin_api: APIClient) -> None:
    response = admin_api.get("/api/v1/imports/", {"user": TOO_BIG})
    assert response.status_code == 400 and "user" in _field_codes(response)
    assert admin_api.get("/api/v1/imports/", {"user": "ama.admin"}).status_code == 200


def test_sms_filters_and_ids_outside_the_range_are_400s(admin_api: APIClient, fresh_sms_backend) -> None:
    response = admin_api.get("/api/v1/sms/", {"customer": TOO_BIG})
    assert response.status_code == 400 and "customer" in _field_codes(response)
    # As a string: the JSON parser itself refuses a 30-digit number literal (invalid_json, also a 400).
    sent = admin_api.post("/api/v1/sms/send/", {"body": "hi", "customer_ids": [TOO_BIG]}, format="json")
    assert sent.status_code == 400 and any(name.startswith("customer_ids") for name in sent.json()["fields"])
    by_filter = admin_api.post("/api/v1/sms/send/", {"body": "hi", "filter": {"import_job": TOO_BIG}}, format="json")
    assert by_filter.status_code == 400 and "import_job" in str(by_filter.json()["fields"])


def test_a_search_of_a_thousand_words_is_a_400_naming_search(admin_api: APIClient) -> None:
    words = " ".join(f"word{index}" for index in range(1000))
    response = admin_api.get("/api/v1/customers/", {"search": words})
    assert response.status_code == 400
    assert set(_field_codes(response)["search"]) <= {"max_length", "too_many_words"}
    eleven = admin_api.get("/api/v1/customers/", {"search": " ".join("abcdefghijk")})
    assert eleven.status_code == 400 and _field_codes(eleven) == {"search": ["too_many_words"]}
    long_word = admin_api.get("/api/v1/customers/", {"search": "x" * 201})
    assert long_word.status_code == 400 and _field_codes(long_word) == {"search": ["max_length"]}
    assert admin_api.get("/api/v1/customers/", {"search": " ".join("abcdefghij")}).status_code == 200


def test_the_pages_show_a_bad_filter_instead_of_failing(admin_user) -> None:
    make_customer()
    client = _logged_in(admin_user)
    for query in ({"import_job": TOO_BIG}, {"search": " ".join(f"w{index}" for index in range(1000))}):
        page = client.get("/customers/", query)
        assert page.status_code == 200 and b"Some filters are not valid" in page.content
        assert page.context["page"].paginator.count == 0
        sms = client.get("/sms/send/", query)
        assert sms.status_code == 200 and b"Some filters are not valid" in sms.content


def test_the_admin_search_box_takes_a_pasted_paragraph(admin_user) -> None:
    make_customer(first_name="Kofi")
    words = " ".join(f"word{index}" for index in range(1000))
    assert _logged_in(admin_user).get("/admin/customers/customer/", {"q": words}).status_code == 200


# --- 9. uploads over the limit ---------------------------------------------------------------------------------------


@pytest.fixture
def written_to_temp(monkeypatch: pytest.MonkeyPatch, settings, tmp_path: Path) -> list[int]:
    """Bytes the upload handlers wrote to temporary files (every file goes to disk: no in-memory uploads)."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    written: list[int] = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data: bytes, start: int) -> None:
        written.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    return written


def _file(size: int) -> io.BytesIO:
    upload = io.BytesIO(b"Phone,Name\n" + b"0" * size)
    upload.name = "big.csv"
    return upload


@pytest.mark.parametrize("url", ["/imports/new/", "/api/v1/imports/"])
def test_a_body_declared_too_large_is_refused_unread(
    url: str, staff_user, settings, written_to_temp: list[int]
) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 10_000
    response = _logged_in(staff_user).post(url, {"file": _file(200_000)})
    assert response.status_code == 413
    assert sum(written_to_temp) == 0
    assert too_large_message() in response.content.decode()
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("url", ["/imports/new/", "/api/v1/imports/"])
def test_an_upload_is_stopped_at_the_limit_while_it_is_read(
    url: str, staff_user, settings, written_to_temp: list[int], tmp_path: Path
) -> None:
    """Declared within the multipart slack (as a chunked body or a lying Content-Length would be), the file itself
    is over the limit: the handler stops writing at the limit and the temporary file is gone."""
    settings.IMPORT_MAX_UPLOAD_BYTES = 10_000
    response = _logged_in(staff_user).post(url, {"file": _file(50_000)})
    assert response.status_code == 413
    assert sum(written_to_temp) <= 10_000
    assert list((tmp_path / "uploads").iterdir()) == []
    assert too_large_message() in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_api_and_the_page_say_the_same(staff_user, settings) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 10_000
    client = _logged_in(staff_user)
    api = client.post("/api/v1/imports/", {"file": _file(200_000)})
    page = client.post("/imports/new/", {"file": _file(200_000)})
    assert api.json()["message"] == too_large_message() and api.json()["limit_bytes"] == 10_000
    assert api.json()["code"] == "file_too_large"
    assert too_large_message() in page.content.decode() and b'role="alert"' in page.content


def test_an_upload_within_the_limit_still_works(staff_user, settings, tmp_path: Path) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 10_000
    source = write_csv(tmp_path / "ok.csv", HEADER, [["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""]])
    with open(source, "rb") as handle:
        response = _logged_in(staff_user).post("/imports/new/", {"file": handle})
    assert response.status_code == 302 and ImportJob.objects.count() == 1


# --- 11. one SMS length limit ---------------------------------------------------------------------------------------


def test_the_page_refuses_what_the_api_refuses(admin_user, admin_api: APIClient, fresh_sms_backend) -> None:
    make_customer()
    body = "x" * 10_000
    api = admin_api.post("/api/v1/sms/send/", {"body": body, "filter": {}, "confirm_recipients": 1}, format="json")
    assert api.status_code == 400 and _field_codes(api) == {"body": ["max_length"]}
    page = _logged_in(admin_user).post(
        "/sms/send/", {"body": body, "confirm_recipients": "1", "checked_text": checked_text(body)}
    )
    assert page.status_code == 200
    assert "at most 1600 characters (this one has 10000)" in page.content.decode()
    assert b'id="send"' not in page.content
    assert not SmsMessage.objects.exists()


def test_sms_max_length_is_one_setting_for_both(admin_user, admin_api: APIClient, settings, fresh_sms_backend) -> None:
    settings.SMS_MAX_LENGTH = 20
    make_customer()
    api = admin_api.post("/api/v1/sms/send/", {"body": "x" * 21, "filter": {}}, format="json")
    assert api.status_code == 400
    client = _logged_in(admin_user)
    assert (
        b"at most 20 characters"
        in client.post(
            "/sms/send/", {"body": "x" * 21, "confirm_recipients": "1", "checked_text": checked_text("x" * 21)}
        ).content
    )
    assert (
        client.post(
            "/sms/send/", {"body": "x" * 20, "confirm_recipients": "1", "checked_text": checked_text("x" * 20)}
        ).status_code
        == 302
    )
    assert SmsMessage.objects.count() == 1


# --- 12. Content-Security-Policy and no-store ------------------------------------------------------------------------


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_carry_a_strict_content_security_policy(admin_user) -> None:
    policy = _policy(_logged_in(admin_user).get("/customers/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_no_template_has_inline_script_style_or_handlers() -> None:
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=", re.IGNORECASE)
    templates = sorted((ROOT / "primepre").glob("*/templates/**/*.html"))
    assert templates
    for template in templates:
        found = inline.findall(template.read_text())
        assert not found, f"{template.relative_to(ROOT)}: {found}"


def test_the_api_docs_page_renders_within_its_policy(staff_user) -> None:
    client = _logged_in(staff_user)
    page = client.get("/api/docs/")
    assert page.status_code == 200 and b'id="swagger-ui"' in page.content
    html = page.content.decode()
    policy = _policy(page)
    assert "'self'" in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"]
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # no inline script: the split view serves it
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert len(scripts) == 3 and len(styles) == 1
    for url in scripts + styles:  # same origin ('self'), and really there
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url.replace("&amp;", "&")).status_code == 200, url
    assert "data:" in policy["img-src"]  # swagger-ui.css draws its icons from data: URLs


def test_authenticated_answers_are_not_stored_but_static_files_are_cached(admin_user, admin_api: APIClient) -> None:
    make_customer()
    client = _logged_in(admin_user)
    assert client.get("/customers/")["Cache-Control"] == "no-store"
    assert client.get("/customers/export.csv")["Cache-Control"] == "no-store"
    assert client.get("/customers/export.xlsx")["Cache-Control"] == "no-store"
    assert admin_api.get("/api/v1/customers/")["Cache-Control"] == "no-store"
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-one")
    assert token_client.get("/api/v1/customers/")["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/web/site.css").get("Cache-Control", "")


def test_a_view_that_sets_its_own_cache_control_keeps_it(admin_user, settings) -> None:
    settings.IMPORT_SSE_MAX_SECONDS = 0
    job = ImportJob.objects.create(created_by=admin_user)
    response = _logged_in(admin_user).get(f"/api/v1/imports/{job.pk}/events/", HTTP_ACCEPT="text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    b"".join(response.streaming_content)


# --- 14. what "view" allows ------------------------------------------------------------------------------------------


@pytest.fixture
def clean_throttle_cache() -> Iterator[None]:
    cache.clear()  # throttle history is per user id, and ids are reused between tests
    yield
    cache.clear()


def test_viewers_get_pages_of_50_and_exporters_of_500(staff_api: APIClient, admin_api: APIClient) -> None:
    for _ in range(60):
        make_customer()
    assert len(staff_api.get("/api/v1/customers/", {"page_size": 500}).json()["results"]) == 50
    assert len(admin_api.get("/api/v1/customers/", {"page_size": 500}).json()["results"]) == 60


def test_viewers_are_throttled_exporters_are_not(
    staff_api: APIClient, admin_api: APIClient, settings, clean_throttle_cache
) -> None:
    settings.CUSTOMER_LIST_RATE_FOR_VIEWERS = "3/hour"
    customer = make_customer()
    statuses = [staff_api.get("/api/v1/customers/").status_code for _ in range(2)]
    statuses.append(staff_api.get(f"/api/v1/customers/{customer.pk}/").status_code)
    assert statuses == [200, 200, 200]
    refused = staff_api.get("/api/v1/customers/")
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "throttled" and body["message"]
    # A sliding window: up to the rest of the hour plus the third of the next that the three reads still weigh.
    assert isinstance(body["retry_after"], int) and 0 < body["retry_after"] <= 3600 + 1200
    assert refused["Retry-After"] == str(body["retry_after"])
    assert all(admin_api.get("/api/v1/customers/").status_code == 200 for _ in range(5))


# --- 15. API docs behind a login; uploaded files purged ---------------------------------------------------------------


def test_the_schema_and_docs_need_a_login_when_debug_is_off(client: Client, django_user_model, staff_user) -> None:
    schema = client.get("/api/schema/")
    assert schema.status_code == 401 and schema.json()["code"] == "not_authenticated"
    assert schema.json()["request_id"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/?next=/api/docs/")
    nobody = django_user_model.objects.create_user(username="nobody", password="x" * 12)
    assert _logged_in(nobody).get("/api/schema/").status_code == 403
    staff = _logged_in(staff_user)
    assert staff.get("/api/schema/").status_code == 200 and staff.get("/api/docs/").status_code == 200


def test_the_schema_stays_open_while_debug(client: Client, settings) -> None:
    settings.DEBUG = True
    assert client.get("/api/schema/").status_code == 200


def _job(tmp_path: Path, name: str, phone: str, days_ago: float | None) -> ImportJob:
    source = write_csv(tmp_path / name, HEADER, [["PM " + name[:4], "Ama", "Owusu", phone, "", "", ""]])
    job = run_import(source)
    if days_ago is not None:
        ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(days=days_ago))
    job.refresh_from_db()
    return job


def test_files_past_their_retention_are_deleted_jobs_stay(
    tmp_path: Path, settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    old = _job(tmp_path, "old.csv", "0241234567", days_ago=31)
    recent = _job(tmp_path, "new.csv", "0241234568", days_ago=1)
    assert default_storage.exists(old.file.name) and default_storage.exists(recent.file.name)
    size = default_storage.size(old.file.name)
    with caplog.at_level(logging.INFO, logger="primepre.imports"):
        result = purge_import_files()
    assert (result.files, result.bytes, result.jobs) == (1, size, 1)
    assert f"[IMPORT-PURGE] files=1 bytes={size} jobs=1" in caplog.text
    assert not default_storage.exists(old.file.name) and default_storage.exists(recent.file.name)
    old_file = old.file.name
    old.refresh_from_db()
    assert old.file.name == "" and old.created == 1 and old.status == "succeeded"
    assert purge_import_files().files == 0  # nothing left to do
    assert not default_storage.exists(old_file)


def test_a_file_a_newer_job_still_uses_is_kept(tmp_path: Path, settings) -> None:
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    old = _job(tmp_path, "same.csv", "0241234567", days_ago=40)
    again = run_import(tmp_path / "same.csv", dry_run=True)  # the same bytes, stored once, previewed yesterday
    ImportJob.objects.filter(pk=again.pk).update(finished_at=timezone.now() - dt.timedelta(days=1))
    assert again.file.name == old.file.name
    assert purge_import_files().files == 0
    assert default_storage.exists(old.file.name)
    ImportJob.objects.filter(pk=again.pk).update(finished_at=timezone.now() - dt.timedelta(days=31))
    assert purge_import_files().files == 1
    assert not default_storage.exists(old.file.name)
    assert set(ImportJob.objects.values_list("file", flat=True)) == {""}


def test_a_running_or_queued_job_keeps_its_file(tmp_path: Path, settings) -> None:
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    job = _job(tmp_path, "run.csv", "0241234567", days_ago=None)
    ImportJob.objects.filter(pk=job.pk).update(status="queued", created_at=timezone.now() - dt.timedelta(days=90))
    assert purge_import_files().files == 0 and default_storage.exists(job.file.name)


def test_retention_zero_keeps_files_for_ever(tmp_path: Path, settings) -> None:
    settings.IMPORT_FILE_RETENTION_DAYS = 0
    job = _job(tmp_path, "keep.csv", "0241234567", days_ago=400)
    assert purge_import_files().files == 0 and default_storage.exists(job.file.name)


def test_the_purge_command(tmp_path: Path, settings) -> None:
    settings.IMPORT_FILE_RETENTION_DAYS = 30
    job = _job(tmp_path, "cmd.csv", "0241234567", days_ago=31)
    out = io.StringIO()
    call_command("purge_import_files", stdout=out)
    assert out.getvalue().startswith("[IMPORT-PURGE] files=1 bytes=")
    assert not default_storage.exists(job.file.name)


def test_the_worker_loop_runs_the_purge(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(import_worker, "recover_stalled_jobs", lambda: calls.append("recover"))
    monkeypatch.setattr(import_worker, "purge_import_files", lambda: calls.append("purge"))

    class TwoRounds:
        rounds = 0

        def wait(self, timeout: float) -> bool:
            self.rounds += 1
            return self.rounds > 2

    import_worker.Command._recover_forever(TwoRounds())  # type: ignore[arg-type]
    assert calls == ["recover", "purge", "recover"]  # the purge once, then again an hour later
