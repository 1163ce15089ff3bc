"""What a process running imports sets up: the memory an import may use (a budget checked between batches, and a
process limit for processes that only run imports: the worker, the CLI), so one hostile file fails its job instead of
taking the box down; and a short thread switch interval, so the writer gets back to the database promptly."""

from __future__ import annotations

import gc
import os
import resource
import sys

from django.conf import settings

from .errors import ImportFileError


class MemoryBudget:
    """IMPORT_MAX_RSS_MB, checked between batches: an import whose process grows by more than that since the import
    started fails with `memory_limit` (the worker stays up, the queue moves on) instead of growing until the kernel
    kills a process on the box. Growth, not the total, so the check means the same in the worker, the CLI, and a
    process that runs imports among other work (the tests, the immediate task backend).

    The process's resident memory is read from /proc (Linux; elsewhere the check is off): cheap enough that it
    runs after every batch on both threads. Allocations inside one C call (a spreadsheet library loading a sheet) are
    not seen here; `limit_process_memory` covers those in the processes that only run imports.
    """

    def __init__(self, limit_mb: int | None = None) -> None:
        self.limit_mb = settings.IMPORT_MAX_RSS_MB if limit_mb is None else limit_mb
        self.start = rss_bytes()

    def check(self) -> None:
        if self.limit_mb <= 0 or not self.start:
            return
        grown = rss_bytes() - self.start
        if grown > self.limit_mb * 2**20:
            raise ImportFileError(
                "memory_limit",
                f"The import was stopped: it needed more than {self.limit_mb:,} MB of memory, the most one import "
                "may use. The file is unusual (very long cells or rows, or a sheet with cells scattered far apart). "
                "Save the columns to import as .csv, or split the file, and upload it again.",
                limit_mb=self.limit_mb,
            )


_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """This process's resident set size now (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def limit_process_memory() -> int | None:
    """Set RLIMIT_DATA to what the process holds now plus IMPORT_MAX_RSS_MB and a quarter; returns the limit in
    bytes, None when there is none.

    For processes that only run imports (the worker, the CLI), never the web server. One allocation too large for
    the box (a spreadsheet library sizing a sheet by its furthest cell) then fails at once, as a MemoryError the job
    reports as `memory_limit`, or as the end of this process alone (native code that aborts), which the stalled-job
    sweep retries at most IMPORT_MAX_ATTEMPTS times, rather than making the kernel's OOM killer pick a process. The
    quarter of headroom lets MemoryBudget, which fails the job cleanly, see gradual growth first.
    """
    budget = settings.IMPORT_MAX_RSS_MB
    if budget <= 0:
        return None
    limit = _data_bytes() + (budget + budget // 4) * 2**20
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:
        return soft  # already as tight
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


def _data_bytes() -> int:
    """What RLIMIT_DATA counts for this process now (VmData), or its RSS where /proc/self/status is missing."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss_bytes()


# The writer waits on the database once or twice a batch; with Python's default 5 ms switch interval each wake-up can
# queue behind the cleaning thread holding the GIL. A process that only runs imports switches sooner (the interval
# `make bench` was fastest with, bench/README.md). Not for the web server, whose threads serve requests.
IMPORT_SWITCH_INTERVAL = 0.0001


def settle_garbage_collector() -> None:
    """Move everything loaded so far (Django, the apps, the libraries: what lives as long as the process) out of the
    cyclic collector's sight, and collect less often. Otherwise every full collection an import triggers walks those
    objects again, and so does each of the interpreter's collections at exit (most of a CLI run's end). No collection
    first: at this point it costs tens of milliseconds to find under a hundred objects of start-up garbage, which are
    kept instead (figures: bench/README.md, "Throughput").

    Less often (IMPORT_GC_THRESHOLD net allocations, not Python's 700): an import allocates millions of small
    containers (cells, rows, batches) and keeps a batch's worth alive until it is written, survivors the collector
    re-walked at every collection (bench/README.md measures both). Not for the web server."""
    gc.freeze()
    gc.set_threshold(settings.IMPORT_GC_THRESHOLD, *gc.get_threshold()[1:])


def configure_import_process() -> int | None:
    """For the worker and the CLI at start: the memory limit (returned, in bytes, or None), the switch interval and
    the garbage collector."""
    sys.setswitchinterval(min(sys.getswitchinterval(), IMPORT_SWITCH_INTERVAL))
    settle_garbage_collector()
    return limit_process_memory()
