"""`python manage.py import_customers FILE`: `import_sheet --schema customers FILE`, under the name operators and
scripts have used since the first import, with its `--generate-marks` (the `missing_mark generate` option)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from .import_sheet import Command as ImportSheet


class Command(ImportSheet):
    help = "Import customers from an .xlsx/.xls/.ods/.csv/.json file (import_sheet --schema customers)."
    schema = "customers"
    flags = {"missing_mark": "--generate-marks"}

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--generate-marks", action="store_true", help="Generate a shipping mark where the file has none."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.pop("generate_marks"):
            options["missing_mark"] = "generate"
        super().handle(*args, **options)
