"""The web server's worker: gunicorn runs uvicorn (the uvicorn-worker package) on Django's ASGI application
(config/asgi.py), with a deadline on reading a request's head.

Why asynchronous: with threads, every connection that had not finished sending its request, and every open progress
stream, held one of the worker's four threads, so four slow clients (1 byte/s to `POST /login/`) or four browser
tabs on an import made the site stop answering. Here a connection is a few kilobytes in the event loop until its
whole request has arrived (Django's ASGI handler reads the body before any thread is involved), and a progress
stream waits in the loop too.

What uvicorn does not bound, this does:
- the head (request line and headers): uvicorn arms no timer until a first response has been sent, so a client that
  sends half a header and waits kept its connection (and a file descriptor) for ever. `TimedH11Protocol` closes a
  connection whose head is not complete WEB_HEADER_TIMEOUT_SECONDS after its first byte (or after the connection
  opened); h11 already refuses a head over 16 KB.
- the body: config/asgi.py's `RequestGuard` (a minimum rate, then 408).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

logger = logging.getLogger("gunicorn.error")


def _number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


# A browser sends a whole head in one packet; 10 s is generous for a phone on a bad network and short for an attacker
# holding connections open.
HEADER_TIMEOUT_SECONDS = _number("WEB_HEADER_TIMEOUT_SECONDS", 10)
# Open connections per worker (keep-alive ones included); more get uvicorn's 503. Each costs a few kilobytes (a slow
# client, a progress stream): the bound is for file descriptors and memory, far above what staff open.
MAX_CONNECTIONS = int(_number("WEB_MAX_CONNECTIONS", 1000))
# On SIGTERM, requests in flight get this long; progress streams are then cut (the page's EventSource reconnects to
# the next server). Short: a deploy waits for the web server and the import worker together (bin/start).
GRACEFUL_SHUTDOWN_SECONDS = int(_number("WEB_SHUTDOWN_SECONDS", 3))
H11_MAX_HEAD_BYTES = 16 * 1024  # h11's own default, stated: a longer head gets a 400


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's head.

    The timer starts when the connection opens, and again when the first byte of a keep-alive connection's next
    request arrives (uvicorn's own keep-alive timer covers the idle time before it); it stops once h11 has parsed the
    head. When it fires the connection is closed: no request was read, so there is nothing to answer.
    """

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            if self._head_timer is None and not self.transport.is_closing():
                self._arm_head_timer()  # the first bytes of a keep-alive connection's next request
        else:
            self._cancel_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            logger.info(
                "[REQUEST-TIMEOUT] part=head client=%s seconds=%g", _client(self.client), HEADER_TIMEOUT_SECONDS
            )
            self.transport.close()


def _client(address: tuple[str, int] | None) -> str:
    return f"{address[0]}:{address[1]}" if address else "-"


class Worker(UvicornWorker):
    """gunicorn's uvicorn worker with the bounds above: the asyncio loop, h11 with the head deadline, a connection
    limit, a short graceful shutdown, no ASGI lifespan (Django has none).

    gunicorn's `--reload` (`make run`) marks a worker dead from its reloader thread and expects the worker's loop to
    notice; uvicorn's loop does not look, so the worker checks and asks uvicorn to exit, and gunicorn starts a fresh
    one on the new code."""

    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "asyncio",
        "http": "config.server:TimedH11Protocol",
        "lifespan": "off",
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        "h11_max_incomplete_event_size": H11_MAX_HEAD_BYTES,
    }

    async def _serve(self) -> None:
        self.config.app = self.wsgi
        server = Server(config=self.config)
        self._install_sigquit_handler()
        watcher = asyncio.create_task(self._exit_when_dead(server))
        try:
            await server.serve(sockets=self.sockets)
        finally:
            watcher.cancel()
        if not server.started:
            raise SystemExit(3)  # gunicorn's Arbiter.WORKER_BOOT_ERROR: the master stops instead of respawning

    async def _exit_when_dead(self, server: Server) -> None:
        while self.alive:
            await asyncio.sleep(0.5)
        server.should_exit = True
