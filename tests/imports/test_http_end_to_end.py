"""Through HTTP against the running service, on PostgreSQL, with a real worker process: a 7,000-row file with bad
rows is uploaded for preview, followed over SSE, confirmed, followed to the end, its error file downloaded, fixed and
imported again, and the first import undone. And an over-size upload gets the 413 JSON with CORS headers."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import python_calamine
import xlsxwriter
from django.db import connection

from primepre.accounts.tokens import issue_token
from primepre.customers.models import Customer

from ..sheets import write_customer_sheet

ORIGIN = "https://office.primepre.example"
pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker process shares a PostgreSQL database"),
]


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Token {token}", "Origin": ORIGIN}

    def request(self, method: str, path: str, body: bytes | None = None, content_type: str | None = None) -> Any:
        headers = dict(self.headers)
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as error:
            return error

    def json(self, method: str, path: str) -> dict[str, Any]:
        return json.loads(self.request(method, path).read())

    def upload(self, path: Path, **fields: str) -> Any:
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + path.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.request("POST", "/api/v1/imports/", b"".join(parts), f"multipart/form-data; boundary={boundary}")

    def follow(self, job_id: int) -> dict[str, Any]:
        """Read the job's Server-Sent Events until the `end` event; return its final state."""
        stream = self.request("GET", f"/api/v1/imports/{job_id}/events/")
        event = None
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "end":
                return json.loads(line[len("data: ") :])
        raise AssertionError("the event stream closed before the job ended")


def _fix(report: bytes, target: Path) -> int:
    """What a user does with the error file: fix every marked cell (here: make each row valid and unique)."""
    rows = list(
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(report)).get_sheet_by_name("Errors").iter_rows()
    )
    header = rows[0]
    column = {name: header.index(name) for name in header}
    phone_col = next(i for name, i in column.items() if name.lower() in {"phone", "phone number", "tel", "mobile"})
    mark_col = next(i for name, i in column.items() if "mark" in name.lower())
    workbook = xlsxwriter.Workbook(target)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header)
    for index, row in enumerate(rows[1:], start=1):
        row = list(row)
        row[phone_col] = f"0559{index:06d}"
        row[mark_col] = f"FIXED {index}"
        for name, position in column.items():
            lowered = name.lower()
            if "email" in lowered or "region" in lowered:
                row[position] = ""
            if ("last" in lowered or "surname" in lowered) and not str(row[position]).strip():
                row[position] = "Fixed"
        sheet.write_row(index, 0, [str(value) if value != "" else "" for value in row])
    workbook.close()
    return len(rows) - 1


def test_the_whole_import_story_over_http(
    live_server,
    tmp_path: Path,
    settings,
    start_worker,
    database_backend,
    admin_user,
) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    api = Api(live_server.url, issue_token(admin_user)[1])
    start_worker("e2e")
    sheet = write_customer_sheet(tmp_path / "customers-7000.xlsx", 7000, seed=7)
    source = sheet.path

    uploaded = api.upload(source, preview="true")
    assert uploaded.status == 202
    job = json.loads(uploaded.read())
    assert uploaded.headers["Location"] == f"/api/v1/imports/{job['id']}/"
    assert uploaded.headers["Access-Control-Allow-Origin"] == ORIGIN

    previewed = api.follow(job["id"])
    assert previewed["status"] == "previewed"
    counts = previewed["counts"]
    assert counts["read"] == 7000 and counts["failed"] == sheet.bad_rows > 0
    assert counts["read"] == counts["created"] + counts["updated"] + counts["unchanged"] + counts["failed"]
    assert not Customer.objects.exists()

    assert api.request("POST", f"/api/v1/imports/{job['id']}/confirm/").status == 202
    done = api.follow(job["id"])
    assert done["status"] == "succeeded" and done["percent"] == 100.0
    assert done["counts"] == counts  # the preview told the truth
    assert Customer.objects.count() == counts["created"]

    report = api.request("GET", f"/api/v1/imports/{job['id']}/errors.xlsx").read()
    fixed = tmp_path / "fixed.xlsx"
    assert _fix(report, fixed) == counts["failed"]
    second = json.loads(api.upload(fixed).read())
    second = api.follow(second["id"])
    leftovers = api.json("GET", f"/api/v1/imports/{second['id']}/errors/")["results"]
    assert leftovers == [], leftovers[:3]
    assert (second["status"], second["counts"]["created"], second["counts"]["failed"]) == (
        "succeeded",
        counts["failed"],
        0,
    )
    assert Customer.objects.count() == 7000

    undone = api.request("POST", f"/api/v1/imports/{job['id']}/undo/")
    body = json.loads(undone.read())
    assert (body["status"], body["undo_result"]["deleted"]) == ("undone", counts["created"])
    assert Customer.objects.count() == counts["failed"]  # only the re-imported, fixed rows remain


def test_an_oversize_upload_is_a_413_json_with_cors_headers(live_server, settings, admin_user, tmp_path) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ORIGIN]
    settings.IMPORT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
    api = Api(live_server.url, issue_token(admin_user)[1])
    big = tmp_path / "big.csv"
    with open(big, "wb") as handle:
        handle.write(b"Shipping Mark,First Name,Last Name,Phone\n")
        line = b"PM1 KOFI,Kofi,Mensah,0241234567\n"
        handle.write(line * (60 * 1024 * 1024 // len(line)))
    response = api.upload(big)
    assert response.status == 413
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    body = json.loads(response.read())
    assert body["code"] == "file_too_large" and body["limit_bytes"] == 50 * 1024 * 1024
