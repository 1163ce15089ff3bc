"""An import job's live progress as Server-Sent Events (`GET /api/v1/imports/{id}/events/`, the page's EventSource).

Under the ASGI server (config/asgi.py) the stream is an asynchronous generator: between two looks at the job it waits
in the event loop, holding no thread of the request pool and no database connection; each look is one short query in
the request's thread, after which the connection is handed back (to the pool, on PostgreSQL). Twenty open tabs are
twenty coroutines, not twenty threads. Under WSGI (the test client, `config.wsgi`) the same steps run as a plain
generator.

A stream ends when the job does (`event: end`), after IMPORT_SSE_MAX_SECONDS (the browser reconnects, `retry:`), or
as soon as the client goes away (the ASGI handler cancels it; under WSGI a write fails, hence the keep-alive comment
after IMPORT_SSE_HEARTBEAT_SECONDS of silence). A job that does not move is looked at less often, up to once a second.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.http import HttpRequest, StreamingHttpResponse

from .models import FINISHED_STATUSES, ImportJob

Serialize = Callable[[ImportJob], dict[str, Any]]
SLOWEST_POLL_SECONDS = 1.0  # a job that does not move (queued behind another) is looked at this often


def event_stream(job_id: int, serialize: Serialize, request: HttpRequest) -> StreamingHttpResponse:
    """The response for one job's event stream: asynchronous under ASGI, a generator under WSGI."""
    stream = _Stream(job_id, serialize, release_connection=isinstance(request, ASGIRequest))
    content = _async_events(stream) if isinstance(request, ASGIRequest) else _sync_events(stream)
    response = StreamingHttpResponse(content, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy that buffers would hold the events back
    return response


class _Stream:
    """What a stream has written and when; `look` is one poll of the job, `pause` the wait before the next."""

    def __init__(self, job_id: int, serialize: Serialize, *, release_connection: bool) -> None:
        self.job_id = job_id
        self.serialize = serialize
        self.release_connection = release_connection
        self.deadline = time.monotonic() + settings.IMPORT_SSE_MAX_SECONDS
        self.last: str | None = None
        self.written = time.monotonic()
        self.wait = settings.IMPORT_SSE_POLL_SECONDS

    def look(self) -> tuple[list[str], bool]:
        """The job now: the lines to write, and whether the stream is over. Synchronous (database)."""
        try:
            current = ImportJob.objects.select_related("created_by").filter(pk=self.job_id).first()
            payload = json.dumps(self.serialize(current), cls=DjangoJSONEncoder) if current is not None else ""
        finally:
            if self.release_connection:
                connection.close()  # back to the pool until the next look: a waiting stream holds none
        if current is None:
            return [], True  # deleted meanwhile (in the admin): nothing more to follow
        lines, now = [], time.monotonic()
        if payload != self.last:
            lines.append(f"event: progress\ndata: {payload}\n\n")
            self.last, self.written, self.wait = payload, now, settings.IMPORT_SSE_POLL_SECONDS
        else:
            slowest = max(
                settings.IMPORT_SSE_POLL_SECONDS, min(SLOWEST_POLL_SECONDS, settings.IMPORT_SSE_HEARTBEAT_SECONDS)
            )
            self.wait = min(self.wait * 2, slowest)
        if current.status in FINISHED_STATUSES:  # a confirmed preview goes on with a new stream
            return [*lines, f"event: end\ndata: {payload}\n\n"], True
        if now > self.deadline:
            return lines, True  # the browser reconnects (retry) and gets a fresh stream
        if not lines and now - self.written >= settings.IMPORT_SSE_HEARTBEAT_SECONDS:
            # A comment, ignored by EventSource: under WSGI writing is how a closed page is noticed, and a proxy
            # between us and the browser does not drop a quiet connection.
            lines.append(": keep-alive\n\n")
            self.written = now
        return lines, False


def _sync_events(stream: _Stream) -> Iterator[str]:
    yield "retry: 2000\n\n"
    while True:
        lines, over = stream.look()
        yield from lines
        if over:
            return
        time.sleep(stream.wait)


async def _async_events(stream: _Stream) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    look = sync_to_async(stream.look)  # in the request's own thread, where its connection lives
    while True:
        lines, over = await look()
        for line in lines:
            yield line
        if over:
            return
        await asyncio.sleep(stream.wait)
