"""The web server's worker: gunicorn runs uvicorn (the uvicorn-worker package) on Django's ASGI application
(config/asgi.py), with a deadline on reading a request's head and bounds on the connections one client can hold.

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
- the connections: uvicorn answers 503 to every request once WEB_MAX_CONNECTIONS are open, idle ones included, so
  one process opening a thousand sockets and sending a byte on each took the site down for everyone. `Connections`
  keeps (1) at most WEB_MAX_CONNECTIONS_PER_CLIENT per client address (not when a proxy stands in front: then every
  connection comes from it); (2) a reserve: connections still waiting for a request head may fill all but a tenth of
  the limit, the oldest of them closed to make room; (3) near the limit, a head gets WEB_HEADER_TIMEOUT_BUSY_SECONDS.
- the body: config/asgi.py's `RequestGuard` (a minimum rate, then 408).

Client addresses: uvicorn's proxy-header rewriting is off, so the address a request reaches Django with is the one
its connection came from; which `X-Forwarded-For` entry to believe is `TRUSTED_PROXY_COUNT`'s business, decided in one
place (primepre/accounts/lockout.py, `client_ip`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import resource
from collections import Counter
from typing import Any

import h11
from django.conf import settings
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import Server, ServerState
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
# A browser opens at most 6 connections to a site; an office behind one NAT address is a few dozen browsers, and
# only connections busy with a request count once the bound is reached (idle ones of that address are closed first).
MAX_CONNECTIONS_PER_CLIENT = int(_number("WEB_MAX_CONNECTIONS_PER_CLIENT", 100))
# Near the limit, a connection that has sent no complete head for this long is closed: a real client sends its head
# in the packet after the handshake, so 2 s is ample even on a slow phone network.
BUSY_HEADER_TIMEOUT_SECONDS = _number("WEB_HEADER_TIMEOUT_BUSY_SECONDS", 2)
# Connections waiting for a head may fill all but this many places, so a new client always finds one.
RESERVED_CONNECTIONS = max(0, min(MAX_CONNECTIONS // 10, MAX_CONNECTIONS - 1))
BUSY_CONNECTIONS = MAX_CONNECTIONS * 3 // 4  # "near the limit"
# On SIGTERM, requests in flight get this long; progress streams are then cut (the page's EventSource reconnects to
# the next server). Short: a deploy waits for the web server and the import worker together (bin/start).
GRACEFUL_SHUTDOWN_SECONDS = int(_number("WEB_SHUTDOWN_SECONDS", 3))
H11_MAX_HEAD_BYTES = 16 * 1024  # h11's own default, stated: a longer head gets a 400
# What a connection over its address's bound reads before it is closed (no request was read: nothing else to say).
_REFUSAL_BODY = b"Too many connections from your address.\n"
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 5\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(_REFUSAL_BODY), _REFUSAL_BODY)
)
# The scope key a view sets (primepre/accounts/lockout.py) to have its answer held back that many seconds.
ANSWER_DELAY_KEY = "primepre.answer_delay"
MAX_ANSWER_DELAY_SECONDS = 60.0


def client_key(address: tuple[str, int] | None) -> str | None:
    """What the per-client bound counts by: the IPv4 address, or the /64 network of an IPv6 one (one subscriber's
    line gets a whole /64, so counting single IPv6 addresses would bound nothing)."""
    if not address:
        return None  # a Unix socket: no address to tell clients apart
    try:
        ip = ipaddress.ip_address(address[0])
    except ValueError:
        return address[0]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)  # an IPv4 client on a dual-stack socket
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Connections:
    """A worker's open connections: by client address, and those waiting for a request head (a fresh connection,
    or a keep-alive one between requests) in the order they started waiting, so the oldest are found first.

    Only this object closes a connection for the bounds; it logs what it closed once a second, not once per
    connection (under an attack that would be thousands of lines)."""

    def __init__(self, limit: int, per_client: int | None, reserve: int, busy: int, busy_timeout: float) -> None:
        self.limit, self.per_client, self.reserve = limit, per_client, reserve
        self.busy, self.busy_timeout = busy, busy_timeout
        self.by_client: dict[str | None, dict[TimedH11Protocol, None]] = {}
        self.waiting: dict[TimedH11Protocol, float] = {}  # insertion order is waiting order
        self.open = 0
        self.shed: Counter[str] = Counter()
        self.shed_from: Counter[str | None] = Counter()
        self._report: asyncio.TimerHandle | None = None

    def admit(self, conn: TimedH11Protocol, now: float) -> bool:
        """Register a new connection, making room as the bounds say; False: refuse it (its address is at its bound
        with no connection waiting that could give way)."""
        key = client_key(conn.client)
        mine = self.by_client.setdefault(key, {})
        if self.per_client is not None and key is not None and len(mine) >= self.per_client:
            oldest = next((other for other in mine if other in self.waiting), None)
            if oldest is None:
                self._count("refused", key, conn)
                if not mine:
                    del self.by_client[key]
                return False
            self._close(oldest, "per_client")
            mine = self.by_client.setdefault(key, {})
        mine[conn] = None
        self.open += 1
        self.waiting[conn] = now
        self._close_stale_heads(now)
        while len(self.waiting) > self.limit - self.reserve:
            self._close(next(iter(self.waiting)), "reserve")
        return True

    def head_received(self, conn: TimedH11Protocol) -> None:
        self.waiting.pop(conn, None)

    def idle(self, conn: TimedH11Protocol, now: float) -> None:
        """A keep-alive connection between two requests: it waits again, from now."""
        if conn in self.by_client.get(client_key(conn.client), {}):
            self.waiting.pop(conn, None)
            self.waiting[conn] = now

    def forget(self, conn: TimedH11Protocol) -> None:
        self.waiting.pop(conn, None)
        key = client_key(conn.client)
        mine = self.by_client.get(key)
        if mine is not None and conn in mine:
            del mine[conn]
            self.open -= 1
            if not mine:
                del self.by_client[key]

    def _close_stale_heads(self, now: float) -> None:
        """Near the limit, every connection that has waited for a head longer than the busy timeout goes."""
        if self.open < self.busy:
            return
        while self.waiting:
            oldest, since = next(iter(self.waiting.items()))
            if now - since < self.busy_timeout:
                return
            self._close(oldest, "busy")

    def _close(self, conn: TimedH11Protocol, reason: str) -> None:
        self.forget(conn)
        self._count(reason, client_key(conn.client), conn)
        conn.drop()

    def _count(self, reason: str, key: str | None, conn: TimedH11Protocol) -> None:
        self.shed[reason] += 1
        self.shed_from[key] += 1
        if self._report is None:
            self._report = conn.loop.call_later(1.0, self._log)

    def _log(self) -> None:
        self._report = None
        (top, top_count), *_ = self.shed_from.most_common(1) or [(None, 0)]
        logger.warning(
            "[CONNECTIONS-SHED] per_client=%s reserve=%s busy=%s refused=%s open=%s waiting=%s top_client=%s top=%s",
            *(self.shed[reason] for reason in ("per_client", "reserve", "busy", "refused")),
            self.open,
            len(self.waiting),
            top or "-",
            top_count,
        )
        self.shed.clear()
        self.shed_from.clear()


def connections_of(state: ServerState) -> Connections:
    """The worker's `Connections`, kept on uvicorn's shared server state (one per server)."""
    book = getattr(state, "primepre_connections", None)
    if book is None:
        # Behind a proxy every connection comes from it: bounding its address would bound everyone together.
        trusted = _trusted_proxy_count() > 0
        per_client = MAX_CONNECTIONS_PER_CLIENT if MAX_CONNECTIONS_PER_CLIENT > 0 and not trusted else None
        book = Connections(
            MAX_CONNECTIONS, per_client, RESERVED_CONNECTIONS, BUSY_CONNECTIONS, BUSY_HEADER_TIMEOUT_SECONDS
        )
        state.primepre_connections = book  # type: ignore[attr-defined]
    return book


def _trusted_proxy_count() -> int:
    """TRUSTED_PROXY_COUNT as Django read it (the application is loaded before the worker serves)."""
    return int(settings.TRUSTED_PROXY_COUNT)


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request's head and the connection bounds (`Connections`).

    The timer starts when the connection opens, and again when the first byte of a keep-alive connection's next
    request arrives (uvicorn's own keep-alive timer covers the idle time before it); it stops once h11 has parsed the
    head. When it fires the connection is closed: no request was read, so there is nothing to answer.
    """

    _head_timer: asyncio.TimerHandle | None = None
    _book: Connections | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        book = connections_of(self.server_state)
        if not book.admit(self, self.loop.time()):
            transport.write(_REFUSAL)
            transport.close()
            return
        self._book = book
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused or dropped: nothing it sends is read any more
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            if self._head_timer is None and not self.transport.is_closing():
                self._arm_head_timer()  # the first bytes of a keep-alive connection's next request
        else:
            self._cancel_head_timer()
            if self._book is not None:
                self._book.head_received(self)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._book is not None and self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._book.idle(self, self.loop.time())

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        if self._book is not None:
            self._book.forget(self)
        super().connection_lost(exc)

    def drop(self) -> None:
        """Closed to make room (`Connections`): it has no request in progress, so there is nothing to answer."""
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.close()

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            # The connection's own address: with a proxy in front that is the proxy (no head, so no header to read).
            logger.info(
                "[REQUEST-TIMEOUT] part=head client=%s seconds=%g", _client(self.client), HEADER_TIMEOUT_SECONDS
            )
            self.transport.close()


def _client(address: tuple[str, int] | None) -> str:
    return f"{address[0]}:{address[1]}" if address else "-"


class PacedAnswers:
    """ASGI middleware: a response whose request put `ANSWER_DELAY_KEY` in its scope (a sign-in for a username under
    attack, primepre/accounts/lockout.py) starts that many seconds later. The wait is in the event loop, after
    Django's code has run and its thread and database connection are given back: a delayed answer holds only its
    connection."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def paced_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                delay = scope.get(ANSWER_DELAY_KEY) or 0.0
                if delay > 0:
                    await asyncio.sleep(min(float(delay), MAX_ANSWER_DELAY_SECONDS))
            await send(message)

        await self.app(scope, receive, paced_send)


def _raise_file_limit(needed: int) -> None:
    """Every connection is a file descriptor: a soft limit below WEB_MAX_CONNECTIONS (often 1,024) would make
    accept() fail before the bounds above could make room, and asyncio then stops accepting for a second."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        logger.warning("[SERVER-LIMIT] open files limited to %s, below WEB_MAX_CONNECTIONS + 100", target)


class Worker(UvicornWorker):
    """gunicorn's uvicorn worker with the bounds above: the asyncio loop, h11 with the head deadline and connection
    bounds, a short graceful shutdown, no ASGI lifespan (Django has none), and no proxy headers: uvicorn would replace
    the client address with whatever `X-Forwarded-For` says, from anyone (client_ip decides what to trust).

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
        "proxy_headers": False,
        "forwarded_allow_ips": "",
    }

    async def _serve(self) -> None:
        _raise_file_limit(MAX_CONNECTIONS + 100)
        self.config.app = PacedAnswers(self.wsgi)
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
