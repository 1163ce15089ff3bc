"""The import pipeline: reader → column mapping → row cleaning → in-file dedupe → batch writer, for any schema.

One pipeline for the CLI, the API, the UI and the tests; it knows nothing of HTTP, and nothing of what the rows are:
the job's schema (`imports/schema.py`) brings the fields, the cleaner and the writer. It yields a progress snapshot
after each committed batch. Each batch's rows, row errors, counters and checkpoint are one transaction, so a crash
loses at most the batch in flight and a resumed run starts right after the checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .columns import NO_HINTS, ColumnMapping, MissingColumns, RunHints, detect_columns
from .dedupe import InFileDedupe, KeyIndex
from .errors import ImportFileError
from .ledger import Batch, LeaseLost, record_batch, record_start, row_error_records, row_warning_records
from .models import ImportJob, progress_percent
from .process import MemoryBudget
from .readers import SheetRows, open_rows
from .schema import BatchWriter, ImportContext, ImportSchema, RowCleaner, get_schema
from .writer import BatchOutcome, Failure, OptimisticInsertRefused

__all__ = ["ImportCancelled", "ImportProgress", "LeaseLost", "run_import"]
logger = logging.getLogger("primepre.imports")


@dataclass(frozen=True)
class ImportProgress:
    job_id: int
    rows_read: int
    total_rows: int | None
    created: int
    updated: int
    unchanged: int
    failed: int
    checkpoint_row: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds else 0.0

    @property
    def percent(self) -> float | None:
        return progress_percent(self.rows_read, self.total_rows)


class ImportCancelled(Exception):
    """Raised between batches when the job was cancelled; everything committed so far stays committed."""


def _batches(rows: Iterable[tuple[int, tuple[Any, ...]]], size: int) -> Iterator[list[tuple[int, tuple[Any, ...]]]]:
    """Batches of `size` rows, after a short ramp (250, 500, 1,000 …) so the writer starts while the reader is still
    on the first rows: small files finish sooner, large ones do not notice."""
    iterator = iter(rows)
    current = min(size, 250)
    while batch := list(islice(iterator, current)):
        yield batch
        current = min(size, current * 2)


def _stored_mapping(job: ImportJob) -> dict[str, Any]:
    return job.options.get("columns") or {}


class _Producer(threading.Thread):
    """Reads, cleans and dedupes batches ahead of the writer.

    The writer spends much of its time waiting for the database, which releases the GIL; this thread uses that time.
    It owns the reader and the in-file index; the database is touched only by the calling thread.
    """

    _DONE = object()

    def __init__(
        self,
        rows: Iterable[tuple[int, tuple[Any, ...]]],
        *,
        cleaner: RowCleaner,
        dedupe: InFileDedupe,
        writer: BatchWriter,
        mapping: ColumnMapping,
        job: ImportJob,
        batch_size: int,
        budget: MemoryBudget,
        optional_fields: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(name="import-reader", daemon=True)
        self.optional_fields = optional_fields  # a row failing only on these could go in without them
        self.rows = rows
        self.cleaner = cleaner
        self.dedupe = dedupe
        self.writer = writer
        self.mapping = mapping
        self.job_id = job.pk
        self.resume_after = job.checkpoint_row
        self.rows_before = job.rows_read
        self.batch_size = batch_size
        self.budget = budget
        self.max_rows = settings.IMPORT_MAX_ROWS
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.stopping = threading.Event()

    def _put(self, item: Any) -> None:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        try:
            produced = self.rows_before
            for batch in _batches(self.rows, self.batch_size):
                if self.stopping.is_set():
                    return
                if self.resume_after and batch[0][0] <= self.resume_after:
                    # Committed before the crash: only rebuild the in-file index from these rows.
                    self._replay([item for item in batch if item[0] <= self.resume_after])
                    batch = [item for item in batch if item[0] > self.resume_after]
                    if not batch:
                        continue
                produced += len(batch)
                if produced > self.max_rows:
                    raise ImportFileError(
                        "too_many_rows",
                        f"The file has more than {self.max_rows:,} rows, the most one import takes. "
                        "Split it into parts.",
                        limit_rows=self.max_rows,
                    )
                self._put(self._prepare(batch))
                self.budget.check()
            self._put(self._DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which re-raises it
            self._put(exc)

    def _prepare(self, batch: list[tuple[int, tuple[Any, ...]]]) -> Batch:
        """Clean and dedupe a batch, and build ahead what the writer will send: its insert payload, the records of
        its failures."""
        failures: list[Failure] = []
        warnings: list[Failure] = []  # rows that go in without some invalid optional cells
        optional_only = 0
        clean_rows: list[Any] = []
        for number, values in batch:
            row, errors = self.cleaner.clean(number, values)
            if row is None:
                failures.append(Failure(number, values, errors))
                optional_only += bool(self.optional_fields) and all(
                    e.field in self.optional_fields or e.code in self.optional_fields for e in errors
                )
            else:
                clean_rows.append(row)
                if errors:
                    warnings.append(Failure(number, values, errors))
        clean_rows = self.dedupe.filter(clean_rows, failures)
        now = timezone.now()
        payload = self.writer.prepare(clean_rows, now)
        records = row_error_records(self.job_id, failures, self.mapping)
        batch_ = Batch(len(batch), batch[-1][0], clean_rows, failures, self.mapping, now, payload, records)
        batch_.warning_records = row_warning_records(self.job_id, warnings, self.mapping)
        batch_.optional_only = optional_only
        return batch_

    def _replay(self, batch: list[tuple[int, tuple[Any, ...]]]) -> None:
        clean = (self.cleaner.clean(number, values) for number, values in batch)
        self.dedupe.filter([row for row, _ in clean if row is not None], [])

    def batches(self) -> Iterator[Batch]:
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    @contextlib.contextmanager
    def running(self) -> Iterator[_Producer]:
        """Started here and stopped on the way out, whatever ends the import (so a thread that never started is
        never joined, and the error the import unwinds with is the one that is raised)."""
        self.start()
        try:
            yield self
        finally:
            self.stopping.set()
            self.join(timeout=30)


def _context(job: ImportJob) -> ImportContext:
    return ImportContext(
        job_id=job.pk,
        user_id=job.created_by_id,
        mode=job.mode,
        dry_run=job.dry_run,
        options=job.options,
        region=settings.DEFAULT_PHONE_REGION,
        tallies=job.tallies,
    )


def run_import(
    job: ImportJob,
    path: Path,
    *,
    batch_size: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    hints: RunHints = NO_HINTS,
) -> Iterator[ImportProgress]:
    """Run (or resume) `job` on the file at `path`, yielding progress after every committed batch. `hints`: what the
    run knows of the file beyond its rows (its sheets, the user's saved mappings), for the column mapping.

    Raises ImportFileError for a file-level problem (nothing is written then, unless it is found mid-file, in which
    case the batches before it stay committed and the checkpoint says where it stopped).
    """
    clock = _Clock(job.seconds)  # from the first byte read: opening and mapping the file count too
    schema, context, budget = get_schema(job.schema), _context(job), MemoryBudget()
    resumed = job.checkpoint_row > 0
    with contextlib.ExitStack() as stack:
        table: SheetRows = open_rows(path, sheet=job.options.get("sheet") or None, file_format=job.file_format or None)
        stack.callback(table.close)
        mapping, leftovers = _map_columns(job, table, schema, context, hints)
        budget.check()  # opening the file may have loaded a whole sheet
        total = _total_rows(table, mapping, leftovers)
        record_start(job, table, mapping, total)
        _log_start(job, table, total)
        index = KeyIndex([key.attr for key in schema.dedupe_keys])
        stack.callback(index.close)
        writer = schema.writer(context)
        producer = _Producer(
            chain(leftovers, table.rows),
            cleaner=schema.cleaner(mapping.fields, context),
            dedupe=InFileDedupe(index, schema.dedupe_keys),
            writer=writer,
            mapping=mapping,
            job=job,
            batch_size=batch_size or int(job.options.get("batch_size") or settings.IMPORT_BATCH_SIZE),
            budget=budget,
            optional_fields=_optional_fields(job, schema),
        )
        stack.enter_context(bulk_write_session())
        for batch in stack.enter_context(producer.running()).batches():
            if should_stop is not None and should_stop():
                raise ImportCancelled()
            _write_batch(job, batch, writer, clock)
            budget.check()
            yield _progress(job, total)
        _check_not_empty(job, schema, resumed)


def _map_columns(
    job: ImportJob, table: SheetRows, schema: ImportSchema, context: ImportContext, hints: RunHints
) -> tuple[ColumnMapping, list[tuple[int, Any]]]:
    """The file's columns and the data rows read while finding them; a file missing a required column is recorded
    with its columns (the review offers them to choose from) before MissingColumns goes up."""
    try:
        return detect_columns(
            table.rows,
            schema,
            region=context.region,
            options=job.options,
            overrides=_stored_mapping(job),
            hints=hints,
        )
    except MissingColumns as exc:
        record_start(job, table, exc.mapping, None)
        raise


def _optional_fields(job: ImportJob, schema: ImportSchema) -> frozenset[str]:
    """The fields and error codes a row failing only on them is counted for (the review offers to let such rows in
    with a warning): none once the job already does. Field names and codes do not overlap (`email`, `cbm_mismatch`)."""
    if job.options.get("invalid_optional") == "import_without":
        return frozenset()
    return schema.optional_fields | schema.warnable_codes


def _total_rows(table: SheetRows, mapping: ColumnMapping, leftovers: list[tuple[int, Any]]) -> int | None:
    if table.last_row is None:
        return None
    first_data_row = (mapping.header_row + 1) if mapping.header_row is not None else leftovers[0][0]
    return max(0, table.last_row - first_data_row + 1)


def _check_not_empty(job: ImportJob, schema: ImportSchema, resumed: bool) -> None:
    if job.rows_read == 0 and not resumed:
        raise ImportFileError("no_rows", f"The file has a header but no {schema.rows_noun}.")


def _log_start(job: ImportJob, table: SheetRows, total: int | None) -> None:
    logger.info(
        "[IMPORT-START] job=%s schema=%s file=%s format=%s reader=%s sheet=%s rows=%s mode=%s dry_run=%s "
        "resume_after=%s",
        job.pk,
        job.schema,
        job.file_name,
        table.file_format,
        table.reader,
        table.sheet_name or "-",
        total if total is not None else "?",
        job.mode,
        job.dry_run,
        job.checkpoint_row,
    )


# For the length of an import on its connection. SQLite: a bigger page cache (the unique indexes of 100k rows
# outgrow the default 2 MB, and every batch re-reads their pages) and fewer WAL checkpoints (each one copies the
# pages a batch touched back into the database file, and the same index pages are touched by every batch).
# bench/db_costs.py measures 2,000-row committed batches of 100k rows with and without them; the memory is at most
# 6 MB more (an 8 MB cache instead of 2 MB).
_SQLITE_BULK_PRAGMAS = {"cache_size": -8_000, "wal_autocheckpoint": 10_000}


def _tune_connection_for_bulk_writes() -> dict[str, Any]:
    if connection.vendor == "postgresql":
        # Every batch's checkpoint commits with the rows it describes, so a commit lost in a server crash loses both
        # and the resumed job redoes them: waiting for each batch's WAL flush buys nothing. For the session, not per
        # batch: one round trip less per batch.
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
        return {"synchronous_commit": None}
    if connection.vendor != "sqlite":
        return {}
    before = {}
    with connection.cursor() as cursor:
        for name, value in _SQLITE_BULK_PRAGMAS.items():
            cursor.execute(f"PRAGMA {name}")
            before[name] = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA {name} = {int(value)}")
    return before


@contextlib.contextmanager
def bulk_write_session() -> Iterator[None]:
    """The connection tuned for the length of an import, and given back its own settings after."""
    before = _tune_connection_for_bulk_writes()
    try:
        yield
    finally:
        _restore_connection(before)


def _restore_connection(before: dict[str, Any]) -> None:
    """Back to the connection's own settings; never masks the error an import is unwinding with."""
    if not before or connection.connection is None:
        return
    with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
        for name, value in before.items():
            if connection.vendor == "postgresql":
                cursor.execute(f"RESET {name}")
            else:
                cursor.execute(f"PRAGMA {name} = {int(value)}")


class _Clock:
    """Seconds spent on the job: earlier runs (before a crash or a preview) plus this one so far."""

    def __init__(self, earlier: float) -> None:
        self.earlier = earlier
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return self.earlier + time.perf_counter() - self.started


_COUNTERS = ("rows_read", "created", "updated", "unchanged", "failed", "checkpoint_row", "seconds")
BATCH_ATTEMPTS = 3


def _is_deadlock(exc: BaseException) -> bool:
    """PostgreSQL aborts one of two transactions that wait on each other's unique-index entries."""
    import psycopg

    causes = [exc, exc.__cause__]
    return any(
        isinstance(cause, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)) for cause in causes
    )


def _write_batch(job: ImportJob, batch: Batch, writer: BatchWriter, clock: _Clock) -> None:
    """Write one batch in one transaction; a deadlock with a concurrent import rolls it back and it is retried."""
    optimistic = True
    attempt = 0
    while True:
        attempt += 1
        before = {name: getattr(job, name) for name in _COUNTERS}
        now = batch.now or timezone.now()
        try:
            with transaction.atomic():
                outcome = (
                    writer.write(batch.clean_rows, now, batch.payload, optimistic=optimistic)
                    if batch.clean_rows
                    else BatchOutcome()
                )
                record_batch(job, batch, outcome, now, clock.seconds())
            return
        except OptimisticInsertRefused:
            for name, value in before.items():
                setattr(job, name, value)
            optimistic, attempt = False, attempt - 1  # the same batch, matched first: not a retry
            continue
        except Exception as exc:
            for name, value in before.items():
                setattr(job, name, value)
            if attempt >= BATCH_ATTEMPTS or not _is_deadlock(exc):
                raise
            logger.warning(
                "[IMPORT-RETRY] job=%s last_row=%s attempt=%s reason=deadlock", job.pk, batch.last_row, attempt
            )
            time.sleep(0.05 * attempt)


def _progress(job: ImportJob, total: int | None) -> ImportProgress:
    progress = ImportProgress(
        job_id=job.pk,
        rows_read=job.rows_read,
        total_rows=total,
        created=job.created,
        updated=job.updated,
        unchanged=job.unchanged,
        failed=job.failed,
        checkpoint_row=job.checkpoint_row,
        seconds=job.seconds,
    )
    logger.info(
        "[IMPORT-PROGRESS] job=%s rows=%s/%s created=%s updated=%s unchanged=%s failed=%s rows_per_s=%.0f",
        job.pk,
        progress.rows_read,
        total if total is not None else "?",
        job.created,
        job.updated,
        job.unchanged,
        job.failed,
        progress.rows_per_second,
    )
    return progress
