"""Gunicorn, sized for a small box (512 MB by default), running uvicorn workers (config/server.py) on Django's ASGI
application (config/asgi.py).

Imports run in the task worker, so web requests are short. A worker holds slow clients and progress streams in its
event loop, not in threads, and runs at most WEB_MAX_ACTIVE_REQUESTS requests' Django code at once (config/settings.py);
there are as many worker processes as the memory budget allows after the import worker and the master are paid for.
Every figure can be overridden from the environment.
"""

from __future__ import annotations

import logging
import os
import resource
from typing import Any

logger = logging.getLogger("gunicorn.error")


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# The defaults are the peaks `make bench-prod` measures in one-service mode (figures in bench/README.md): a web
# worker is WEB_WORKER_MB; the import worker on a 100,000-row file, bin/start and the
# gunicorn master (not preloading, which costs more) together are RESERVED_MB. Workers are added only while the whole
# stack stays within three quarters of the budget: 1 worker at 512 MB, 4 (the most) at 1 GB.
MEMORY_BUDGET_MB = _int("WEB_MEMORY_BUDGET_MB", 512)
WEB_WORKER_MB = _int("WEB_WORKER_MB", 80)
RESERVED_MB = _int("WEB_RESERVED_MB", 230)  # import worker + honcho + master, when they share the box

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000)}"  # noqa: S104 - the platform routes to this port
wsgi_app = "config.asgi:application"  # the ASGI application, whatever gunicorn's setting is called
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "config.server.Worker")
workers = _int("WEB_CONCURRENCY", max(1, min(4, (MEMORY_BUDGET_MB * 3 // 4 - RESERVED_MB) // WEB_WORKER_MB)))
# A worker whose event loop has not run for this long (something blocked it) is killed and replaced. Requests run in
# threads, so a slow request does not trip it.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 20)
keepalive = 5  # seconds an idle keep-alive connection stays open (uvicorn's timeout_keep_alive)
# A safety net against slow leaks, not a crutch: thousands of requests, jittered so workers do not recycle together.
# Not with a single worker (the 512 MB box): while it is replaced (Django's start-up, about 2 s) nothing answers, which
# `make bench-prod` saw as a 1.5 s stall every 2,000 requests.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000 if workers > 1 else 0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# `make run` sets GUNICORN_RELOAD=1: restart workers when code changes (incompatible with preloading).
reload = os.environ.get("GUNICORN_RELOAD", "").strip() in {"1", "true", "yes"}
# Preloading shares Django's pages between workers, but makes the master as big as a worker: worth it from 3 workers.
preload_app = not reload and workers >= 3
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - heartbeat file, not data
accesslog = None  # our [REQUEST] line (config/log.py) says more, with the request id
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No address is trusted to rewrite the client's: with `*` uvicorn replaced the client address with whatever a client's
# own `X-Forwarded-For` said, so a locked-out attacker got a fresh address per guess and forged `ip=` in the logs.
# The address requests reach Django with is the connection's; TRUSTED_PROXY_COUNT (primepre/accounts/lockout.py)
# says which header entry, counted from the right, to believe instead. (The worker turns proxy headers off too.)
forwarded_allow_ips = ""
# Gunicorn 27's control socket is one path per user (~/.gunicorn/gunicorn.ctl): two servers on a box (tests, `make
# run` beside a benchmark) would fight over it, and nothing here uses it.
control_socket_disable = True


def _rss_mb(pid: int | None = None) -> float:
    """Current RSS of a process (from /proc), or this process's peak when /proc is not there."""
    try:
        with open(f"/proc/{pid or os.getpid()}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def when_ready(server: Any) -> None:
    logger.info(
        "[SERVER-READY] bind=%s workers=%s worker_class=%s timeout=%ss budget_mb=%s worker_mb=%s",
        bind,
        workers,
        worker_class,
        timeout,
        MEMORY_BUDGET_MB,
        WEB_WORKER_MB,
    )


def post_fork(server: Any, worker: Any) -> None:
    logger.info("[WORKER-SPAWN] pid=%s", worker.pid)


def post_worker_init(worker: Any) -> None:
    """In the worker, once the application (and so the settings) is loaded."""
    from django.conf import settings

    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool")
    logger.info(
        "[WORKER-READY] pid=%s max_active=%s db_pool=%s body_timeout=%ss body_min_rate=%s",
        worker.pid,
        settings.WEB_MAX_ACTIVE_REQUESTS,
        f"{pool['min_size']}-{pool['max_size']}" if pool else "off",
        f"{settings.REQUEST_BODY_TIMEOUT_SECONDS:g}",
        settings.REQUEST_BODY_MIN_RATE,
    )


def worker_exit(server: Any, worker: Any) -> None:
    logger.info("[WORKER-EXIT] pid=%s rss_mb=%.0f", worker.pid, _rss_mb())


def worker_abort(worker: Any) -> None:
    """SIGABRT: the worker did not report for `timeout` (gthread: a request ran past it). The RSS says whether memory
    was the reason. (The uvicorn worker takes SIGABRT's default action: gunicorn logs `WORKER TIMEOUT` instead.)"""
    logger.error("[WORKER-ABORT] pid=%s rss_mb=%.0f reason=timeout", worker.pid, _rss_mb())


def worker_int(worker: Any) -> None:
    logger.info("[WORKER-EXIT] pid=%s rss_mb=%.0f reason=interrupt", worker.pid, _rss_mb())


def child_exit(server: Any, worker: Any) -> None:
    """In the master, for every worker that ended, including one the kernel killed (out of memory)."""
    logging.getLogger("gunicorn.error").info("[WORKER-GONE] pid=%s", worker.pid)
