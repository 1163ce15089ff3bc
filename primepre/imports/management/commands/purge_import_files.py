"""`python manage.py purge_import_files`: delete uploaded spreadsheets kept longer than IMPORT_FILE_RETENTION_DAYS
(the import worker does it every hour; this is for a cron or by hand)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from primepre.imports.retention import purge_import_files


class Command(BaseCommand):
    help = "Delete the stored files of imports that ended more than IMPORT_FILE_RETENTION_DAYS ago."
    requires_system_checks: list[str] = []  # as the worker: no need to import every view to delete files

    def handle(self, *args: Any, **options: Any) -> None:
        result = purge_import_files()
        self.stdout.write(
            f"[IMPORT-PURGE] files={result.files} bytes={result.bytes} jobs={result.jobs} "
            f"retention_days={settings.IMPORT_FILE_RETENTION_DAYS}"
        )
