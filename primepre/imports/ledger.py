"""A batch's bookkeeping, written in the batch's own transaction: its row errors (with the columns they are in), the
undo records of what it changed, and the job's counters, checkpoint and heartbeat under the worker's lease. Also what
a run records when it starts (the file's sheet, header and mapping)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from .columns import ColumnMapping
from .models import ImportChange, ImportJob, ImportRowError, ImportRowWarning
from .readers import SheetRows
from .schema import get_schema
from .writer import BatchOutcome, Failure, InsertPayload


class LeaseLost(Exception):
    """The job was handed to another worker (this one stalled), or undone: stop without writing anything more."""


@dataclass
class Batch:
    """A batch after cleaning and in-file dedupe, ready for the writer."""

    rows_in_batch: int
    last_row: int
    clean_rows: list[Any]
    failures: list[Failure]
    mapping: ColumnMapping
    now: dt.datetime | None = None  # the batch's created_at/updated_at, fixed when its insert payload was built
    payload: InsertPayload | None = None
    error_records: list[ErrorRecord] = field(default_factory=list)  # for `failures`, built ahead
    # Rows imported without some invalid optional cells, built ahead; those the writer then fails are dropped.
    warning_records: list[ImportRowWarning] = field(default_factory=list)
    optional_only: int = 0  # rows failing only on optional cells: the review offers to import them without


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


def record_start(job: ImportJob, table: SheetRows, mapping: ColumnMapping, total: int | None) -> None:
    """What the run found out about the file: its sheet, format, header and mapping, and how many rows it has."""
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


@dataclass(slots=True)
class ErrorRecord:
    """A failing row as stored (an `ImportRowError` without the model: building a model instance, with its init
    signals, cost as much as cleaning the row, and the PostgreSQL path sends JSON anyway)."""

    row_number: int
    errors: list[dict[str, str]]
    values: list[Any]

    def model(self, job_id: int) -> ImportRowError:
        return ImportRowError(job_id=job_id, row_number=self.row_number, errors=self.errors, values=self.values)


def row_error_records(job_id: int, failures: list[Failure], mapping: ColumnMapping) -> list[ErrorRecord]:
    """The failures as stored: each error with the column it is in, as the file names it (the one place columns are
    attached), and the row's cells, bounded."""
    column_of = functools.lru_cache(maxsize=None)(mapping.column_of)
    width = settings.IMPORT_MAX_COLUMNS  # the readers refuse wider rows; the cut bounds what a job stores anyway
    return [
        ErrorRecord(
            failure.row_number,
            [
                {"column": column_of(error.field), "field": error.field, "code": error.code, "message": error.message}
                for error in failure.errors
            ],
            [  # json_safe's own answer for the common cell (a short text), without the call
                value
                if type(value) is str and len(value) <= STORED_CELL_MAX_CHARS and "\x00" not in value
                else json_safe(value)
                for value in failure.values[:width]
            ],
        )
        for failure in failures
    ]


def row_warning_records(job_id: int, warnings: list[Failure], mapping: ColumnMapping) -> list[ImportRowWarning]:
    """Rows imported without some cells, as stored: each left-out cell with its column and the value it held."""
    records = []
    for warning in warnings:
        dropped = []
        for error in warning.errors:
            position = mapping.fields.get(error.field)
            value = warning.values[position] if position is not None and position < len(warning.values) else ""
            dropped.append(
                {
                    "column": mapping.column_of(error.field),
                    "field": error.field,
                    "code": error.code,
                    "message": error.message,
                    "value": json_safe(value),
                }
            )
        values = [json_safe(value) for value in warning.values[: settings.IMPORT_MAX_COLUMNS]]
        records.append(ImportRowWarning(job_id=job_id, row_number=warning.row_number, dropped=dropped, values=values))
    return records


def _kept_warnings(batch: Batch, failures: list[Failure]) -> list[ImportRowWarning]:
    """The batch's warnings of rows that went in: a row the dedupe or the writer failed is a failure, not a warning."""
    if not batch.warning_records:
        return []
    failed = {failure.row_number for failure in failures}
    return [record for record in batch.warning_records if record.row_number not in failed]


def record_batch(job: ImportJob, batch: Batch, outcome: BatchOutcome, now: dt.datetime, seconds: float) -> None:
    """In the batch's transaction: its row errors, the undo records of what it changed, the job's counters,
    checkpoint and heartbeat. Raises LeaseLost (rolling the batch back) when this run no longer holds the job."""
    failures = batch.failures + outcome.failures
    # The cleaning thread built the records of the failures it found; the writer adds those it found itself.
    records = batch.error_records + row_error_records(job.pk, outcome.failures, batch.mapping)
    records.sort(key=lambda record: record.row_number)
    counts = {
        "rows_read": job.rows_read + batch.rows_in_batch,
        "created": job.created + len(outcome.created),
        "updated": job.updated + len(outcome.updates),
        "unchanged": job.unchanged + outcome.unchanged,
        "failed": job.failed + len(failures),
        "checkpoint_row": batch.last_row,
        "seconds": seconds,
    }
    warnings = _kept_warnings(batch, failures)
    sample = _sample(job, outcome)
    if outcome.tallies or records or sample or warnings:
        failures_so_far = _failure_tallies(job.tallies, records, batch.optional_only) if records else {}
        warnings_so_far = _warning_tallies(job.tallies, warnings) if warnings else {}
        counts["tallies"] = {**job.tallies, **outcome.tallies, **failures_so_far, **warnings_so_far, **sample}
    if connection.vendor == "postgresql" and not outcome.updates and not warnings:
        matched = _record_in_one_statement(job, records, counts, now)
    else:
        for record in warnings:
            record.pk = None  # a batch retried after a deadlock: the ids of the rolled-back attempt are not ours
        _insert_row_errors(job.pk, records)
        ImportRowWarning.objects.bulk_create(warnings, batch_size=1000)
        if outcome.updates:
            _record_changes(job, outcome, now)
        lease = ImportJob.objects.filter(pk=job.pk)
        if job.worker_token:  # the CLI runs a job without a worker lease
            lease = lease.filter(worker_token=job.worker_token)
        matched = lease.update(heartbeat_at=now, **counts)
    if not matched:
        raise LeaseLost()
    for name, value in counts.items():
        setattr(job, name, value)


SAMPLE_ROWS = 10


def _insert_row_errors(job_id: int, records: list[ErrorRecord]) -> None:
    """SQLite: one statement that unpacks the batch's failing rows from JSON itself, as `TableInserter` does for the
    rows (building a model instance per failing row, and its JSON per field, took the writer longer than the rows'
    own insert); elsewhere (PostgreSQL with updates or warnings in the batch) the ORM's bulk insert."""
    if not records:
        return
    if connection.vendor != "sqlite":
        ImportRowError.objects.bulk_create([record.model(job_id) for record in records], batch_size=1000)
        return
    # Each JSON field as the text Django's JSONField stores on SQLite (`json.dumps`, ASCII-escaped), which the review's
    # filter by kind of error matches on; the statement's JSON only carries those texts.
    rows = json.dumps([[r.row_number, json.dumps(r.errors), json.dumps(r.values)] for r in records])
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO {ImportRowError._meta.db_table} (job_id, row_number, errors, "values") '  # noqa: S608
            "SELECT %s, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]') "
            "FROM json_each(%s)",
            [job_id, rows],
        )


def _sample(job: ImportJob, outcome: BatchOutcome) -> dict[str, Any]:
    """A preview keeps its first rows that will go in, as they will be stored (normalised phone, split names,
    generated marks …), so the review shows them; a real run keeps none."""
    have = job.tallies.get("sample") or []
    if not job.dry_run or len(have) >= SAMPLE_ROWS or not outcome.created:
        return {}
    schema = get_schema(job.schema)
    rows = [schema.stored_values(row) for row in outcome.created[: SAMPLE_ROWS - len(have)]]
    return {"sample": have + [{name: str(value) for name, value in row.items()} for row in rows]}


def _failure_tallies(tallies: dict[str, Any], records: list[ErrorRecord], optional_only: int) -> dict[str, Any]:
    """The failures so far summarised for the review: by code and column (`{"invalid_phone|Phone": 80}`), the
    rows that fail only because they are already in the database (`exists`), which a review counts apart, and those
    that fail only on optional cells (`optional_only`), which could go in without them."""
    by_kind = dict(tallies.get("errors") or {})
    already = tallies.get("already_exist", 0)
    for record in records:
        codes = set()
        for error in record.errors:
            kind = f"{error['code']}|{error['column']}"
            by_kind[kind] = by_kind.get(kind, 0) + 1
            codes.add(error["code"])
        already += codes == {"exists"}
    result = {"errors": by_kind, "already_exist": already}
    if optional_only or "optional_only" in tallies:
        result["optional_only"] = tallies.get("optional_only", 0) + optional_only
    return result


def _warning_tallies(tallies: dict[str, Any], warnings: list[ImportRowWarning]) -> dict[str, Any]:
    """Rows imported with cells left out, and the cells by code and column (`{"invalid_email|Email": 40}`)."""
    by_kind = dict(tallies.get("dropped") or {})
    for record in warnings:
        for cell in record.dropped:
            kind = f"{cell['code']}|{cell['column']}"
            by_kind[kind] = by_kind.get(kind, 0) + 1
    return {"warnings": tallies.get("warnings", 0) + len(warnings), "dropped": by_kind}


def _record_changes(job: ImportJob, outcome: BatchOutcome, now: dt.datetime) -> None:
    """What an update changes, before and after: for undo, and for the review's before → after (a preview records
    what it would change, without `after_updated_at`, which only undo reads)."""
    changes = [
        ImportChange(
            job_id=job.pk,
            schema=job.schema,
            record_id=update.target_id,
            row_number=update.row.row_number,
            before=update.before,
            after={name: json_safe(value) for name, value in update.changes.items()},
            after_updated_at=None if job.dry_run else now,
        )
        for update in outcome.updates
    ]
    ImportChange.objects.bulk_create(changes, batch_size=1000)


def _record_in_one_statement(
    job: ImportJob, records: list[ErrorRecord], counts: dict[str, Any], now: dt.datetime
) -> int:
    """PostgreSQL: the batch's row errors and the job's counts, checkpoint and heartbeat in one statement (a
    data-modifying CTE): one round trip instead of two, and each round trip of the writer also waits for the GIL the
    cleaning thread holds. Like the ORM path, the UPDATE matches only while this worker holds the job's lease."""
    errors = json.dumps(
        [{"row_number": r.row_number, "errors": r.errors, "values": r.values} for r in records], ensure_ascii=False
    )
    lease = " AND worker_token = %s" if job.worker_token else ""
    assignments = ", ".join(
        f"{name} = %s::jsonb" if name == "tallies" else f"{name} = %s" for name in ("heartbeat_at", *counts)
    )
    errors_table, jobs_table = ImportRowError._meta.db_table, ImportJob._meta.db_table
    sql = (
        f'WITH errors AS (INSERT INTO {errors_table} (job_id, row_number, errors, "values") '  # noqa: S608 - our names
        'SELECT %s, r.row_number, r.errors, r."values" '
        'FROM jsonb_to_recordset(%s::jsonb) AS r(row_number integer, errors jsonb, "values" jsonb)) '
        f"UPDATE {jobs_table} SET {assignments} WHERE id = %s{lease}"
    )
    values = [json.dumps(value) if name == "tallies" else value for name, value in counts.items()]
    params = [job.pk, errors, now, *values, job.pk]
    if job.worker_token:
        params.append(job.worker_token)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
