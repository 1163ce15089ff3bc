"""The ASGI front in-process (config/asgi_handler.py, primepre/imports/stream.py): the body's minimum rate and size
bound, responses from synchronous iterators sent chunk by chunk, and the progress stream that holds no connection
while it waits. The real server (uvicorn in gunicorn) under slow clients and open streams: tests/test_slow_clients.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import AsyncRequestFactory, RequestFactory

from config.asgi_handler import Handler, RequestGuard
from primepre.imports.api import ImportJobSerializer
from primepre.imports.models import ImportJob, ImportStatus
from primepre.imports.stream import event_stream

Message = dict[str, Any]


def _scope(path: str, length: int | None = None, method: str = "POST") -> dict[str, Any]:
    headers = [(b"host", b"testserver")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {"type": "http", "method": method, "path": path, "headers": headers, "query_string": b""}


async def _guarded(scope: dict[str, Any], incoming: list[Message], app: Any) -> list[Message]:
    """Run `app` behind RequestGuard; the client sends `incoming`, then nothing more (it hangs)."""
    sent: list[Message] = []
    queue = list(incoming)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        await asyncio.get_running_loop().create_future()  # a client that sends nothing more
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await RequestGuard(app)(scope, receive, send)
    return sent


async def _reading_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the body as Django's ASGI handler does, then answers 200 with what it read (or nothing, on a
    disconnect)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_a_body_that_trickles_gets_a_408_and_the_connection_closed(settings) -> None:
    settings.REQUEST_BODY_TIMEOUT_SECONDS = 0.2
    settings.REQUEST_BODY_MIN_RATE = 500
    sent = async_to_sync(_guarded)(
        _scope("/login/", 200), [{"type": "http.request", "body": b"u", "more_body": True}], _reading_app
    )
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert len(sent) == 2  # the app saw a disconnect and answered nothing of its own


def test_a_body_at_the_minimum_rate_is_read_whole(settings) -> None:
    settings.REQUEST_BODY_TIMEOUT_SECONDS = 0.2
    chunks = [{"type": "http.request", "body": b"x" * 100, "more_body": True} for _ in range(3)]
    chunks.append({"type": "http.request", "body": b"end", "more_body": False})
    sent = async_to_sync(_guarded)(_scope("/login/", 303), chunks, _reading_app)
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"x" * 300 + b"end"
    assert (b"connection", b"close") not in sent[0]["headers"]


def test_a_body_declared_too_large_is_dropped_before_django_and_the_connection_closed(settings) -> None:
    settings.API_JSON_MAX_BYTES = 1000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    chunk = {"type": "http.request", "body": b"x" * 65536, "more_body": True}
    sent = async_to_sync(_guarded)(_scope("/api/v1/customers/", 10**9), [chunk] * 20, _reading_app)
    assert sent[0]["status"] == 200 and sent[1]["body"] == b""  # the app got an empty body
    assert (b"connection", b"close") in sent[0]["headers"]  # the client was still sending


@pytest.mark.django_db
def test_an_upload_declared_too_large_gets_djangos_413_with_an_empty_body(settings, admin_user) -> None:
    """The real handler behind the guard: the upload limit's own answer, not a spooled 60 MB body."""
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    chunk = {"type": "http.request", "body": b"x" * 65536, "more_body": True}
    scope = _scope("/api/v1/imports/", 60 * 2**20)
    scope["headers"].append((b"content-type", b"multipart/form-data; boundary=x"))
    sent = async_to_sync(_guarded)(scope, [chunk] * 10, Handler(max_active=2))
    assert sent[0]["status"] == 413
    assert json.loads(b"".join(m.get("body", b"") for m in sent[1:]))["code"] == "file_too_large"


def test_a_synchronous_streaming_body_is_sent_before_it_is_all_read() -> None:
    """Django's own fallback reads a sync iterator into a list before sending a byte (a whole export in memory)."""
    produced: list[int] = []

    def rows() -> Iterator[bytes]:
        for n in range(200):
            produced.append(n)
            yield b"r" * 1024

    sent_when: list[int] = []

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            sent_when.append(len(produced))

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    async_to_sync(Handler(max_active=1).send_response)(response, send)
    assert len(produced) == 200
    assert sent_when[0] < 200, "the first chunk went out only after the whole iterator was read"
    assert len(sent_when) >= 3  # about 64 KB at a time


# --- the progress stream ------------------------------------------------------------------------------------------


def _serialize(job: ImportJob) -> dict[str, Any]:
    return ImportJobSerializer(job).data


async def _collect(response: StreamingHttpResponse, most: int = 50) -> list[str]:
    chunks = []
    async for chunk in response.streaming_content:
        chunks.append(chunk.decode())
        if len(chunks) >= most:
            break
    return chunks


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_under_asgi_the_stream_is_asynchronous_and_ends_with_the_job(admin_user, monkeypatch) -> None:
    job = ImportJob.objects.create(created_by=admin_user, status=ImportStatus.SUCCEEDED)
    closes = []
    close = connection.close
    monkeypatch.setattr(connection, "close", lambda: closes.append(1) or close())
    response = event_stream(job.pk, _serialize, AsyncRequestFactory().get("/"))
    assert response.is_async and response["Content-Type"] == "text/event-stream"
    chunks = async_to_sync(_collect)(response)
    assert chunks[0].startswith("retry:") and chunks[1].startswith("event: progress")
    assert chunks[-1].startswith("event: end") and json.loads(chunks[-1].split("data: ", 1)[1])["id"] == job.pk
    # The look handed its connection back (to the pool on PostgreSQL): none is held between looks. (Django keeps an
    # in-memory SQLite database open whatever close() is asked.)
    assert closes == [1]
    if connection.vendor == "postgresql":
        assert connection.connection is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stream_on_a_job_that_does_not_move_stops_at_its_time_limit(admin_user, settings) -> None:
    settings.IMPORT_SSE_MAX_SECONDS = 0.3
    settings.IMPORT_SSE_POLL_SECONDS = 0.05
    settings.IMPORT_SSE_HEARTBEAT_SECONDS = 0.1
    job = ImportJob.objects.create(created_by=admin_user)  # queued, and no worker will take it
    chunks = async_to_sync(_collect)(event_stream(job.pk, _serialize, AsyncRequestFactory().get("/")))
    assert chunks[1].startswith("event: progress") and ": keep-alive\n\n" in chunks
    assert not any(chunk.startswith("event: end") for chunk in chunks)  # it stopped: the browser reconnects


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_stream_stops_when_the_client_goes_away(admin_user, settings) -> None:
    """Django cancels the response's task when the client disconnects: the stream ends at its next wait."""
    settings.IMPORT_SSE_POLL_SECONDS = 0.05
    job = ImportJob.objects.create(created_by=admin_user)
    response = event_stream(job.pk, _serialize, AsyncRequestFactory().get("/"))

    async def read_then_leave() -> float:
        task = asyncio.ensure_future(_collect(response, most=10**6))
        await asyncio.sleep(0.3)
        task.cancel()
        started = asyncio.get_running_loop().time()
        with pytest.raises(asyncio.CancelledError):
            await task
        return asyncio.get_running_loop().time() - started

    assert async_to_sync(read_then_leave)() < 1.0


@pytest.mark.django_db
def test_under_wsgi_the_stream_is_a_plain_generator(admin_user) -> None:
    job = ImportJob.objects.create(created_by=admin_user, status=ImportStatus.FAILED)
    response = event_stream(job.pk, _serialize, RequestFactory().get("/"))
    assert not response.is_async
    assert b"".join(response.streaming_content).decode().rstrip().endswith("}")


@pytest.mark.django_db
def test_a_stream_on_a_job_deleted_meanwhile_ends_quietly(admin_user) -> None:
    response = event_stream(987654, _serialize, RequestFactory().get("/"))
    assert b"".join(response.streaming_content) == b"retry: 2000\n\n"
