"""The import pipeline: reader → column mapping → row cleaning → in-file dedupe → batch writer.

One pipeline for the CLI, the API, the UI and the tests; it knows nothing of HTTP. It yields a progress snapshot
after each committed batch. Each batch's customers, row errors, counters and checkpoint are one transaction, so a
crash loses at most the batch in flight and a resumed run starts right after the checkpoint.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import queue
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .columns import ColumnMapping, detect_columns
from .dedupe import KeyIndex
from .errors import ImportFileError
from .models import ImportChange, ImportJob, ImportRowError
from .readers import SheetRows, open_rows
from .schema import CleanRow, MarkRule, RowCleaner, RowError
from .writer import BatchOutcome, BatchWriter, Failure, InsertPayload, MarkAllocator, OptimisticInsertRefused

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
        if not self.total_rows:
            return None
        return min(100.0, 100.0 * self.rows_read / self.total_rows)


class LeaseLost(Exception):
    """The job was handed to another worker (this one stalled): stop without writing anything more."""


class ImportCancelled(Exception):
    """Raised between batches when the job was cancelled; everything committed so far stays committed."""


# A failing row's cells are stored to show it and to build the error file. No field we import takes more than 254
# characters, so a longer cell is either too long anyway or in a column we ignore: keeping its start is enough, and
# keeps a page of failing rows small whatever the file held.
STORED_CELL_MAX_CHARS = 1000


def json_safe(value: Any) -> Any:
    """A cell as stored with its row's errors. PostgreSQL's jsonb refuses NUL characters, so they become U+FFFD."""
    if type(value) is str:
        if len(value) > STORED_CELL_MAX_CHARS:
            value = value[: STORED_CELL_MAX_CHARS - 1] + "…"
        return value if "\x00" not in value else value.replace("\x00", "\ufffd")
    if value is None or isinstance(value, (int, float, bool)):
        return value
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return json_safe(str(value))


class MemoryBudget:
    """IMPORT_MAX_RSS_MB, checked between batches: an import whose process grows by more than that since the import
    started fails with `memory_limit` (the worker stays up, the queue moves on) instead of growing until the kernel
    kills a process on the box. Growth, not the total, so the check means the same in the worker, the CLI, and a
    process that runs imports among other work (the tests, the immediate task backend).

    The process's resident memory is read from /proc (Linux; elsewhere the check is off): a few microseconds, so it
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
                "Save the customer columns as .csv, or split the file, and upload it again.",
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


def _batches(rows: Iterable[tuple[int, tuple[Any, ...]]], size: int) -> Iterator[list[tuple[int, tuple[Any, ...]]]]:
    """Batches of `size` rows, after a short ramp (250, 500, 1,000 …) so the writer starts while the reader is still
    on the first rows: small files finish sooner, large ones do not notice."""
    iterator = iter(rows)
    current = min(size, 250)
    while batch := list(islice(iterator, current)):
        yield batch
        current = min(size, current * 2)


class InFileDedupe:
    """First occurrence wins: a later row with the same phone, mark or email fails with `duplicate_in_file`."""

    LABELS = {"phone": "phone number", "mark_key": "shipping mark", "email": "email"}
    FIELDS = {"phone": "phone", "mark_key": "shipping_mark", "email": "email"}

    def __init__(self, index: KeyIndex, mapping: ColumnMapping) -> None:
        self.index = index
        self.mapping = mapping

    def filter(self, rows: list[CleanRow], failures: list[Failure]) -> list[CleanRow]:
        keys = {
            "phone": [row.phone for row in rows],
            "mark_key": [row.mark_key for row in rows if row.mark_key],
            "email": [row.email for row in rows if row.email],
        }
        earlier = {kind: self.index.find(kind, values) for kind, values in keys.items()}
        batch_seen: dict[str, dict[str, int]] = {kind: {} for kind in keys}
        accepted: list[CleanRow] = []
        for row in rows:
            errors = []
            for kind in ("phone", "mark_key", "email"):
                key = getattr(row, kind)
                if not key:
                    continue
                first = earlier[kind].get(key) or batch_seen[kind].get(key)
                if first is not None:
                    field = self.FIELDS[kind]
                    errors.append(
                        RowError(
                            self.mapping.header_for(field),
                            field,
                            "duplicate_in_file",
                            f"Same {self.LABELS[kind]} as row {first} of this file.",
                        )
                    )
            if errors:
                failures.append(Failure(row.row_number, row.values, errors))
                continue
            for kind in ("phone", "mark_key", "email"):
                key = getattr(row, kind)
                if key:
                    batch_seen[kind][key] = row.row_number
            accepted.append(row)
        for kind, seen in batch_seen.items():
            if seen:
                self.index.add(kind, list(seen.items()))
        self.index.rows_added(len(rows))
        return accepted


def _stored_mapping(job: ImportJob) -> dict[str, Any]:
    return job.options.get("columns") or {}


@dataclass
class _Prepared:
    """A batch after cleaning and in-file dedupe, ready for the writer."""

    rows_in_batch: int
    last_row: int
    clean_rows: list[CleanRow]
    failures: list[Failure]
    now: dt.datetime | None = None  # the batch's created_at/updated_at, fixed when its insert payload was built
    payload: InsertPayload | None = None
    error_records: list[ImportRowError] = field(default_factory=list)  # for `failures`, built ahead


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
        batch_size: int,
        cleaner: RowCleaner,
        dedupe: InFileDedupe,
        writer: BatchWriter,
        resume_after: int,
        rows_before: int,
        max_rows: int,
        budget: MemoryBudget,
    ) -> None:
        super().__init__(name="import-reader", daemon=True)
        self.rows = rows
        self.batch_size = batch_size
        self.cleaner = cleaner
        self.writer = writer
        self.dedupe = dedupe
        self.resume_after = resume_after
        self.rows_before = rows_before
        self.max_rows = max_rows
        self.budget = budget
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
                    _replay([item for item in batch if item[0] <= self.resume_after], self.cleaner, self.dedupe)
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
                failures: list[Failure] = []
                clean_rows: list[CleanRow] = []
                for number, values in batch:
                    row, errors = self.cleaner.clean(number, values)
                    if row is None:
                        failures.append(Failure(number, values, errors))
                    else:
                        clean_rows.append(row)
                clean_rows = self.dedupe.filter(clean_rows, failures)
                now = timezone.now()
                payload = self.writer.prepare(clean_rows, now)
                errors = _row_errors(self.writer.job_id, failures)
                self.budget.check()
                self._put(_Prepared(len(batch), batch[-1][0], clean_rows, failures, now, payload, errors))
            self._put(self._DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which re-raises it
            self._put(exc)

    def batches(self) -> Iterator[_Prepared]:
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=30)


def run_import(
    job: ImportJob,
    path: Path,
    *,
    batch_size: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[ImportProgress]:
    """Run (or resume) `job` on the file at `path`, yielding progress after every committed batch.

    Raises ImportFileError for a file-level problem (nothing is written then, unless it is found mid-file, in which
    case the batches before it stay committed and the checkpoint says where it stopped).
    """
    clock = _Clock(job.seconds)  # from the first byte read: opening and mapping the file count too
    batch_size = batch_size or int(job.options.get("batch_size") or settings.IMPORT_BATCH_SIZE)
    region = settings.DEFAULT_PHONE_REGION
    generate_marks = job.options.get("missing_mark") == "generate"
    budget = MemoryBudget()
    table: SheetRows = open_rows(path, sheet=job.options.get("sheet") or None, file_format=job.file_format or None)
    index = KeyIndex()
    producer: _Producer | None = None
    tuned: dict[str, Any] = {}
    try:
        mapping, leftovers = detect_columns(
            table.rows, region=region, generate_marks=generate_marks, overrides=_stored_mapping(job)
        )
        budget.check()  # opening the file may have loaded a whole sheet
        first_data_row = (mapping.header_row + 1) if mapping.header_row is not None else leftovers[0][0]
        total = None if table.last_row is None else max(0, table.last_row - first_data_row + 1)
        resume_after = job.checkpoint_row
        _record_start(job, table, mapping, total)
        cleaner = RowCleaner(mapping, region=region, generate_marks=generate_marks)
        rule = MarkRule(job.options.get("mark_rule") or settings.IMPORT_MARK_RULE) if generate_marks else None
        writer = BatchWriter(
            mode=job.mode,
            dry_run=job.dry_run,
            job_id=job.pk,
            user_id=job.created_by_id,
            mapping=mapping,
            allocator=MarkAllocator(rule) if rule else None,
        )
        logger.info(
            "[IMPORT-START] job=%s file=%s format=%s reader=%s sheet=%s rows=%s mode=%s dry_run=%s resume_after=%s",
            job.pk,
            job.file_name,
            table.file_format,
            table.reader,
            table.sheet_name or "-",
            total if total is not None else "?",
            job.mode,
            job.dry_run,
            resume_after,
        )
        producer = _Producer(
            chain(leftovers, table.rows),
            batch_size=batch_size,
            cleaner=cleaner,
            dedupe=InFileDedupe(index, mapping),
            writer=writer,
            resume_after=resume_after,
            rows_before=job.rows_read,
            max_rows=settings.IMPORT_MAX_ROWS,
            budget=budget,
        )
        # The writer waits on the database ~1,000 times per 100k rows; with Python's default 5 ms switch interval
        # each wake-up can queue behind the reader thread holding the GIL. At 0.1 ms the writer gets back to the
        # database promptly (make bench was fastest at 0.1 of 0.5, 0.1 and 0.05 ms).
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(switch_interval, 0.0001))
        tuned = _tune_connection_for_bulk_writes()
        producer.start()
        for prepared in producer.batches():
            if should_stop is not None and should_stop():
                raise ImportCancelled()
            _write_batch(job, prepared, writer, clock)
            budget.check()
            progress = _progress(job, total)
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
            yield progress
        if job.rows_read == 0 and not resume_after:
            raise ImportFileError("no_rows", "The file has a header but no customer rows.")
    finally:
        if producer is not None:
            producer.stop()
            sys.setswitchinterval(switch_interval)
        _restore_connection(tuned)
        table.close()
        index.close()


# For the length of an import on its connection. SQLite: a bigger page cache (the unique indexes of 100k customers
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


def _record_start(job: ImportJob, table: SheetRows, mapping: ColumnMapping, total: int | None) -> None:
    job.sheet_name = table.sheet_name
    job.file_format = table.file_format
    job.header_row = mapping.header_row
    job.column_mapping = mapping.as_json()
    job.unknown_columns = mapping.unknown
    job.total_rows = total
    ImportJob.objects.filter(pk=job.pk).update(
        sheet_name=job.sheet_name,
        file_format=job.file_format,
        header_row=job.header_row,
        column_mapping=job.column_mapping,
        unknown_columns=job.unknown_columns,
        total_rows=total,
    )


def _replay(batch: list[tuple[int, tuple[Any, ...]]], cleaner: RowCleaner, dedupe: InFileDedupe) -> None:
    clean_rows = [row for row, _ in (cleaner.clean(number, values) for number, values in batch) if row is not None]
    dedupe.filter(clean_rows, [])


_COUNTERS = ("rows_read", "created", "updated", "unchanged", "failed", "checkpoint_row", "seconds")
BATCH_ATTEMPTS = 3


def _is_deadlock(exc: BaseException) -> bool:
    """PostgreSQL aborts one of two transactions that wait on each other's unique-index entries."""
    import psycopg

    causes = [exc, exc.__cause__]
    return any(
        isinstance(cause, (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)) for cause in causes
    )


def _write_batch(job: ImportJob, prepared: _Prepared, writer: BatchWriter, clock: _Clock) -> None:
    """Write one batch in one transaction; a deadlock with a concurrent import rolls it back and it is retried."""
    optimistic = True
    attempt = 0
    while True:
        attempt += 1
        before = {name: getattr(job, name) for name in _COUNTERS}
        now = prepared.now or timezone.now()
        try:
            with transaction.atomic():
                outcome = (
                    writer.write(prepared.clean_rows, now, prepared.payload, optimistic=optimistic)
                    if prepared.clean_rows
                    else BatchOutcome()
                )
                failures = prepared.failures + outcome.failures
                _record_batch(job, prepared, outcome, failures, now, clock.seconds())
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
                "[IMPORT-RETRY] job=%s last_row=%s attempt=%s reason=deadlock", job.pk, prepared.last_row, attempt
            )
            time.sleep(0.05 * attempt)


def _row_errors(job_id: int, failures: list[Failure]) -> list[ImportRowError]:
    return [
        ImportRowError(
            job_id=job_id,
            row_number=failure.row_number,
            errors=[error.as_dict() for error in failure.errors],
            # The readers refuse wider rows; the cut keeps what a job stores bounded whoever calls this.
            values=[json_safe(value) for value in failure.values[: settings.IMPORT_MAX_COLUMNS]],
        )
        for failure in failures
    ]


def _record_batch(
    job: ImportJob,
    prepared: _Prepared,
    outcome: BatchOutcome,
    failures: list[Failure],
    now: dt.datetime,
    seconds: float,
) -> None:
    # The cleaning thread built the records of the failures it found; the writer adds those it found itself.
    records = prepared.error_records + _row_errors(job.pk, failures[len(prepared.failures) :])
    records.sort(key=lambda record: record.row_number)
    counts = {
        "rows_read": job.rows_read + prepared.rows_in_batch,
        "created": job.created + len(outcome.created),
        "updated": job.updated + len(outcome.updates),
        "unchanged": job.unchanged + outcome.unchanged,
        "failed": job.failed + len(failures),
        "checkpoint_row": prepared.last_row,
        "seconds": seconds,
    }
    if connection.vendor == "postgresql" and not outcome.updates:
        matched = _record_in_one_statement(job, records, counts, now)
    else:
        if records:
            for record in records:
                record.pk = None  # a batch retried after a deadlock: the ids of the rolled-back attempt are not ours
            ImportRowError.objects.bulk_create(records, batch_size=1000)
        if outcome.updates and not job.dry_run:
            ImportChange.objects.bulk_create(
                [
                    ImportChange(
                        job_id=job.pk,
                        customer_id=update.customer_id,
                        row_number=update.row.row_number,
                        before=update.before,
                        after_updated_at=now,
                    )
                    for update in outcome.updates
                ],
                batch_size=1000,
            )
        lease = ImportJob.objects.filter(pk=job.pk)
        if job.worker_token:  # the CLI runs a job without a worker lease
            lease = lease.filter(worker_token=job.worker_token)
        matched = lease.update(heartbeat_at=now, **counts)
    if not matched:
        raise LeaseLost()
    for name, value in counts.items():
        setattr(job, name, value)


def _record_in_one_statement(
    job: ImportJob, records: list[ImportRowError], counts: dict[str, Any], now: dt.datetime
) -> int:
    """PostgreSQL: the batch's row errors and the job's counts, checkpoint and heartbeat in one statement (a
    data-modifying CTE): one round trip instead of two, and each round trip of the writer also waits for the GIL the
    cleaning thread holds. Like the ORM path, the UPDATE matches only while this worker holds the job's lease."""
    errors = json.dumps(
        [{"row_number": r.row_number, "errors": r.errors, "values": r.values} for r in records], ensure_ascii=False
    )
    lease = " AND worker_token = %s" if job.worker_token else ""
    assignments = ", ".join(f"{name} = %s" for name in ("heartbeat_at", *counts))
    errors_table, jobs_table = ImportRowError._meta.db_table, ImportJob._meta.db_table
    sql = (
        f'WITH errors AS (INSERT INTO {errors_table} (job_id, row_number, errors, "values") '  # noqa: S608 - our names
        'SELECT %s, r.row_number, r.errors, r."values" '
        'FROM jsonb_to_recordset(%s::jsonb) AS r(row_number integer, errors jsonb, "values" jsonb)) '
        f"UPDATE {jobs_table} SET {assignments} WHERE id = %s{lease}"
    )
    params = [job.pk, errors, now, *counts.values(), job.pk]
    if job.worker_token:
        params.append(job.worker_token)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _progress(job: ImportJob, total: int | None) -> ImportProgress:
    return ImportProgress(
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
