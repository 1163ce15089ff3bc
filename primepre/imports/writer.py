"""Batch writer: match a batch against the database with one query, decide each row's outcome, write the batch.

Outcomes: create, update (upsert only, changed fields only), unchanged, or a failure with a code (`exists`,
`conflict`). Inserts use `INSERT … ON CONFLICT DO NOTHING RETURNING` (on PostgreSQL fed by `COPY` into a temporary
table), so a row that another import inserted a moment ago is never a duplicate and never a 500: it is matched again
and classified against what is now there. Updates run in a savepoint and fall back to one savepoint per row if a
concurrent writer took a unique value.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from primepre.customers.marks import mark_key
from primepre.customers.models import Customer

from .columns import ColumnMapping
from .schema import UPDATABLE_FIELDS, CleanRow, MarkRule, RowError

MATCH_FIELDS = ("id", *UPDATABLE_FIELDS, "mark_key", "updated_at")
INSERT_COLUMNS = (
    *UPDATABLE_FIELDS,
    "mark_key",
    "created_by_id",
    "import_job_id",
    "created_at",
    "updated_at",
)
PHONE_COLUMN = INSERT_COLUMNS.index("phone")
BATCH_COLUMNS = 4  # created_by_id, import_job_id, created_at, updated_at: the same for every row of a batch
ROW_COLUMNS = len(INSERT_COLUMNS) - BATCH_COLUMNS
MAX_RACE_RETRIES = 3
SQLITE_JSON_ROWS = 500
logger = logging.getLogger("primepre.imports")


@dataclass(slots=True)
class Failure:
    row_number: int
    values: tuple[Any, ...]
    errors: list[RowError]


@dataclass(slots=True)
class Update:
    row: CleanRow
    customer_id: int
    changes: dict[str, Any]
    before: dict[str, Any]


@dataclass
class BatchOutcome:
    created: list[CleanRow] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)


class OptimisticInsertRefused(Exception):
    """The optimistic COPY of a create-mode batch hit a taken unique value; its transaction must be rolled back and
    the batch written again with `optimistic=False`."""


@dataclass(slots=True)
class InsertPayload:
    """A create-mode batch as the database will receive it, built ahead by the cleaning thread (see `prepare`)."""

    now: dt.datetime
    records: list[tuple[Any, ...]]
    data: str | list[str]  # COPY text (PostgreSQL) or JSON statements (SQLite)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _copy_text(records: list[tuple[Any, ...]]) -> str:
    """The records in COPY's text format, fast. The last four columns (user, job, timestamps) are the same for the
    whole batch; the text columns hold no tab, newline or carriage return (cleaning collapses whitespace), so a line
    needs escaping only if it holds a backslash, and the careful path handles anything unexpected."""
    if not records:
        return ""
    text_columns = ROW_COLUMNS
    tail = "\t" + "\t".join(_copy_value(value) for value in records[0][text_columns:])
    email = INSERT_COLUMNS.index("email")
    lines = []
    for record in records:
        head = list(record[:text_columns])
        no_email = head[email] is None
        if no_email:
            head[email] = ""
        try:
            line = "\t".join(head)
        except TypeError:  # a non-text value: the careful path
            line = "\\"
        if "\\" in line or "\n" in line or "\r" in line or line.count("\t") != text_columns - 1:
            line = "\t".join(_copy_value(value) for value in record[:text_columns])
        elif no_email:
            head[email] = "\\N"
            line = "\t".join(head)
        lines.append(line + tail)
    lines.append("")
    return "\n".join(lines)


def _json_statements(records: list[tuple[Any, ...]]) -> list[str]:
    """The records' own columns as JSON arrays of at most SQLITE_JSON_ROWS rows (SQLite's parse of a whole batch
    showed in peak memory); the columns every row of a batch shares are parameters of the statement."""
    return [
        json.dumps([record[:ROW_COLUMNS] for record in records[start : start + SQLITE_JSON_ROWS]], ensure_ascii=False)
        for start in range(0, len(records), SQLITE_JSON_ROWS)
    ]


class ExistingCustomers:
    """The customers matching a batch's phones, marks and emails: one query."""

    def __init__(self, rows: Sequence[CleanRow]) -> None:
        phones = [row.phone for row in rows]
        marks = [row.mark_key for row in rows if row.mark_key]
        emails = [row.email for row in rows if row.email]
        self.by_phone: dict[str, dict[str, Any]] = {}
        self.by_mark: dict[str, dict[str, Any]] = {}
        self.by_email: dict[str, dict[str, Any]] = {}
        for customer in self._query(phones, marks, emails):
            self.by_phone[customer["phone"]] = customer
            self.by_mark[customer["mark_key"]] = customer
            if customer["email"]:
                self.by_email[customer["email"]] = customer

    @staticmethod
    def _query(phones: list[str], marks: list[str], emails: list[str]) -> list[dict[str, Any]]:
        if connection.vendor == "postgresql":
            # Three array parameters instead of thousands of placeholders: PostgreSQL plans one BitmapOr.
            columns = ", ".join(MATCH_FIELDS)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {columns} FROM {Customer._meta.db_table} "  # noqa: S608 - names are ours
                    "WHERE phone = ANY(%s) OR mark_key = ANY(%s) OR email = ANY(%s)",
                    [phones, marks, emails],
                )
                return [dict(zip(MATCH_FIELDS, record, strict=True)) for record in cursor.fetchall()]
        condition = Q(phone__in=phones) | Q(mark_key__in=marks)
        if emails:
            condition |= Q(email__in=emails)
        return list(Customer.objects.filter(condition).values(*MATCH_FIELDS).order_by())


def _who(customer: dict[str, Any]) -> str:
    return f"{customer['shipping_mark']} ({customer['first_name']} {customer['last_name']})"


class MarkAllocator:
    """Unique generated marks: `PM KOFI`, then `PM KOFI 2`, `PM KOFI 3` … free in the database and among the marks
    this job generated. (A later row of the file that spells out a generated mark fails with `exists`, naming the
    customer the generated mark went to.)"""

    def __init__(self, rule: MarkRule) -> None:
        self.rule = rule
        self._taken: dict[str, set[str]] = {}

    def allocate(self, row: CleanRow) -> None:
        base = self.rule.base(row)
        base_key = mark_key(base)
        taken = self._taken.get(base_key)
        if taken is None:
            taken = set(Customer.objects.filter(mark_key__startswith=base_key).values_list("mark_key", flat=True))
            self._taken[base_key] = taken
        counter = 1
        while True:
            candidate = base if counter == 1 else f"{base} {counter}"
            key = mark_key(candidate)
            if key not in taken:
                break
            counter += 1
        taken.add(key)
        row.shipping_mark, row.mark_key = candidate, key


class BatchWriter:
    """Writes batches for one job. `dry_run` plans every outcome and writes nothing but the job's own records."""

    def __init__(
        self,
        *,
        mode: str,
        dry_run: bool,
        job_id: int,
        user_id: int | None,
        mapping: ColumnMapping,
        allocator: MarkAllocator | None,
    ) -> None:
        self.mode = mode
        self.dry_run = dry_run
        self.job_id = job_id
        self.user_id = user_id
        self.mapping = mapping
        self.allocator = allocator
        self.postgres = connection.vendor == "postgresql"

    # --- deciding -------------------------------------------------------------------------------------------------

    def _fail(self, row: CleanRow, field: str, code: str, message: str) -> Failure:
        return Failure(row.row_number, row.values, [RowError(self.mapping.header_for(field), field, code, message)])

    def classify(self, rows: Sequence[CleanRow], outcome: BatchOutcome) -> None:
        existing = ExistingCustomers(rows)
        targeted: dict[int, int] = {}  # customer id → row that updates it in this batch
        for row in rows:
            by_phone = existing.by_phone.get(row.phone)
            by_mark = existing.by_mark.get(row.mark_key) if row.mark_key else None
            by_email = existing.by_email.get(row.email) if row.email else None
            if by_phone and by_mark and by_phone["id"] != by_mark["id"]:
                outcome.failures.append(
                    self._fail(
                        row,
                        "phone",
                        "conflict",
                        f"The phone belongs to {_who(by_phone)} but the shipping mark to {_who(by_mark)}.",
                    )
                )
                continue
            target = by_phone or by_mark
            if self.mode == "create" and (target or by_email):
                outcome.failures.append(self._exists(row, by_phone, by_mark, by_email))
                continue
            if target is None:
                if by_email:
                    outcome.failures.append(
                        self._fail(row, "email", "exists", f"The email belongs to {_who(by_email)}.")
                    )
                    continue
                if row.mark_generated and self.allocator is not None:
                    self.allocator.allocate(row)
                outcome.created.append(row)
                continue
            if by_email and by_email["id"] != target["id"]:
                outcome.failures.append(
                    self._fail(row, "email", "exists", f"The email belongs to another customer, {_who(by_email)}.")
                )
                continue
            if target["id"] in targeted:
                outcome.failures.append(
                    self._fail(
                        row,
                        "phone",
                        "conflict",
                        f"Row {targeted[target['id']]} of this file already updates {_who(target)}.",
                    )
                )
                continue
            changes = {name: getattr(row, name) for name in row.provided() if getattr(row, name) != target[name]}
            if row.mark_generated or row.mark_key == target["mark_key"]:
                changes.pop("shipping_mark", None)  # the same mark spelled differently is not a change
            if "shipping_mark" in changes:
                changes["mark_key"] = row.mark_key
            if changes:
                targeted[target["id"]] = row.row_number
                before = {name: target[name] for name in changes}
                before["updated_at"] = target["updated_at"].isoformat()
                outcome.updates.append(Update(row, target["id"], changes, before))
            else:
                outcome.unchanged += 1

    def _exists(
        self,
        row: CleanRow,
        by_phone: dict[str, Any] | None,
        by_mark: dict[str, Any] | None,
        by_email: dict[str, Any] | None,
    ) -> Failure:
        errors = []
        for field_name, match, label in (
            ("phone", by_phone, "phone number"),
            ("shipping_mark", by_mark, "shipping mark"),
            ("email", by_email, "email"),
        ):
            if match:
                errors.append(
                    RowError(
                        self.mapping.header_for(field_name),
                        field_name,
                        "exists",
                        f"A customer with this {label} already exists: {_who(match)}.",
                    )
                )
        return Failure(row.row_number, row.values, errors)

    # --- writing --------------------------------------------------------------------------------------------------

    def write(
        self,
        rows: Sequence[CleanRow],
        now: dt.datetime,
        payload: InsertPayload | None = None,
        *,
        optimistic: bool = True,
    ) -> BatchOutcome:
        """Classify and (unless dry run) write `rows`; must run inside the batch's transaction.

        In create mode the first round is optimistic: every row is inserted with ON CONFLICT DO NOTHING and only the
        rows the database refused are matched (to say which customer they collide with). Most rows of an import are
        new, so this saves matching the whole batch.
        """
        outcome = BatchOutcome()
        pending = list(rows)
        optimistic = optimistic and self.mode == "create" and not self.dry_run
        for attempt in range(MAX_RACE_RETRIES):
            round_outcome = BatchOutcome()
            if optimistic and attempt == 0:
                for row in pending:
                    if row.mark_generated and self.allocator is not None:
                        self.allocator.allocate(row)
                round_outcome.created = pending
            else:
                self.classify(pending, round_outcome)
            outcome.updates += round_outcome.updates
            outcome.unchanged += round_outcome.unchanged
            outcome.failures += round_outcome.failures
            if self.dry_run:
                outcome.created += round_outcome.created
                return outcome
            self._apply_updates(round_outcome.updates, now, outcome)
            # The payload built ahead describes exactly the first optimistic round (prepare() declines batches whose
            # rows could change before it); later rounds are the rows that lost a race, built here.
            first_round = optimistic and attempt == 0
            inserted, pending = self._insert(round_outcome.created, now, payload if first_round else None, first_round)
            outcome.created += inserted
            if not pending:
                return outcome
            if attempt or not optimistic:
                logger.info(
                    "[IMPORT-RACE] job=%s rows=%s another writer inserted them first; matching again",
                    self.job_id,
                    len(pending),
                )
        outcome.failures += [
            self._fail(row, "phone", "conflict", "Another import wrote this customer at the same time; import again.")
            for row in pending
        ]
        return outcome

    def prepare(self, rows: list[CleanRow], now: dt.datetime) -> InsertPayload | None:
        """Records and their COPY text / JSON for a batch that will be inserted as it is: called from the thread that
        cleans the next batches, so the writer (the bottleneck: it waits on the database) only sends them. None when
        the batch's rows may still change before insert (upsert, dry run, marks still to generate)."""
        if self.mode != "create" or self.dry_run or not rows or any(row.mark_generated for row in rows):
            return None
        records = self._records(rows, connection.ops.adapt_datetimefield_value(now))
        data = _copy_text(records) if self.postgres else _json_statements(records)
        return InsertPayload(now, records, data)

    def _records(self, rows: list[CleanRow], stamp: Any) -> list[tuple[Any, ...]]:
        # Sorted by phone: two imports inserting overlapping rows take their index locks in the same order.
        return [
            (
                row.first_name,
                row.last_name,
                row.phone,
                row.shipping_mark,
                row.email,
                row.region,
                row.company_name,
                row.customer_type,
                row.mark_key,
                self.user_id,
                self.job_id,
                stamp,
                stamp,
            )
            for row in sorted(rows, key=lambda row: row.phone)
        ]

    def _insert(
        self, rows: list[CleanRow], now: dt.datetime, payload: InsertPayload | None = None, optimistic: bool = False
    ) -> tuple[list[CleanRow], list[CleanRow]]:
        """Insert new customers; returns (inserted, lost a race to a concurrent writer)."""
        if not rows:
            return [], []
        if payload is None or payload.now != now or len(payload.records) != len(rows):
            records = self._records(rows, connection.ops.adapt_datetimefield_value(now))
            data: str | list[str] = _copy_text(records) if self.postgres else _json_statements(records)
        else:
            records, data = payload.records, payload.data
        if self.postgres:
            assert isinstance(data, str)
            inserted_phones = self._insert_postgres(records, data, optimistic)
        else:
            assert isinstance(data, list)
            inserted_phones = self._insert_sqlite(records, data, now)
        inserted = [row for row in rows if row.phone in inserted_phones]
        lost = [row for row in rows if row.phone not in inserted_phones]
        return inserted, lost

    def _insert_sqlite(self, records: list[tuple[Any, ...]], statements: list[str], now: dt.datetime) -> set[str]:
        """The batch as JSON parameters, unpacked by SQLite itself (`INSERT … SELECT … FROM json_each(?)`).

        The sqlite3 module holds the GIL while it binds parameters and lets go while SQLite runs a statement: with
        `executemany`, binding 13 values per row kept the GIL for about half of every insert, stalling the thread that
        cleans the next batch. A few statements per batch let go of it for the whole insert. (A multi-row VALUES
        statement costs SQLite tens of MB per batch.) Usually every row goes in; when some did not, the rows this
        batch inserted are the ones carrying this job and this batch's timestamp."""
        table = Customer._meta.db_table
        columns = ", ".join(INSERT_COLUMNS)
        values = ", ".join(
            [f"json_extract(value, '$[{index}]')" for index in range(ROW_COLUMNS)] + ["%s"] * BATCH_COLUMNS
        )
        inserted = 0
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {values} FROM json_each(%s) WHERE true "  # noqa: S608
                    "ON CONFLICT DO NOTHING",
                    [*records[0][ROW_COLUMNS:], statement],
                )
                inserted += cursor.rowcount
            if inserted == len(records):
                return {record[PHONE_COLUMN] for record in records}
            cursor.execute(
                f"SELECT phone FROM {table} WHERE import_job_id = %s AND created_at = %s",  # noqa: S608
                [self.job_id, connection.ops.adapt_datetimefield_value(now)],
            )
            return {phone for (phone,) in cursor.fetchall()}

    def _insert_postgres(self, records: list[tuple[Any, ...]], copy_text: str, optimistic: bool) -> set[str]:
        """Optimistically, COPY straight into the table. If any row's phone, mark or email is taken (a customer the
        batch was not matched against, or a concurrent writer's), COPY fails as a whole and so does the batch's
        transaction: OptimisticInsertRefused tells the caller to roll back and run the batch again matched, which
        inserts with COPY into a staging table + INSERT … ON CONFLICT DO NOTHING, row by row. (No savepoint around
        the optimistic COPY: two round trips a batch, for the rare batch that needs them.)"""
        import psycopg

        table = Customer._meta.db_table
        columns = ", ".join(INSERT_COLUMNS)
        if optimistic:
            try:
                with connection.cursor() as cursor:
                    # The raw psycopg cursor: Django's wrapper has no COPY (and so does not translate its errors).
                    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        copy.write(copy_text)
            except (IntegrityError, psycopg.errors.UniqueViolation) as exc:
                raise OptimisticInsertRefused() from exc
            return {record[PHONE_COLUMN] for record in records}
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS primepre_import_stage ("
                "first_name text, last_name text, phone text, shipping_mark text, email text, region text, "
                "company_name text, customer_type text, mark_key text, created_by_id bigint, import_job_id bigint, "
                "created_at timestamptz, updated_at timestamptz) ON COMMIT DELETE ROWS"
            )
            with cursor.cursor.copy(f"COPY primepre_import_stage ({columns}) FROM STDIN") as copy:
                copy.write(copy_text)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM primepre_import_stage "  # noqa: S608
                "ON CONFLICT DO NOTHING RETURNING phone"
            )
            phones = {phone for (phone,) in cursor.fetchall()}
            cursor.execute("TRUNCATE primepre_import_stage")
        return phones

    def _apply_updates(self, updates: list[Update], now: dt.datetime, outcome: BatchOutcome) -> None:
        if not updates:
            return
        try:
            with transaction.atomic():
                self._update_rows(updates, now)
        except IntegrityError:
            # A concurrent writer took one of the new values: find the rows, one savepoint each.
            lost: set[int] = set()
            for update in updates:
                try:
                    with transaction.atomic():
                        self._update_rows([update], now)
                except IntegrityError:
                    lost.add(id(update))
                    outcome.failures.append(
                        self._fail(
                            update.row,
                            "phone",
                            "conflict",
                            "Another customer took this phone, mark or email while the import ran.",
                        )
                    )
            outcome.updates[:] = [update for update in outcome.updates if id(update) not in lost]

    def _update_rows(self, updates: list[Update], now: dt.datetime) -> None:
        # Group by the set of changed fields so each group is one executemany.
        groups: dict[tuple[str, ...], list[Update]] = {}
        for update in updates:
            groups.setdefault(tuple(sorted(update.changes)), []).append(update)
        table = Customer._meta.db_table
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            for names, group in groups.items():
                assignments = ", ".join(f"{name} = %s" for name in names)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments}, updated_at = %s WHERE id = %s",  # noqa: S608
                    [[*(u.changes[name] for name in names), stamp, u.customer_id] for u in group],
                )
