"""Import jobs and what they leave behind: row errors (for the error file) and before-values (for undo).

A job's counters, checkpoint and row errors are written in the same transaction as the batch of customers they
describe, so after a crash the job row tells exactly which file rows are committed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class ImportedRecord(models.Model):
    """What every model an import writes carries: the engine's inserter writes these columns after the schema's own
    (`IMPORT_COLUMNS`, in that order, values from `bookkeeping`), and undo deletes the job's rows that nobody changed
    since (`updated_at` still equal to `created_at`). Customer and GoodsReceipt inherit it; so does every later
    imported model."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_index=False,  # nobody searches records by creator; one index fewer to maintain on bulk imports
    )
    import_job = models.ForeignKey(
        "imports.ImportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        # No database FK: it would fire a trigger per imported row. The link is bookkeeping for undo (its index
        # serves undo); Django still sets it to NULL when a job is deleted.
        db_constraint=False,
        help_text="The import that created this record (undo deletes it if nobody changed it since).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    IMPORT_COLUMNS = ("created_by_id", "import_job_id", "created_at", "updated_at")

    class Meta:
        abstract = True

    @staticmethod
    def bookkeeping(user_id: int | None, job_id: int, stamp: object) -> tuple[object, ...]:
        """The values of `IMPORT_COLUMNS` for a batch's inserted rows: created and updated at the same moment."""
        return (user_id, job_id, stamp, stamp)


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PREVIEWED = "previewed", "Previewed"
    NEEDS_MAPPING = "needs_mapping", "Needs its columns chosen"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    UNDONE = "undone", "Undone"


# A worker holds (or is about to take) the job: progress moves, the page follows it live.
LIVE_STATUSES = frozenset({ImportStatus.QUEUED, ImportStatus.RUNNING})
# No worker holds the job: it moves again only when someone acts on it (a page's event stream ends here).
FINISHED_STATUSES = frozenset(ImportStatus) - LIVE_STATUSES
# Ended runs that may have written customers: what undo accepts.
UNDOABLE_STATUSES = frozenset({ImportStatus.SUCCEEDED, ImportStatus.CANCELLED, ImportStatus.FAILED})
# Runs that read the whole file: their progress is complete whatever the counters say.
COMPLETE_STATUSES = frozenset({ImportStatus.SUCCEEDED, ImportStatus.PREVIEWED, ImportStatus.UNDONE})


def progress_percent(rows_read: int, total_rows: int | None) -> float | None:
    """Rows read as a share of the file's rows, to one decimal; None while the file's length is unknown."""
    if not total_rows:
        return None
    return round(min(100.0, 100.0 * rows_read / total_rows), 1)


class ImportMode(models.TextChoices):
    CREATE = "create", "Create new records only"
    UPSERT = "upsert", "Create new and update existing records"


class ImportJob(models.Model):
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.QUEUED, db_index=True)
    # What the sheet holds: the name of a registered import schema (imports.schema.get_schema), e.g. customers.
    schema = models.CharField(max_length=20, default="customers")
    mode = models.CharField(max_length=8, choices=ImportMode.choices, default=ImportMode.CREATE)
    dry_run = models.BooleanField(default=False, help_text="Classify every row without writing anything.")
    options = models.JSONField(default=dict, blank=True)

    # The file, stored once by its sha256 through Django's storage.
    file = models.FileField(upload_to="imports/", max_length=300, blank=True)
    file_name = models.CharField(max_length=255, blank=True, help_text="The name the user uploaded.")
    file_size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    file_format = models.CharField(max_length=8, blank=True)
    sheet_name = models.CharField(max_length=255, blank=True)
    header_row = models.PositiveIntegerField(null=True, blank=True)
    column_mapping = models.JSONField(default=dict, blank=True)
    unknown_columns = models.JSONField(default=list, blank=True)

    # Counters: rows_read == created + updated + unchanged + failed, always (a check constraint holds it).
    total_rows = models.PositiveIntegerField(null=True, blank=True, help_text="Data rows in the file, when known.")
    rows_read = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # Figures of the run a kind of sheet adds to the counts (goods: lines left unidentified, receipt SMS a confirm
    # would send), written with the counts in each batch's transaction.
    tallies = models.JSONField(default=dict, blank=True)
    checkpoint_row = models.PositiveIntegerField(
        default=0, help_text="File row number of the last committed row; a resumed job starts after it."
    )

    error_code = models.CharField(max_length=40, blank=True, help_text="File-level failure, e.g. missing_columns.")
    error_message = models.TextField(blank=True)

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease of the worker running the job: a batch commits only while the token is still this worker's, and a
    # job whose heartbeat stops is handed to another worker (tasks.recover_stalled_jobs).
    worker_token = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When this run claimed the job. Every committed batch moves the heartbeat past it, so a run whose heartbeat is
    # still its claim time died while opening and reading its file, before writing anything: that is the file's
    # doing (a reader that aborts), and the job is failed `unreadable_file` instead of being tried again.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Runs started (claims): a job whose worker dies IMPORT_MAX_ATTEMPTS times ends failed (`worker_crashed`) instead
    # of being handed on for ever, so one poison file cannot hold the queue.
    attempts = models.PositiveSmallIntegerField(default=0)
    # Undo is recorded on the job it undid.
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_result = models.JSONField(null=True, blank=True)
    seconds = models.FloatField(default=0, help_text="Time spent processing rows, summed over runs of the job.")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("manage_all_imports", "Confirm, cancel, remap and undo other users' imports")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rows_read=F("created") + F("updated") + F("unchanged") + F("failed")),
                name="import_job_counts_reconcile",
            ),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.file_name} ({self.status})"

    @property
    def counts(self) -> dict[str, int]:
        return {
            "read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
        }

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def percent(self) -> float | None:
        """How far the run is: 100 once the whole file was read, 0 while queued, None while the length is unknown."""
        if self.status in COMPLETE_STATUSES:
            return 100.0
        if not self.total_rows and self.status == ImportStatus.QUEUED:
            return 0.0
        return progress_percent(self.rows_read, self.total_rows)

    @property
    def can_undo(self) -> bool:
        """Whether the job's state allows an undo (who may undo it is `jobs.may_undo`)."""
        return self.status in UNDOABLE_STATUSES and not self.dry_run and self.undone_at is None


class ImportRowError(models.Model):
    """One failing file row: all its errors, and its original cells so the error file can be fixed and re-imported."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(help_text="The row number the user sees in Excel.")
    errors = models.JSONField(help_text='[{"column": "Phone", "field": "phone", "code": "invalid_phone", "message"}]')
    values = models.JSONField(help_text="The row's original cells, in file column order.")

    class Meta:
        ordering = ["job", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="import_row_error_once_per_row")]

    def __str__(self) -> str:
        return f"Import #{self.job_id} row {self.row_number}"


class ImportRowWarning(models.Model):
    """A row let through with a warning (the `invalid_optional` option): customers, the invalid optional cells left
    out; goods, a CBM kept although it disagrees with the dimensions. `dropped` names each such cell, so the user can
    see it and fix the source. The row counts as created/updated, not failed."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_warnings")
    row_number = models.PositiveIntegerField(help_text="The row number the user sees in Excel.")
    dropped = models.JSONField(help_text='[{"column": "Email", "field": "email", "code": "invalid_email", "message"}]')
    values = models.JSONField(help_text="The row's original cells, in file column order.")

    class Meta:
        ordering = ["job", "row_number"]
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="import_row_warning_once_per_row")]

    def __str__(self) -> str:
        return f"Import #{self.job_id} row {self.row_number} (warning)"


class ImportChange(models.Model):
    """What an upsert changes on an existing record of any schema: `before` for undo, `after` for the before → after
    review. The record is the schema's `record_model` row `record_id` (no foreign key: one table serves every kind of
    sheet, and a change outlives a record deleted since, which the review shows as such). A preview (dry run) records
    the changes it would make, with no `after_updated_at`; undo reads real runs only."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="changes")
    schema = models.CharField(max_length=20, help_text="The kind of sheet whose record changed (its job's).")
    record_id = models.BigIntegerField(help_text="The changed record's primary key in the schema's record model.")
    row_number = models.PositiveIntegerField()
    before = models.JSONField(help_text="The changed fields' values before the import.")
    after = models.JSONField(default=dict, help_text="The same fields' values as the import writes them.")
    after_updated_at = models.DateTimeField(null=True, help_text="The record's updated_at as the import left it.")

    class Meta:
        ordering = ["job", "row_number"]
        indexes = [models.Index(fields=["schema", "record_id"], name="import_change_record")]

    def __str__(self) -> str:
        return f"Import #{self.job_id} changed {self.schema} record {self.record_id} (row {self.row_number})"


class SavedMapping(models.Model):
    """A column mapping a user corrected, remembered for the files whose header row is the same (`header_key`, the
    folded headers in order) and applied to the next such file of that user and kind of sheet, changeable there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    schema = models.CharField(max_length=20)
    header_key = models.CharField(max_length=64, help_text="sha256 of the folded header row (columns.header_key).")
    headers = models.JSONField(help_text="The header row as the file spelled it.")
    columns = models.JSONField(help_text='The column (0-based) of each field it imports: {"phone": 3, …}.')
    job = models.ForeignKey(
        ImportJob, null=True, on_delete=models.SET_NULL, related_name="+", help_text="The import it was corrected in."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "schema", "header_key"], name="saved_mapping_once_per_headers")
        ]

    def __str__(self) -> str:
        return f"Saved {self.schema} mapping #{self.pk} of user {self.user_id}"

    def about(self) -> dict[str, object]:
        """What a job that applies it says of it: "mapping from your import of <date>", with a link to that import."""
        when = self.job.created_at if self.job is not None else self.updated_at
        return {"id": self.pk, "job": self.job_id, "date": when.isoformat()}
