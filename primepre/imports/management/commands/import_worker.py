"""`python manage.py import_worker`: the task worker (django-tasks-db's `db_worker`, or RQ's worker with
`TASKS_BACKEND=rq`) plus stalled-job recovery.

Run one or many, on one or many machines: tasks are claimed with row locks (`SKIP LOCKED` on PostgreSQL), and
every worker looks for jobs whose worker died, so a killed worker's import resumes on the next one.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections
from django.db.backends.signals import connection_created

from primepre.imports import isolation, jobs
from primepre.imports.process import configure_import_process
from primepre.imports.retention import purge_import_files
from primepre.imports.tasks import recover_stalled_jobs

logger = logging.getLogger("primepre.imports")
PURGE_EVERY_SECONDS = 3600


class Command(BaseCommand):
    help = "Run the background task worker, and resume imports whose worker died."
    # System checks import every URLconf and view (DRF, the schema generator): memory a worker on a small box would
    # hold for code it never runs (the figure and how to measure it: bench/README.md). `migrate` and the web server
    # run them.
    requires_system_checks: list[str] = []

    own_process = False

    def run_from_argv(self, argv: list[str]) -> None:
        """`manage.py import_worker`: the command is the whole process, so it may set process limits (not when other
        code calls it with call_command)."""
        self.own_process = True
        super().run_from_argv(argv)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=0.5, help="Seconds between polls for new tasks.")
        parser.add_argument("--batch", action="store_true", help="Exit when the queue is empty.")
        parser.add_argument(
            "--no-startup-delay",
            dest="startup_delay",
            action="store_false",
            help="Start polling at once (by default a random delay of up to 1 s spreads many workers out).",
        )

    def handle(self, *args: Any, interval: float, batch: bool, startup_delay: bool, **options: Any) -> None:
        if settings.IMPORT_WORKER_NICE:
            # Imports are background work: when they share the CPU with the web server, requests go first. To that
            # level, not by it: under `make run` the autoreloader's child runs this again.
            os.nice(max(0, settings.IMPORT_WORKER_NICE - os.getpriority(os.PRIO_PROCESS, 0)))
            lower_database_priority()
        # Each import runs in a child of this process (imports/isolation.py), under the import memory limit: a file
        # that would take more memory than the box has fails its job, or, in native code that aborts, ends that child
        # alone and fails its job `unreadable_file`. Without isolation this process reads the files itself and takes
        # the limit.
        if self.own_process:
            isolation.enable()
        data_limit = configure_import_process() if self.own_process and not isolation.enabled() else None
        stop = threading.Event()
        recovery = threading.Thread(target=self._recover_forever, args=(stop,), name="import-recovery", daemon=True)
        recover_stalled_jobs()
        recovery.start()
        logger.info(
            "[WORKER-START] backend=%s interval=%s heartbeat_timeout=%ss max_rss_mb=%s data_limit_mb=%s "
            "max_attempts=%s nice=%s db_nice=%s isolation=%s",
            settings.TASKS_BACKEND,
            interval,
            settings.IMPORT_HEARTBEAT_TIMEOUT_SECONDS,
            settings.IMPORT_MAX_RSS_MB,
            data_limit // 2**20 if data_limit else ("per-import" if isolation.enabled() else "none"),
            settings.IMPORT_MAX_ATTEMPTS,
            os.getpriority(os.PRIO_PROCESS, 0),
            "local-only" if settings.IMPORT_WORKER_NICE and settings.IMPORT_WORKER_DB_NICE else "off",
            "child-per-import" if isolation.enabled() else "off",
        )
        try:
            if settings.TASKS_BACKEND == "rq":
                # Redis/RQ for scale-out: RQ's worker, with the job class django-tasks-rq needs.
                call_command("rqworker", "default", job_class="django_tasks_rq.Job", burst=batch)
            else:
                worker_options: dict[str, Any] = {"interval": interval, "startup_delay": startup_delay}
                if batch:
                    worker_options["batch"] = True
                call_command("db_worker", **worker_options)
        finally:
            stop.set()

    @staticmethod
    def _recover_forever(stop: threading.Event) -> None:
        period = max(5.0, settings.IMPORT_HEARTBEAT_TIMEOUT_SECONDS / 3)
        purge_due = time.monotonic()  # uploaded files past IMPORT_FILE_RETENTION_DAYS: first sweep, then hourly
        while not stop.wait(period):
            try:
                close_old_connections()
                recover_stalled_jobs()
                if time.monotonic() >= purge_due:
                    purge_due = time.monotonic() + PURGE_EVERY_SECONDS
                    purge_import_files()
                    if expired := jobs.expire_previews():
                        logger.info("[IMPORT-PREVIEW-EXPIRED] jobs=%s", expired)
            except Exception:  # a failed sweep is retried on the next period
                logger.exception("[WORKER-RECOVERY-FAIL]")


_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


def lower_database_priority() -> None:
    """This process's PostgreSQL sessions at its CPU priority, when IMPORT_WORKER_DB_NICE says so (the worker and the
    child running each import)."""
    if settings.IMPORT_WORKER_NICE and settings.IMPORT_WORKER_DB_NICE:
        connection_created.connect(_lower_database_session_priority, dispatch_uid="import-worker-db-nice")


def _lower_database_session_priority(sender: Any, connection: Any, **kwargs: Any) -> None:
    """The import's PostgreSQL session at the worker's CPU priority too, where the operating system lets us: the server
    on this machine and a user allowed to renice its processes (root, or the server's own user). PostgreSQL itself
    offers no priority a session could lower without a superuser's extension; a managed database is on another
    machine, where the import's queries do not compete with the web server for this one's CPU anyway."""
    host = str(connection.settings_dict.get("HOST") or "")
    if connection.vendor != "postgresql" or not (host in _LOCAL_HOSTS or host.startswith("/")):  # "/…": a socket
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        with open(f"/proc/{backend}/cmdline", "rb") as cmdline:
            if not cmdline.read().startswith(b"postgres"):
                return  # the same number, another process: the server is in another namespace after all
        os.setpriority(os.PRIO_PROCESS, backend, os.getpriority(os.PRIO_PROCESS, 0))
    except OSError as exc:  # not ours to renice, or gone
        logger.debug("[WORKER-DB-NICE] backend=%s skipped=%s", backend, exc.__class__.__name__)
        return
    logger.debug("[WORKER-DB-NICE] backend=%s nice=%s", backend, os.getpriority(os.PRIO_PROCESS, 0))
