"""`manage.py run_import JOB_ID --lease TOKEN`: one import, in a process of its own, started by the import worker
(primepre/imports/isolation.py). Not for people: the CLI's `import_customers` runs a file; this runs a queued job."""

from __future__ import annotations

import resource
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from primepre.imports import isolation, tasks
from primepre.imports.process import configure_import_process

from .import_worker import lower_database_priority


class Command(BaseCommand):
    help = "Run one queued import job in this process (the import worker starts one per job)."
    requires_system_checks: list[str] = []  # as the worker: start-up memory and time for checks of code never run

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id", type=int)
        parser.add_argument("--lease", default=None, help="The lease the worker chose for this run.")

    def handle(self, *args: Any, job_id: int, lease: str | None, **options: Any) -> None:
        isolation.die_with_parent()
        # A file that makes a reader abort must not also leave a core file of the import's memory on the box.
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
        # The worker passes SIGTERM on: stop after the batch being written (the job is queued again). Ctrl-C is the
        # worker's to handle, not ours.
        signal.signal(signal.SIGTERM, lambda signum, frame: tasks.request_stop())
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        lower_database_priority()
        configure_import_process()
        tasks.run_job_here(job_id, lease=lease)
