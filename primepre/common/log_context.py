"""The id stamped on every log line of a unit of work: a request id in the web process, `job-<id>` in a worker."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@contextlib.contextmanager
def log_context(value: str) -> Iterator[None]:
    token = request_id_var.set(value)
    try:
        yield
    finally:
        request_id_var.reset(token)
