"""What the web server's ASGI application is made of (config/asgi.py puts it together):

- `RequestGuard` bounds reading the body: it must arrive at REQUEST_BODY_MIN_RATE bytes/s on average after a grace of
  REQUEST_BODY_TIMEOUT_SECONDS (Apache's mod_reqtimeout rule), else 408; and a body declared larger than its path
  accepts is read and dropped here (bounded), not spooled to disk by Django, which then answers its usual 413/400 to
  a request with no body.
- `Handler` is Django's ASGI handler running at most WEB_MAX_ACTIVE_REQUESTS requests' Django code at once (the rest
  wait in the loop, first come first served: what gthread's four threads did, without the slow clients); it hands a
  request's database connections back to the pool as soon as its response is built, not after the client has read
  it; and it sends responses built from a synchronous iterator (CSV exports, files) chunk by chunk, where Django
  would first read the whole iterator into memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.base import BaseHandler
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase

from config.middleware import upload_paths
from primepre.imports.errors import MULTIPART_SLACK_BYTES

logger = logging.getLogger("primepre.request")

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# A body over its path's limit is read and dropped up to this many times the limit (so the client, still sending,
# reads the refusal rather than a reset connection); past that the connection is closed after the answer.
DRAIN_FACTOR = 4
STREAM_BATCH_BYTES = 64 * 1024


def body_limit(path: str) -> int:
    """The largest body a path takes: an import upload, or what Django and the JSON parser accept anywhere else."""
    if path in upload_paths():
        return settings.IMPORT_MAX_UPLOAD_BYTES + MULTIPART_SLACK_BYTES
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.API_JSON_MAX_BYTES) + MULTIPART_SLACK_BYTES


class _BodyReader:
    """One request's `receive` and `send`, as RequestGuard hands them to Django."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope, self._receive, self._send = scope, receive, send
        self.started = asyncio.get_running_loop().time()
        self.received = 0
        self.limit = body_limit(scope["path"])
        self.declared = _declared_length(scope)
        self.complete = False  # the whole body has been handed on (or the request ended)
        self.cut = False  # we stopped reading before the client finished: the connection cannot be reused
        self.answered = False  # a 408 went out from here; whatever Django sends later is dropped

    def deadline(self) -> float:
        return self.started + settings.REQUEST_BODY_TIMEOUT_SECONDS + self.received / settings.REQUEST_BODY_MIN_RATE

    async def receive(self) -> Message:
        if self.complete:  # Django listens for the client going away: no deadline on that
            if self.cut:
                # The rest of the body is unread: the next message would be more of it, not a disconnect. Wait
                # until Django has answered (it cancels this); the connection is closed after the answer.
                return await asyncio.get_running_loop().create_future()
            return await self._receive()
        if self.declared is not None and self.declared > self.limit:
            await self._drain(min(self.declared, self.limit * DRAIN_FACTOR))
            return self._end(b"")
        message = await self._timed_receive()
        if message is None:
            await self._refuse_slow()
            self.complete = True
            return {"type": "http.disconnect"}
        if message["type"] != "http.request":
            self.complete = True
            return message
        self.received += len(message.get("body", b""))
        if self.received > self.limit and message.get("more_body", False):
            self.cut = True  # a chunked body past the limit: Django gets one byte too many and refuses it
            return self._end(message.get("body", b""))
        if not message.get("more_body", False):
            self.complete = True
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start" and self.cut:
            message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
        await self._send(message)

    def _end(self, body: bytes) -> Message:
        self.complete = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def _timed_receive(self) -> Message | None:
        remaining = self.deadline() - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(self._receive(), timeout=max(remaining, 0.0))
        except TimeoutError:
            return None

    async def _drain(self, amount: int) -> None:
        """Read and drop up to `amount` bytes of a body too large for its path, at the same minimum rate."""
        while self.received < amount:
            message = await self._timed_receive()
            if message is None or message["type"] != "http.request":
                break
            self.received += len(message.get("body", b""))
            if not message.get("more_body", False):
                return
        self.cut = True

    async def _refuse_slow(self) -> None:
        self.cut = True
        seconds = asyncio.get_running_loop().time() - self.started
        logger.info(
            "[REQUEST-TIMEOUT] part=body method=%s path=%s received=%s seconds=%.0f",
            self.scope.get("method"),
            self.scope.get("path"),
            self.received,
            seconds,
        )
        message = "The request body arrived too slowly; send it again."
        if self.scope["path"].startswith("/api/"):
            body = json.dumps({"code": "request_timeout", "message": message}).encode()
            content_type = b"application/json"
        else:
            body, content_type = message.encode(), b"text/plain; charset=utf-8"
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await self._send(
            {"type": "http.response.start", "status": 408, "headers": [*headers, (b"connection", b"close")]}
        )
        await self._send({"type": "http.response.body", "body": body, "more_body": False})
        self.answered = True


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP parser refuses these before the app sees them
    return None


class RequestGuard:
    """ASGI middleware: the body's minimum rate and size bound (see the module's docstring)."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        reader = _BodyReader(scope, receive, send)
        await self.app(scope, reader.receive, reader.send)


class Handler(ASGIHandler):
    """Django's ASGI handler with a bound on requests running at once, each request's middleware and view run in one
    thread hop, connections handed back before the body is sent, and synchronous streaming bodies sent chunk by
    chunk.

    One hop: Django's own async chain crosses between the event loop and the request's thread at every boundary of
    sync-only and async-capable middleware and again for the view, and under load every crossing waits for the GIL
    and the loop's turn. Every middleware here and every view but the progress stream is synchronous, so the chain
    is built in sync mode, as under WSGI, and entered once; an async view (the stream) is run by Django's sync
    handler on the loop, as it is under WSGI."""

    def __init__(self, max_active: int) -> None:
        BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.max_active = max_active
        self.active = asyncio.Semaphore(max_active)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        request.queued_at = time.perf_counter()  # type: ignore[attr-defined] - config.log reports the wait
        async with self.active:
            return await sync_to_async(self._respond, thread_sensitive=True)(request)

    def _respond(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if not response.streaming:
            # The body is built: the connections go back to the pool now, not after a slow client has read it.
            # (A streaming body may still read the database; Django closes its connections at the end.)
            close_old_connections()
        return response

    async def send_response(self, response: HttpResponseBase, send: Send) -> None:
        if response.streaming and not response.is_async:  # type: ignore[attr-defined]
            response.streaming_content = _in_thread(response.streaming_content)  # type: ignore[attr-defined]
        await super().send_response(response, send)


async def _in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A synchronous iterator read in the request's thread (where its database cursor lives), about 64 KB at a time;
    Django's own fallback reads it whole into a list first (a whole export in memory)."""
    take = sync_to_async(_take)
    while batch := await take(chunks):
        for chunk in batch:
            yield chunk


def _take(chunks: Iterator[bytes]) -> list[bytes]:
    batch: list[bytes] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= STREAM_BATCH_BYTES:
            break
    return batch
