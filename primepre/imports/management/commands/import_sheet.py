"""`python manage.py import_sheet --schema NAME FILE`: the same pipeline as the API and the UI, from a terminal, for any
registered kind of sheet. Each schema's options are flags made from their declarations (`OptionSpec`: `--warehouse
GZ`, `--send-receipt-sms`, `--invalid-optional import_without`). `import_customers FILE` is this with
`--schema customers` (and its `--generate-marks`).

Exit status 0 when the file was processed (failed rows included: they are in the error file), 1 with a clear message
when the file itself is unusable.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from primepre.imports.errors import ImportFileError
from primepre.imports.jobs import JobRefused, authorize_submit, create_job
from primepre.imports.models import ImportMode, ImportStatus
from primepre.imports.options import (
    OptionsInvalid,
    Submission,
    check_options,
    describe_option_errors,
    schema_options,
)
from primepre.imports.pipeline import ImportProgress
from primepre.imports.process import configure_import_process
from primepre.imports.schema import OptionSpec, schemas
from primepre.imports.services import execute_job, store_file

# The engine options' names as this command spells them, for its error messages (a schema's: `_flag`).
FLAGS = {"mode": "--mode", "preview": "--dry-run", "sheet": "--sheet", "schema": "--schema"}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


class Command(BaseCommand):
    help = "Import a sheet (--schema customers, goods, …) from an .xlsx/.xls/.ods/.csv/.json file."
    schema: str | None = None  # a subclass fixes the kind of sheet (import_customers)
    # System checks import every URLconf and view (DRF, the schema generator): memory an import does not use (the
    # figure and how to measure it: bench/README.md). `migrate` and the web server run them.
    requires_system_checks: list[str] = []

    own_process = False
    flags: dict[str, str] = {}  # how a subclass spells an option's flag instead of `_flag(name)`

    def run_from_argv(self, argv: list[str]) -> None:
        """`manage.py import_customers`: the command is the whole process, so it may set process limits (not when
        other code calls it with call_command)."""
        self.own_process = True
        super().run_from_argv(argv)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        if self.schema is None:
            parser.add_argument("--schema", required=True, choices=[schema.name for schema in schemas()])
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.CREATE)
        parser.add_argument("--dry-run", action="store_true", help="Classify every row; write nothing.")
        parser.add_argument("--sheet", help="Worksheet name (default: the first visible sheet).")
        parser.add_argument("--batch-size", type=int, help="Rows per transaction (default: IMPORT_BATCH_SIZE).")
        for name, specs in schema_options().items():
            _add_option(parser, name, specs)
        parser.add_argument(
            "--user", help="Username recorded as the importer; the import is refused unless that user may make it."
        )
        parser.add_argument("--errors", type=Path, help="Write the failed rows to this .xlsx or .csv file.")
        parser.add_argument("--json", action="store_true", help="End with a one-line JSON summary on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = self._user(options["user"])
        submission = self._submission(options, user)
        if self.own_process:
            # Like the worker: a file too big for the box's memory fails this import, not the box.
            configure_import_process()
        started = time.perf_counter()
        try:
            stored = store_file(path)
        except ImportFileError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        job = create_job(stored, file_name=path.name, user=user, **submission)  # run here, not queued
        show_bar = sys.stderr.isatty() and not options["json"]

        def on_progress(progress: ImportProgress) -> None:
            if show_bar:
                self._bar(progress)

        job = execute_job(job, on_progress=on_progress, batch_size=options["batch_size"])
        if show_bar:
            sys.stderr.write("\n")
        if job.status == ImportStatus.FAILED:
            raise CommandError(f"{job.error_message} [{job.error_code}] (job {job.pk})")
        if options["errors"] and job.failed:
            from primepre.imports.report import write_error_report  # xlsxwriter: only when asked for

            write_error_report(job, options["errors"])
        wall = time.perf_counter() - started
        self._summary(job, wall, options)

    def _user(self, username: str | None) -> Any:
        """The importer named by --user; None without it (the operator: no role applies)."""
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        return user

    def _submission(self, options: dict[str, Any], user: Any) -> Submission:
        """The options through the rules every way in shares (`options.check_options`: the API's checks and
        messages; argparse has typed each value), then the importer's permissions for them
        (`jobs.authorize_submit`), before anything is stored."""
        values = {
            "schema": self.schema or options["schema"],
            "mode": options["mode"],
            "preview": options["dry_run"],
            "sheet": options["sheet"] or None,  # as the API: a blank value is "not given"
        }
        values.update({name: options[name] for name in schema_options()})
        flags = {**FLAGS, **{name: self.flags.get(name, _flag(name)) for name in schema_options()}}
        try:
            submission = check_options(values)
            authorize_submit(user, submission["mode"], submission["options"], submission["schema"])
        except OptionsInvalid as exc:
            raise CommandError(f"{describe_option_errors(exc.errors, flags)} [validation_error]") from exc
        except JobRefused as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        return submission

    def _bar(self, progress: ImportProgress) -> None:
        width = 30
        percent = progress.percent or 0.0
        filled = int(width * percent / 100)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {percent:5.1f}% {progress.rows_read:,} rows "
            f"{progress.rows_per_second:,.0f} rows/s  created {progress.created:,} failed {progress.failed:,}"
        )
        sys.stderr.flush()

    def _summary(self, job: Any, wall: float, options: dict[str, Any]) -> None:
        summary = {
            "job": job.pk,
            "status": job.status,
            "read": job.rows_read,
            "created": job.created,
            "updated": job.updated,
            "unchanged": job.unchanged,
            "failed": job.failed,
            "seconds": round(job.seconds, 3),
            "rows_per_second": round(job.rows_per_second, 1),
            "wall_seconds": round(wall, 3),
        }
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        rows = [
            ("job", job.pk),
            ("status", job.status + (" (dry run: nothing written)" if job.dry_run else "")),
            ("sheet / format", f"{job.sheet_name or '-'} / {job.file_format}"),
            ("rows read", f"{job.rows_read:,}"),
            ("created", f"{job.created:,}"),
            ("updated", f"{job.updated:,}"),
            ("unchanged", f"{job.unchanged:,}"),
            ("failed", f"{job.failed:,}"),
            ("time", f"{job.seconds:.2f} s ({job.rows_per_second:,.0f} rows/s)"),
        ]
        if job.unknown_columns:
            rows.append(("ignored columns", ", ".join(job.unknown_columns)))
        if options["errors"] and job.failed:
            rows.append(("error file", str(options["errors"])))
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label.ljust(width)}  {value}")


def _add_option(parser: CommandParser, name: str, specs: list[OptionSpec]) -> None:
    """A schema's option as a flag: a tick, a choice or a text, typed as the API types it."""
    spec = specs[0]
    described = "; ".join(other.help for other in specs)
    if spec.kind == "bool":
        parser.add_argument(_flag(name), dest=name, action="store_true", default=None, help=described)
    elif spec.kind == "choice":
        choices = list(dict.fromkeys(value for other in specs for value, _ in other.choices))
        parser.add_argument(_flag(name), dest=name, choices=choices, help=described)
    else:
        parser.add_argument(_flag(name), dest=name, help=described)
