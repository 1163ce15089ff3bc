"""Load generators for `bench/prod.py`: open-loop readers, slow-body clients and open progress streams.

- `OpenLoop`: requests sent on a Poisson schedule at a fixed rate whether or not earlier ones have answered (a pool
  of sender threads, one keep-alive connection each); a request's latency runs from its *scheduled* time, so time
  spent waiting for a free sender counts (no coordinated omission). Every request carries its own `X-Request-ID`, so
  the server's `[REQUEST] ms= wait_ms=` line can be matched to it afterwards (`server_times`).
- `SlowClients`: N connections that send a `POST /login/` head and then one body byte a second; a connection the
  server closes (its 408 after REQUEST_BODY_TIMEOUT_SECONDS) is opened again, so N stay open.
- `StreamHolders`: N threads that keep `GET /api/v1/imports/{id}/events/` streams open on the job a callable names.

Loopback only; every loop is bounded by the caller's stop event and the per-request timeout.
"""

from __future__ import annotations

import http.client
import queue
import random
import re
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REQUEST_TIMEOUT = 10.0  # one request; past it the request is a failure
SENDERS = 64  # threads that send the scheduled requests (enough that 20 req/s never waits for one)
LOGIN_BODY_BYTES = 200  # the Content-Length a slow client announces
STREAM_READ_TIMEOUT = 15.0  # longer than the stream's 10 s keep-alive comment


@dataclass(frozen=True)
class Target:
    """One request to send: what it is (`kind`, for the per-kind table), the path, and how it signs in."""

    kind: str
    path: str
    headers: dict[str, str]
    missing_ok: bool = False  # page 2 or 3 of a list: a 404 means the list is shorter (it grows during an import)


@dataclass
class Result:
    kind: str
    scheduled: float  # perf_counter
    seconds: float  # from the scheduled time to the last byte of the answer
    status: int | None
    request_id: str
    error: str = ""
    missing_ok: bool = False


@dataclass
class OpenLoop:
    """Poisson arrivals at `rate` per second from `make` (called with the loop's Random) until `stop` is set."""

    port: int
    make: Callable[[random.Random], Target]
    seed: int
    results: list[Result] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    paused: threading.Event = field(default_factory=threading.Event)  # set: no new arrivals
    in_flight: int = 0

    def run(self, rate: float, stop: threading.Event, max_seconds: float) -> None:
        """Send until `stop` is set or `max_seconds` pass; return once every request sent has answered (or failed)."""
        rng = random.Random(self.seed)  # noqa: S311 - load shape, not a secret
        work: queue.Queue[tuple[float, Target] | None] = queue.Queue()
        senders = [threading.Thread(target=self._send_loop, args=(work,), daemon=True) for _ in range(SENDERS)]
        for sender in senders:
            sender.start()
        started = next_at = time.perf_counter()
        while not stop.is_set() and time.perf_counter() - started < max_seconds:
            next_at += rng.expovariate(rate)
            delay = next_at - time.perf_counter()
            if delay > 0 and stop.wait(delay):
                break
            if self.paused.is_set():
                continue  # arrivals during a pause are not sent: the schedule goes on
            with self.lock:
                self.in_flight += 1
            work.put((next_at, self.make(rng)))
        for _ in senders:
            work.put(None)
        for sender in senders:
            sender.join(REQUEST_TIMEOUT * 2)

    def pause(self) -> None:
        """No new arrivals, and wait (bounded) for the requests in flight to answer."""
        self.paused.set()
        deadline = time.perf_counter() + REQUEST_TIMEOUT
        while time.perf_counter() < deadline:
            with self.lock:
                if self.in_flight == 0:
                    return
            time.sleep(0.01)

    def resume(self) -> None:
        self.paused.clear()

    def _send_loop(self, work: queue.Queue[tuple[float, Target] | None]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT)
        while (item := work.get()) is not None:
            scheduled, target = item
            request_id = "bench" + uuid.uuid4().hex[:16]
            status, error = None, ""
            try:
                status = _get(conn, target, request_id)
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                conn.close()
            seconds = time.perf_counter() - scheduled
            result = Result(target.kind, scheduled, seconds, status, request_id, error, target.missing_ok)
            with self.lock:
                self.results.append(result)
                self.in_flight -= 1
        conn.close()


def _get(conn: http.client.HTTPConnection, target: Target, request_id: str) -> int:
    headers = {**target.headers, "X-Request-ID": request_id}
    for attempt in (1, 2):
        try:
            conn.request("GET", target.path, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()  # an idle keep-alive connection the server closed: once more, as browsers do
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def failed(result: Result) -> bool:
    if result.status == 404 and result.missing_ok:
        return False
    return result.status is None or not 200 <= result.status < 400


# --- the server's side of each request ------------------------------------------------------------------------------

_REQUEST_LINE = re.compile(
    r"request_id=(?P<id>\S+) \[REQUEST\] method=\S+ path=\S+ status=\d+ ms=(?P<ms>[\d.]+) wait_ms=(?P<wait>[\d.]+)"
)


def server_times(log: str) -> dict[str, tuple[float, float]]:
    """request id → (ms inside Django, ms waiting for a turn before it), from the stack's `[REQUEST]` lines."""
    return {
        m["id"]: (float(m["ms"]), float(m["wait"])) for m in _REQUEST_LINE.finditer(log) if m["id"].startswith("bench")
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max/mean of seconds, in milliseconds (nearest rank)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None, "mean": None, "n": 0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(ordered[-1] * 1000, 1),
        "mean": round(statistics.fmean(ordered) * 1000, 1),
        "n": len(ordered),
    }


def breakdown(results: list[Result], times: dict[str, tuple[float, float]]) -> dict[str, dict[str, Any]]:
    """Per kind: the client's latency, the time inside Django, the wait for a turn, and the rest (event loop, network,
    the client), each as percentiles."""
    kinds: dict[str, list[Result]] = {}
    for result in results:
        kinds.setdefault(result.kind, []).append(result)
    table = {}
    for kind, items in sorted(kinds.items()):
        matched = [(item, times[item.request_id]) for item in items if item.request_id in times]
        table[kind] = {
            "client": percentiles([item.seconds for item in items]),
            "django": percentiles([ms / 1000 for _, (ms, _) in matched]),
            "wait": percentiles([wait / 1000 for _, (_, wait) in matched]),
            "rest": percentiles([max(0.0, item.seconds - (ms + wait) / 1000) for item, (ms, wait) in matched]),
            "failed": sum(1 for item in items if failed(item)),
        }
    return table


# --- slow clients and open streams ----------------------------------------------------------------------------------


class SlowClients:
    """`count` connections trickling a `POST /login/` body at a byte a second; each reopened when the server ends it."""

    def __init__(self, port: int, count: int) -> None:
        self.port, self.count = port, count
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="slow-clients", daemon=True)
        self.opened = self.cut = self.refused = 0
        self.open_samples: list[int] = []
        self.answers: dict[str, int] = {}

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)

    def _open(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            head = (
                "POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {LOGIN_BODY_BYTES}\r\n\r\n"
            )
            sock.sendall(head.encode())
            sock.setblocking(False)
            self.opened += 1
            return sock
        except OSError:
            self.refused += 1
            return None

    def _loop(self) -> None:
        socks: list[socket.socket] = []
        while not self.stop.is_set():
            socks = [sock for sock in socks if self._trickle(sock)]
            while len(socks) < self.count and not self.stop.is_set():
                sock = self._open()
                if sock is None:
                    break
                socks.append(sock)
            self.open_samples.append(len(socks))
            self.stop.wait(1.0)
        for sock in socks:
            sock.close()

    def _trickle(self, sock: socket.socket) -> bool:
        """One more byte; False (and closed) once the server has answered or hung up."""
        try:
            answer = sock.recv(64)
        except BlockingIOError:
            answer = None
        except OSError:
            answer = b""
        if answer is not None:
            status = answer[9:12].decode(errors="replace") if answer else "closed"
            self.answers[status] = self.answers.get(status, 0) + 1
            self.cut += 1
            sock.close()
            return False
        try:
            sock.send(b"a")
        except OSError:
            self.cut += 1
            sock.close()
            return False
        return True


class StreamHolders:
    """`count` threads keeping an event stream open on the job `job_id()` names: (import number, job id), or None
    (none yet: wait). Job ids start again at 1 when the tables are emptied, hence the number."""

    def __init__(self, port: int, token: str, count: int, job_id: Callable[[], tuple[int, int] | None]) -> None:
        self.port, self.token, self.job_id = port, token, job_id
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._hold, daemon=True) for _ in range(count)]
        self.lock = threading.Lock()
        self.open = self.opened = self.errors = 0
        self.open_samples: list[int] = []
        self.sampler = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()
        self.sampler.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(STREAM_READ_TIMEOUT + 2)
        self.sampler.join(2)

    def _sample(self) -> None:
        while not self.stop.wait(1.0):
            with self.lock:
                self.open_samples.append(self.open)

    def _hold(self) -> None:
        while not self.stop.is_set():
            job = self.job_id()
            if job is None:
                self.stop.wait(0.2)
                continue
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=STREAM_READ_TIMEOUT)
            headers = {"Authorization": f"Token {self.token}", "Accept": "text/event-stream"}
            try:
                conn.request("GET", f"/api/v1/imports/{job[1]}/events/", headers=headers)
                response = conn.getresponse()
                if response.status != 200:
                    raise http.client.HTTPException(f"status {response.status}")
                self._read(response, job)
            except TimeoutError:
                pass  # a stream quiet for longer than its keep-alive comment: open it again
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.errors += 1
                self.stop.wait(0.5)
            finally:
                conn.close()

    def _read(self, response: http.client.HTTPResponse, job: tuple[int, int]) -> None:
        with self.lock:
            self.open += 1
            self.opened += 1
        try:
            while not self.stop.is_set():
                line = response.readline()
                if not line:
                    return  # the stream ended (its time limit, or the job)
                if line.startswith(b"event: end"):
                    while self.job_id() == job and not self.stop.wait(0.2):
                        pass  # the job is over: wait for the next one
                    return
        finally:
            with self.lock:
                self.open -= 1
