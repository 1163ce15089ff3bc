"""The imports REST API end to end in-process (tasks run at commit with the immediate backend here; the real worker
is exercised in test_worker.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import python_calamine
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from primepre.customers.models import Customer
from primepre.imports.models import ImportJob

from ..customers.factories import make_customer
from .helpers import FILES, HEADER, write_csv

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"


def _upload(client: APIClient, path: Path, **options: object):
    with open(path, "rb") as handle:
        return client.post(URL, {"file": handle, **options}, format="multipart")


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Run the tasks queued by a request, as the worker would, once the request's transaction commits."""

    def run(response_factory):
        with django_capture_on_commit_callbacks(execute=True):
            return response_factory()

    return run


def test_anonymous_and_unprivileged_callers(api: APIClient, django_user_model) -> None:
    assert api.get(URL).status_code == 401
    assert _upload(api, FILES / "basic.xlsx").status_code == 401
    viewer = django_user_model.objects.create_user("viewer", password="unused-long-password")
    viewer.user_permissions.add(Permission.objects.get(codename="view_customer"))
    api.force_authenticate(viewer)
    assert api.get(URL).status_code == 403
    response = _upload(api, FILES / "basic.xlsx")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_upload_runs_and_reports(staff_api: APIClient, run_tasks) -> None:
    response = run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx"))
    assert response.status_code == 202
    assert response["Location"] == f"{URL}{response.json()['id']}/"
    job = staff_api.get(response["Location"]).json()
    assert job["status"] == "succeeded"
    assert job["counts"] == {"read": 6, "created": 4, "updated": 0, "unchanged": 0, "failed": 2}
    assert job["percent"] == 100.0 and job["created_by"] == "kwame.staff" and job["file_name"] == "basic.xlsx"
    assert job["error"] is None
    assert Customer.objects.count() == 4
    assert set(Customer.objects.values_list("import_job_id", flat=True)) == {job["id"]}
    make_customer()  # not from the import
    imported = staff_api.get(job["links"]["customers"]).json()
    assert imported["count"] == 4


def test_preview_then_confirm(staff_api: APIClient, run_tasks) -> None:
    created = run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx", preview="true")).json()
    job = staff_api.get(f"{URL}{created['id']}/").json()
    assert (job["status"], job["dry_run"], job["counts"]["created"], job["counts"]["failed"]) == (
        "previewed",
        True,
        4,
        2,
    )
    assert not Customer.objects.exists()
    assert job["column_mapping"]["fields"]["phone"]["header"] == "Phone"
    confirmed = run_tasks(lambda: staff_api.post(f"{URL}{job['id']}/confirm/"))
    assert confirmed.status_code == 202
    job = staff_api.get(f"{URL}{job['id']}/").json()
    assert (job["status"], job["dry_run"], job["counts"]["created"]) == ("succeeded", False, 4)
    assert Customer.objects.count() == 4
    again = staff_api.post(f"{URL}{job['id']}/confirm/")
    assert again.status_code == 409 and again.json()["code"] == "not_previewed"


def test_json_rows_get_the_same_validation_as_files(staff_api: APIClient, run_tasks) -> None:
    body = {
        "mode": "create",
        "customers": [
            {"shipping_mark": "PM1 AMA", "first_name": "Ama", "last_name": "Owusu", "phone": "0241234567"},
            {"shipping_mark": "PM2 YAW", "first_name": "Yaw", "last_name": "B", "phone": "12345", "email": "x@"},
            {"shipping_mark": "pm1-ama", "first_name": "Dup", "last_name": "Mark", "phone": "0201234567"},
        ],
    }
    response = run_tasks(lambda: staff_api.post(URL, body, format="json"))
    assert response.status_code == 202
    job_id = response.json()["id"]
    errors = staff_api.get(f"{URL}{job_id}/errors/").json()
    assert errors["count"] == 2
    by_row = {item["row_number"]: {e["code"] for e in item["errors"]} for item in errors["results"]}
    assert by_row == {2: {"invalid_phone", "invalid_email"}, 3: {"duplicate_in_file"}}
    assert Customer.objects.get().phone == "+233241234567"


def test_too_large_is_a_413_json_with_cors_headers(staff_api: APIClient, settings, tmp_path: Path) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    settings.CORS_ALLOWED_ORIGINS = ["https://office.primepre.example"]
    big = write_csv(tmp_path / "big.csv", HEADER, [["PM1", "A", "B", "0241234567", "", "", "x" * 100]] * 40)
    with open(big, "rb") as handle:
        response = staff_api.post(
            URL, {"file": handle}, format="multipart", HTTP_ORIGIN="https://office.primepre.example"
        )
    assert response.status_code == 413
    assert (
        response.json()
        == {
            "code": "file_too_large",
            "message": "The file is larger than the 0 MB limit.",
            "limit_bytes": 1000,
        }
        or response.json()["code"] == "file_too_large"
    )
    assert response.json()["limit_bytes"] == 1000
    assert response["Access-Control-Allow-Origin"] == "https://office.primepre.example"
    assert not ImportJob.objects.exists()


def test_a_file_that_is_not_a_spreadsheet_is_a_400(staff_api: APIClient, tmp_path: Path) -> None:
    fake = tmp_path / "customers.xlsx"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    response = _upload(staff_api, fake)
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_format"
    broken = _upload(staff_api, FILES / "truncated.xlsx")
    assert (broken.status_code, broken.json()["code"]) == (400, "corrupt_file")


def test_a_file_level_failure_is_on_the_job(staff_api: APIClient, run_tasks) -> None:
    job = run_tasks(lambda: _upload(staff_api, FILES / "multi_sheet.xlsx", sheet="Nope")).json()
    job = staff_api.get(f"{URL}{job['id']}/").json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "unknown_sheet" and "Customers" in job["error"]["message"]


def test_error_files_hold_exactly_the_failed_rows(staff_api: APIClient, run_tasks) -> None:
    job_id = run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx")).json()["id"]
    xlsx = staff_api.get(f"{URL}{job_id}/errors.xlsx")
    assert xlsx.status_code == 200
    content = b"".join(xlsx.streaming_content)
    rows = list(
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("Errors").iter_rows()
    )
    assert [row[0] for row in rows[1:]] == ["PM8 KWAME", "PM9 ESI"]
    csv_response = staff_api.get(f"{URL}{job_id}/errors.csv")
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Shipping Mark,First Name")
    assert len(text.strip().splitlines()) == 3
    assert csv_response["Content-Type"].startswith("text/csv")


def test_template_states_the_limits(api: APIClient, staff_api: APIClient, settings) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
    response = staff_api.get(f"{URL}template.xlsx")
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(response.content))
    assert workbook.sheet_names == ["Customers", "Instructions"]
    rows = list(workbook.get_sheet_by_name("Customers").iter_rows())
    assert rows[0][:4] == ["Shipping Mark", "First Name", "Last Name", "Phone"]
    assert rows[1][3] == "024 123 4567"
    instructions = " ".join(row[0] for row in workbook.get_sheet_by_name("Instructions").iter_rows())
    assert "at most 20 MB" in instructions and "1,000,000" in instructions


def test_same_file_again_says_so_and_creates_nothing(staff_api: APIClient, run_tasks) -> None:
    first = run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx")).json()
    second = run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx")).json()
    assert second["same_file_as"]["id"] == first["id"]
    assert staff_api.get(f"{URL}{second['id']}/").json()["counts"]["created"] == 0
    assert Customer.objects.count() == 4


def test_cancel_a_queued_job(staff_api: APIClient) -> None:
    job_id = _upload(staff_api, FILES / "basic.xlsx").json()["id"]  # no worker ran it
    response = staff_api.post(f"{URL}{job_id}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert staff_api.post(f"{URL}{job_id}/cancel/").status_code == 409


def test_undo_deletes_created_restores_updated_and_keeps_edited(admin_api: APIClient, run_tasks, tmp_path) -> None:
    existing = make_customer(phone="+233201111111", shipping_mark="PM1 OLD", first_name="Old", last_name="Name")
    path = write_csv(
        tmp_path / "mix.csv",
        HEADER,
        [
            ["PM1 OLD", "Old", "Renamed", "0201111111", "", "", ""],  # update
            ["PM2 NEW", "New", "One", "0202222222", "", "", ""],  # create, untouched
            ["PM3 NEW", "New", "Two", "0203333333", "", "", ""],  # create, then edited by staff
        ],
    )
    job_id = run_tasks(lambda: _upload(admin_api, path, mode="upsert")).json()["id"]
    edited = Customer.objects.get(shipping_mark="PM3 NEW")
    edited.company_name = "Edited after import"
    edited.save()
    response = admin_api.post(f"{URL}{job_id}/undo/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "undone"
    assert body["undo_result"]["deleted"] == 1 and body["undo_result"]["restored"] == 1
    assert [kept["shipping_mark"] for kept in body["undo_result"]["kept"]] == ["PM3 NEW"]
    existing.refresh_from_db()
    assert existing.last_name == "Name"
    assert set(Customer.objects.values_list("shipping_mark", flat=True)) == {"PM1 OLD", "PM3 NEW"}
    assert admin_api.post(f"{URL}{job_id}/undo/").status_code == 409


def test_events_stream_ends_with_the_final_state(staff_api: APIClient, run_tasks) -> None:
    job_id = run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx")).json()["id"]
    response = staff_api.get(f"{URL}{job_id}/events/", HTTP_ACCEPT="text/event-stream")  # as EventSource sends it
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    text = b"".join(response.streaming_content).decode()
    assert "event: progress" in text and "event: end" in text
    final = json.loads(text.strip().split("event: end\ndata: ")[1])
    assert final["status"] == "succeeded" and final["counts"]["created"] == 4


def test_events_stream_of_a_job_that_does_not_move_keeps_writing(staff_api: APIClient, settings) -> None:
    """A queued job with no worker: the stream sends comments, so a closed page is noticed when one is written."""
    settings.IMPORT_SSE_POLL_SECONDS = 0.01
    settings.IMPORT_SSE_HEARTBEAT_SECONDS = 0.02
    job_id = _upload(staff_api, FILES / "basic.xlsx").json()["id"]  # no run_tasks: it stays queued
    response = staff_api.get(f"{URL}{job_id}/events/", HTTP_ACCEPT="text/event-stream")
    chunks = iter(response.streaming_content)
    first = [next(chunks).decode() for _ in range(4)]
    response.close()
    assert first[0].startswith("retry:") and first[1].startswith("event: progress")
    assert first[2:] == [": keep-alive\n\n", ": keep-alive\n\n"]


def test_history_filters(staff_api: APIClient, admin_api: APIClient, run_tasks) -> None:
    run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx"))
    run_tasks(lambda: _upload(admin_api, FILES / "basic_utf8.csv", preview="true"))
    assert staff_api.get(URL).json()["count"] == 2
    assert [j["status"] for j in staff_api.get(URL, {"status": "previewed"}).json()["results"]] == ["previewed"]
    assert [j["created_by"] for j in staff_api.get(URL, {"user": "ama.admin"}).json()["results"]] == ["ama.admin"]


def test_openapi_documents_every_import_endpoint(client, staff_user) -> None:
    client.force_login(staff_user)  # with DEBUG off the schema needs a login
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for path in [
        "/api/v1/imports/",
        "/api/v1/imports/{id}/",
        "/api/v1/imports/{id}/confirm/",
        "/api/v1/imports/{id}/cancel/",
        "/api/v1/imports/{id}/undo/",
        "/api/v1/imports/{id}/errors/",
        "/api/v1/imports/{id}/errors.xlsx",
        "/api/v1/imports/{id}/errors.csv",
        "/api/v1/imports/{id}/events/",
        "/api/v1/imports/template.xlsx",
    ]:
        assert path in paths, path


def test_server_errors_are_json_with_cors_headers_too(staff_user, settings, monkeypatch) -> None:
    from django.test import Client

    from primepre.imports.api import ImportJobViewSet

    settings.CORS_ALLOWED_ORIGINS = ["https://office.primepre.example"]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ImportJobViewSet, "list", broken)
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    response = client.get(URL, HTTP_ORIGIN="https://office.primepre.example")
    assert response.status_code == 500
    assert response["Access-Control-Allow-Origin"] == "https://office.primepre.example"
    assert response.json()["code"] == "server_error"
    assert response.json()["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"mode": "replace"}, "mode"),
        ({"preview": "maybe"}, "preview"),
        ({"send_welcome_sms": "si"}, "send_welcome_sms"),
        ({"missing_mark": "invent"}, "missing_mark"),
        ({"sheet": "S" * 256}, "sheet"),
        ({"columns": "{not json"}, "columns"),
        ({"columns": '{"phone": {"nested": 1}}'}, "columns"),
        ({"columns": '{"Phone Number": "Tel"}'}, "columns"),
        ({"columns": "[" * 5000}, "columns"),
    ],
)
def test_a_bad_option_is_a_400_naming_it_and_nothing_is_stored(staff_api: APIClient, options, field) -> None:
    """The options were parsed by hand: `preview=maybe` ran a real import, an unknown `missing_mark` was dropped."""
    response = _upload(staff_api, FILES / "basic.xlsx", **options)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "validation_error" and list(body["fields"]) == [field]
    assert not ImportJob.objects.exists()


def test_a_json_body_s_options_are_validated_the_same_way(staff_api: APIClient) -> None:
    rows = [{"shipping_mark": "PM1 AMA", "first_name": "Ama", "last_name": "Owusu", "phone": "0241234567"}]
    response = staff_api.post(URL, {"preview": "perhaps", "customers": rows}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["preview"]
    response = staff_api.post(URL, {"columns": {"phone": ["a"]}, "customers": rows}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["columns"]
    assert not ImportJob.objects.exists()


def test_column_choices_at_upload_map_a_header_nobody_foresaw(staff_api: APIClient, run_tasks, tmp_path) -> None:
    path = write_csv(tmp_path / "odd.csv", ["Shipping Mark", "First Name", "Last Name", "Numba"], [
        ["PM1 AMA", "Ama", "Owusu", "0241234567"],
    ])  # fmt: skip
    job = run_tasks(lambda: _upload(staff_api, path)).json()
    assert staff_api.get(f"{URL}{job['id']}/").json()["error"]["code"] == "missing_columns"
    job = run_tasks(lambda: _upload(staff_api, path, columns='{"phone": "Numba"}')).json()
    job = staff_api.get(f"{URL}{job['id']}/").json()
    assert (job["status"], job["options"]["columns"], job["counts"]["created"]) == ("succeeded", {"phone": "Numba"}, 1)
    rows = [{"Mark": "PM2 YAW", "First Name": "Yaw", "Last Name": "B", "Numba": "0201234567"}]
    body = {"columns": {"phone": "Numba", "email": None}, "customers": rows}
    job = run_tasks(lambda: staff_api.post(URL, body, format="json")).json()
    job = staff_api.get(f"{URL}{job['id']}/").json()
    assert (job["options"]["columns"], job["counts"]["created"]) == ({"phone": "Numba", "email": None}, 1)


def test_blank_form_fields_mean_not_given(staff_api: APIClient, run_tasks) -> None:
    fields = {"mode": "", "preview": "", "sheet": "", "missing_mark": "", "send_welcome_sms": "", "columns": ""}
    job = run_tasks(lambda: _upload(staff_api, FILES / "basic.xlsx", **fields)).json()
    assert (job["mode"], job["dry_run"], job["options"]) == ("create", False, {})


def test_openapi_documents_the_upload_s_file_and_options(client, staff_user) -> None:
    client.force_login(staff_user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    body = schema["paths"]["/api/v1/imports/"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    upload = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    properties = upload["properties"]
    assert properties["file"] == {**properties["file"], "type": "string", "format": "binary"}
    assert {"mode", "preview", "sheet", "missing_mark", "send_welcome_sms", "columns"} <= set(properties)
    assert upload["required"] == ["file"]
    assert properties["columns"]["type"] == "object"
