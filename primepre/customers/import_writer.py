"""The customer sheet's batch writer: match a batch against the directory with one query, decide each row's outcome
(create, update in upsert mode, unchanged, or a failure: `exists`, `conflict`), write the batch.

Inserts go through the engine's `TableInserter` (COPY / json_each, ON CONFLICT DO NOTHING), so a customer another
import inserted a moment ago is matched again, never duplicated. Updates run in a savepoint and fall back to one
savepoint per row if a concurrent writer took a unique value.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from primepre.imports.models import ImportedRecord
from primepre.imports.schema import FieldError, ImportContext
from primepre.imports.writer import BatchOutcome, Failure, InsertPayload, TableInserter, Update

from .import_schema import UPDATABLE_FIELDS, CleanCustomer, MarkRule
from .marks import mark_key
from .models import Customer

MATCH_FIELDS = ("id", *UPDATABLE_FIELDS, "mark_key", "updated_at")
INSERT_COLUMNS = (*UPDATABLE_FIELDS, "mark_key", *ImportedRecord.IMPORT_COLUMNS)
MAX_RACE_RETRIES = 3
logger = logging.getLogger("primepre.imports")


class ExistingCustomers:
    """The customers matching a batch's phones, marks and emails: one query."""

    def __init__(self, rows: Sequence[CleanCustomer]) -> None:
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


def _fail(row: CleanCustomer, field: str, code: str, message: str) -> Failure:
    return Failure(row.row_number, row.values, [FieldError(field, code, message)])


class MarkAllocator:
    """Unique generated marks: `PM KOFI`, then `PM KOFI 2`, `PM KOFI 3` … free in the database and among the marks
    this job generated. (A later row of the file that spells out a generated mark fails with `exists`, naming the
    customer the generated mark went to.)"""

    def __init__(self, rule: MarkRule) -> None:
        self.rule = rule
        self._taken: dict[str, set[str]] = {}

    def allocate(self, row: CleanCustomer) -> None:
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


def _exists(row: CleanCustomer, by_phone: Any, by_mark: Any, by_email: Any) -> Failure:
    errors = [
        FieldError(field, "exists", f"A customer with this {label} already exists: {_who(match)}.")
        for field, match, label in (
            ("phone", by_phone, "phone number"),
            ("shipping_mark", by_mark, "shipping mark"),
            ("email", by_email, "email"),
        )
        if match
    ]
    return Failure(row.row_number, row.values, errors)


def _changes(row: CleanCustomer, target: dict[str, Any]) -> dict[str, Any]:
    """The fields the row changes on `target`; the same mark spelled differently is not a change."""
    changes = {name: getattr(row, name) for name in row.provided() if getattr(row, name) != target[name]}
    if row.mark_generated or row.mark_key == target["mark_key"]:
        changes.pop("shipping_mark", None)
    if "shipping_mark" in changes:
        changes["mark_key"] = row.mark_key
    return changes


class CustomerWriter:
    """Writes batches for one job. A dry run plans every outcome and writes nothing but the job's own records."""

    def __init__(self, context: ImportContext) -> None:
        self.mode = context.mode
        self.dry_run = context.dry_run
        self.job_id = context.job_id
        self.user_id = context.user_id
        rule = None
        if context.options.get("missing_mark") == "generate":
            rule = MarkRule(context.options.get("mark_rule") or settings.IMPORT_MARK_RULE)
        self.allocator = MarkAllocator(rule) if rule else None
        self.inserter = TableInserter(Customer._meta.db_table, INSERT_COLUMNS, key_column="phone", batch_columns=4)
        self.inserter.nullable_text = INSERT_COLUMNS.index("email")

    # --- deciding -------------------------------------------------------------------------------------------------

    def classify(self, rows: Sequence[CleanCustomer], outcome: BatchOutcome) -> None:
        existing = ExistingCustomers(rows)
        targeted: dict[int, int] = {}  # customer id → row that updates it in this batch
        for row in rows:
            failure = self._decide(row, existing, targeted, outcome)
            if failure is not None:
                outcome.failures.append(failure)

    def _decide(
        self, row: CleanCustomer, existing: ExistingCustomers, targeted: dict[int, int], outcome: BatchOutcome
    ) -> Failure | None:
        by_phone = existing.by_phone.get(row.phone)
        by_mark = existing.by_mark.get(row.mark_key) if row.mark_key else None
        by_email = existing.by_email.get(row.email) if row.email else None
        if by_phone and by_mark and by_phone["id"] != by_mark["id"]:
            message = f"The phone belongs to {_who(by_phone)} but the shipping mark to {_who(by_mark)}."
            return _fail(row, "phone", "conflict", message)
        target = by_phone or by_mark
        if self.mode == "create" and (target or by_email):
            return _exists(row, by_phone, by_mark, by_email)
        if target is None:
            if by_email:
                return _fail(row, "email", "exists", f"The email belongs to {_who(by_email)}.")
            if row.mark_generated and self.allocator is not None:
                self.allocator.allocate(row)
            outcome.created.append(row)
            return None
        if by_email and by_email["id"] != target["id"]:
            return _fail(row, "email", "exists", f"The email belongs to another customer, {_who(by_email)}.")
        if target["id"] in targeted:
            message = f"Row {targeted[target['id']]} of this file already updates {_who(target)}."
            return _fail(row, "phone", "conflict", message)
        changes = _changes(row, target)
        if not changes:
            outcome.unchanged += 1
            return None
        targeted[target["id"]] = row.row_number
        before = {name: target[name] for name in changes}
        before["updated_at"] = target["updated_at"].isoformat()
        outcome.updates.append(Update(row, target["id"], changes, before))
        return None

    # --- writing --------------------------------------------------------------------------------------------------

    def write(
        self,
        rows: Sequence[CleanCustomer],
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
            first_round = optimistic and attempt == 0
            round_outcome = self._plan(pending, first_round)
            outcome.updates += round_outcome.updates
            outcome.unchanged += round_outcome.unchanged
            outcome.failures += round_outcome.failures
            if self.dry_run:
                outcome.created += round_outcome.created
                return outcome
            self._apply_updates(round_outcome.updates, now, outcome)
            # The payload built ahead describes exactly the first optimistic round (prepare() declines batches whose
            # rows could change before it); later rounds are the rows that lost a race, built here.
            inserted, pending = self._insert(round_outcome.created, now, payload if first_round else None, first_round)
            outcome.created += inserted
            if not pending:
                return outcome
            if attempt or not optimistic:
                logger.info("[IMPORT-RACE] job=%s rows=%s another writer inserted them first; matching again",
                            self.job_id, len(pending))  # fmt: skip
        message = "Another import wrote this customer at the same time; import again."
        outcome.failures += [_fail(row, "phone", "conflict", message) for row in pending]
        return outcome

    def _plan(self, rows: list[CleanCustomer], optimistic: bool) -> BatchOutcome:
        outcome = BatchOutcome()
        if not optimistic:
            self.classify(rows, outcome)
            return outcome
        for row in rows:
            if row.mark_generated and self.allocator is not None:
                self.allocator.allocate(row)
        outcome.created = rows
        return outcome

    def prepare(self, rows: list[CleanCustomer], now: dt.datetime) -> InsertPayload | None:
        """Records and their COPY text / JSON for a batch that will be inserted as it is: called from the thread that
        cleans the next batches, so the writer (the bottleneck: it waits on the database) only sends them. None when
        the batch's rows may still change before insert (upsert, dry run, marks still to generate)."""
        if self.mode != "create" or self.dry_run or not rows or any(row.mark_generated for row in rows):
            return None
        records = self._records(rows, connection.ops.adapt_datetimefield_value(now))
        return InsertPayload(now, records, self.inserter.data(records))

    def _records(self, rows: list[CleanCustomer], stamp: Any) -> list[tuple[Any, ...]]:
        # Sorted by phone: two imports inserting overlapping rows take their index locks in the same order.
        tail = ImportedRecord.bookkeeping(self.user_id, self.job_id, stamp)
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
                *tail,
            )
            for row in sorted(rows, key=lambda row: row.phone)
        ]

    def _insert(
        self, rows: list[CleanCustomer], now: dt.datetime, payload: InsertPayload | None, optimistic: bool
    ) -> tuple[list[CleanCustomer], list[CleanCustomer]]:
        """Insert new customers; returns (inserted, lost a race to a concurrent writer)."""
        if not rows:
            return [], []
        if payload is None or payload.now != now or len(payload.records) != len(rows):
            records = self._records(rows, connection.ops.adapt_datetimefield_value(now))
            data = self.inserter.data(records)
        else:
            records, data = payload.records, payload.data
        phones = self.inserter.insert(records, data, optimistic=optimistic, job_id=self.job_id)
        return [row for row in rows if row.phone in phones], [row for row in rows if row.phone not in phones]

    def _apply_updates(self, updates: list[Update], now: dt.datetime, outcome: BatchOutcome) -> None:
        if not updates:
            return
        try:
            with transaction.atomic():
                self._update_rows(updates, now)
        except IntegrityError:
            # A concurrent writer took one of the new values: find the rows, one savepoint each.
            lost: set[int] = set()
            message = "Another customer took this phone, mark or email while the import ran."
            for update in updates:
                try:
                    with transaction.atomic():
                        self._update_rows([update], now)
                except IntegrityError:
                    lost.add(id(update))
                    outcome.failures.append(_fail(update.row, "phone", "conflict", message))
            outcome.updates[:] = [update for update in outcome.updates if id(update) not in lost]

    def _update_rows(self, updates: list[Update], now: dt.datetime) -> None:
        # Grouped by the set of changed fields, so each group is one executemany.
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
                    [[*(u.changes[name] for name in names), stamp, u.target_id] for u in group],
                )
