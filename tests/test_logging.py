"""One logging configuration: request ids on every line of a request, phones masked, JSON lines on demand."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import OperationalError, connection

from config.log import RequestIdFilter

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """The configured console handler, writing into a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RequestIdFilter) for f in h.filters))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_phones_are_masked_whoever_logs_them(console: io.StringIO) -> None:
    logging.getLogger("primepre.sms").warning("[SMS-FAIL] to=%s other=%s", "+233241234567", "0201234567")
    line = console.getvalue()
    assert "+23324****567" in line and "020****567" in line
    assert "241234567" not in line and "201234567" not in line


@pytest.mark.django_db
def test_every_line_of_a_request_carries_its_request_id(
    console: io.StringIO, client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OperationalError("down")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response = client.get("/readyz", HTTP_X_REQUEST_ID="req-abc12345")
    assert response["X-Request-ID"] == "req-abc12345"
    lines = console.getvalue().splitlines()
    assert any("[READY-FAIL]" in line for line in lines)
    assert any("[REQUEST] method=GET path=/readyz status=503" in line for line in lines)
    assert all("request_id=req-abc12345" in line for line in lines), lines


def test_a_hostile_incoming_request_id_is_replaced(client) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 16


def test_json_lines_with_log_format_json(tmp_path: Path) -> None:
    env = {**os.environ, "LOG_FORMAT": "json", "DEBUG": "1", "VAR_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('primepre.imports').info('[IMPORT-PROGRESS] job=%s phone=%s', 7, '+233241234567')"
    )
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    record = json.loads(result.stderr.strip().splitlines()[-1])
    assert record["message"] == "[IMPORT-PROGRESS] job=7 phone=+23324****567"
    assert record["level"] == "INFO" and record["logger"] == "primepre.imports" and record["request_id"] == "-"


@pytest.mark.parametrize(
    ("logged", "shown", "hidden"),
    [
        ("to=%2B233241234567", "to=%2B23324****567", "241234567"),
        ("to=024 123 4567", "to=024****567", "123 4567"),
        ("to=+233 24 123 4567", "to=+23324****567", "123 4567"),
        ("to=00233241234567", "to=0023324****567", "241234567"),
        ("to=+447911123457", "to=+44791****457", "7911123457"),
        ("to=+44 7911 123457", "to=+44791****457", "7911 123457"),
        ("to=07911 123457", "to=079*****457", "11 123457"),
        ("file=customers-0241234567.xlsx", "file=customers-024****567.xlsx", "241234567"),
        ("file=customers_0241234567.xlsx", "file=customers_024****567.xlsx", "241234567"),
        ("filters=search=%2B233+24+123+4567&region=AA", "filters=search=%2B23324****567&region=AA", "123+4567"),
        ("filters=search=kofi+024+123+4567", "filters=search=kofi+024****567", "123+4567"),
        ("file=customers%200241234567.xlsx", "file=customers%20024****567.xlsx", "241234567"),
    ],
)
def test_phones_are_masked_in_every_form_a_log_line_carries(
    console: io.StringIO, logged: str, shown: str, hidden: str
) -> None:
    logging.getLogger("primepre.web").info("[TEST] %s", logged)
    line = console.getvalue()
    assert shown in line and hidden not in line, line


def test_numbers_that_are_not_phones_are_left_whole(console: io.StringIO) -> None:
    text = (
        "[IMPORT-PURGE] files=3 bytes=52428800 rows=2000/100000 sha256=3927147f170c0241234567aa "
        "request=0241234567abcdef seconds=0.0123456789 at=2026-11-29 17:39:41,601"
    )
    logging.getLogger("primepre.imports").info(text)
    assert text in console.getvalue()


def test_a_traceback_is_masked_too(console: io.StringIO) -> None:
    try:
        raise ValueError("Key (phone)=(+233241234567) already exists.")
    except ValueError:
        logging.getLogger("primepre.web").exception("[TEST-FAIL]")
    output = console.getvalue()
    assert "Key (phone)=(+23324****567)" in output and "241234567" not in output
    assert "Traceback" in output
