"""Each import in a process of its own: a file that kills the process reading it ends that process, never the worker.

Spreadsheet libraries are native code. A hostile file (a few KB declaring millions of cells, millions of shared
strings) can make one allocate more than the process may have, and Rust aborts the whole process on a failed
allocation: no exception, no `finally`. In the worker that ended the worker, and under `bin/start` the web server with
it. So the worker (`manage.py import_worker`) runs no file itself: for each job it starts `manage.py run_import`, a
child under the import memory limit, and waits for it.

- The child claims the job under a lease the worker chose, so the worker can act on the job when the child dies.
- A child that dies before its first batch was written (opening and reading the file) fails its job at once with
  `unreadable_file`, naming the file: trying again would only die again (`jobs.fail_unreadable`). One that dies
  while writing is queued again and resumes after its checkpoint, at most IMPORT_MAX_ATTEMPTS runs
  (`jobs.child_died`).
- A worker told to stop (SIGTERM: a deploy, bin/start stopping) passes it on; the child stops after its batch and
  queues the job again itself. A child still opening its file cannot stop there (there is no batch yet), so it is
  killed at once and its job queued again unread; one that has not stopped after IMPORT_CHILD_STOP_SECONDS is killed
  too and resumes from its checkpoint.
- The child dies with its worker (PR_SET_PDEATHSIG), so a worker killed outright leaves no import running unseen:
  the stalled-job sweep takes the job as before.

The CLI and the tests (the immediate task backend) run imports in their own process, as before: isolation is for the
long-lived worker, whose death costs everything else it would have run.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

from django.conf import settings

from . import jobs
from .models import ImportJob

logger = logging.getLogger("primepre.imports")

PARENT_ENV = "PRIMEPRE_IMPORT_PARENT"
_PR_SET_PDEATHSIG = 1
_enabled = False


def enable() -> None:
    """Called by the import worker when it is the whole process: from now on its imports run in children."""
    global _enabled
    _enabled = bool(settings.IMPORT_ISOLATION)


def enabled() -> bool:
    return _enabled


def run_in_child(job_id: int, stop: threading.Event) -> str:
    """Run job `job_id` in a child process and wait for it; `stop` is set when this worker is told to stop.

    Returns what became of the job: "done" (the child recorded its end, or handed the job back itself),
    "released" (stopped by us, queued again), `jobs.child_died`'s outcome ("unreadable", "requeued", "failed", ""
    when the run had lost the job), or "not_started" (the child died before claiming it: `jobs.not_started`). The
    caller enqueues the job again for "released" and "requeued"."""
    lease = uuid.uuid4().hex
    child = subprocess.Popen(  # noqa: S603 - our interpreter and manage.py; its output goes where ours goes
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "run_import", str(job_id), "--lease", lease],
        cwd=settings.BASE_DIR,
        env={**os.environ, PARENT_ENV: str(os.getpid())},
    )
    logger.info("[IMPORT-CHILD] job=%s pid=%s", job_id, child.pid)
    try:
        if _wait(child, job_id, lease, stop):
            return "released"
    finally:
        if child.poll() is None:  # this worker is being torn down (a second signal): take the child with it
            child.kill()
            child.wait()
    if child.returncode == 0:
        return "done"
    how = _death(child.returncode)
    outcome = jobs.child_died(job_id, lease, how)
    if not outcome and jobs.not_started(job_id):
        outcome = "not_started"
    logger.error("[IMPORT-CHILD-DIED] job=%s pid=%s how=%s outcome=%s", job_id, child.pid, how, outcome or "none")
    return outcome


def _wait(child: subprocess.Popen, job_id: int, lease: str, stop: threading.Event) -> bool:
    """Until the child ends; True when we stopped it (and released its job) because this worker is stopping."""
    told_at: float | None = None
    while True:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.2)
        if child.returncode is not None:
            return False
        if not stop.is_set():
            continue
        if told_at is None:
            told_at = time.monotonic()
            child.send_signal(signal.SIGTERM)  # stop after the batch being written
        reading = ImportJob.objects.filter(jobs.wrote_nothing(), pk=job_id, worker_token=lease).exists()
        if reading or time.monotonic() - told_at > settings.IMPORT_CHILD_STOP_SECONDS:
            child.kill()
            child.wait()
            released = jobs.release(ImportJob(pk=job_id, worker_token=lease))
            logger.info("[IMPORT-PAUSED] job=%s reason=worker stopping; child stopped; queued=%s", job_id, released)
            return released


def _death(returncode: int) -> str:
    """How a child ended, in words for the job's message and the log."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the process reading it was ended by {name}"
    return f"the process reading it exited with code {returncode}"


def die_with_parent() -> None:
    """In the child: be killed when the worker that started us dies (Linux; elsewhere a no-op), and exit now if it
    already has (it died before we got here)."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(parent):
        raise SystemExit("[IMPORT-CHILD] the worker that started this import is gone")
