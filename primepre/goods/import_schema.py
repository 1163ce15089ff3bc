"""The goods-received sheet: the import engine's second schema.

The cells are cleaned by `cleaning.clean_row` (dates, comma decimals, dimensions, the CBM cross-check, two marks in a
cell); the writer matches a batch's marks to customers in one query (a mark nobody has is not an error: the receipt
is stored `unidentified` and waits in the unknown-mark queue), refuses tracking numbers already received, and inserts
the batch through the engine's TableInserter. Two lines with the same description on the same day are two receipts;
only a tracking number deduplicates.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F

from primepre.imports.models import ImportedRecord
from primepre.imports.schema import (
    DedupeKey,
    FieldError,
    FieldSpec,
    ImportContext,
    ImportSchema,
    Leniency,
    OptionSpec,
    leniency_option,
)
from primepre.imports.writer import BatchOutcome, Failure, InsertPayload, TableInserter

from . import cleaning
from .matching import existing_tracking_keys, match_marks
from .models import GoodsReceipt, Method, ReceiptStatus
from .notify import count_receipt_sms
from .warehouses import WAREHOUSE_CODE_MAX, default_warehouse, warehouses

INSERT_COLUMNS = (
    "customer_id",
    "shipping_mark",
    "mark_key",
    "warehouse",
    "received_on",
    "description",
    "cartons",
    "cbm",
    "length_cm",
    "width_cm",
    "height_cm",
    "weight_kg",
    "tracking_number",
    "tracking_key",
    "method",
    "status",
    "notes",
    "specification",
    *ImportedRecord.IMPORT_COLUMNS,
)
SMS_OPTION = "send_receipt_sms"
WARN_OPTION = "invalid_optional"
# Failing stays the default: CBM is what the customer is billed for, and a slipped decimal (0.76 for 0.076) shows
# first as a disagreement with the dimensions. Letting it through is the clerk's explicit choice, listed as a warning.
CBM_LENIENCY = Leniency(
    "A CBM that disagrees with the carton dimensions by more than 5%",
    "Fail the line (CBM is billed: a slipped decimal is caught here)",
    "Record the line with a warning: the sheet's CBM is used, the dimensions kept",
    "with a CBM that disagrees with its dimensions",
    "Recorded with a warning",
    "Value in the sheet",
    "with the sheet's CBM and the dimensions both kept: check the cartons and correct the receipt if needed.",
)
logger = logging.getLogger("primepre.imports")


@dataclass(slots=True)
class CleanReceipt:
    """A clean sheet line with where it came from (the engine reports and deduplicates by these)."""

    row_number: int
    values: tuple[Any, ...]
    goods: cleaning.GoodsRow

    @property
    def tracking_key(self) -> str:
        return self.goods.tracking_key


class GoodsCleaner:
    def __init__(self, fields: Mapping[str, int], context: ImportContext) -> None:
        self.fields = [(name, index) for name, index in fields.items() if name not in cleaning.IGNORED_FIELDS]
        self.method = context.options.get("default_method") or Method.SEA
        self.warehouse = context.options.get("warehouse") or default_warehouse()
        self.warehouses = warehouses()
        self.keep_mismatched_cbm = context.options.get(WARN_OPTION) == "import_without"

    def clean(self, row_number: int, values: tuple[Any, ...]) -> tuple[CleanReceipt | None, list[FieldError]]:
        width = len(values)
        cells = {name: values[index] if index < width else "" for name, index in self.fields}
        row, problems = cleaning.clean_row(
            cells,
            default_method=self.method,
            warehouse=self.warehouse,
            warehouses=self.warehouses,
            keep_mismatched_cbm=self.keep_mismatched_cbm,
        )
        errors = [FieldError(problem.field, problem.code, problem.message) for problem in problems]
        return (None if row is None else CleanReceipt(row_number, values, row)), errors


def _received_already(row: CleanReceipt) -> Failure:
    message = f"Tracking number {row.goods.tracking_number} was already received."
    return Failure(row.row_number, row.values, [FieldError("tracking_number", "exists", message)])


def _text(value: Any) -> Any:
    """Decimals and dates as text: COPY and SQLite's json_each both take them so, exactly."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


class GoodsWriter:
    """Create-only: every clean line is a new receipt, matched to its customer by mark (or left unidentified)."""

    def __init__(self, context: ImportContext) -> None:
        self.job_id = context.job_id
        self.user_id = context.user_id
        self.dry_run = context.dry_run
        self.tell = bool(context.options.get(SMS_OPTION))
        self.told: set[tuple[int, dt.date]] = set()  # (customer, day) pairs counted so far
        own = ("unidentified", "receipt_sms") if self.tell else ("unidentified",)
        self.tallies = {name: context.tallies.get(name, 0) for name in own}  # a resumed run goes on counting
        self.inserter = TableInserter(
            GoodsReceipt._meta.db_table, INSERT_COLUMNS, key_column="tracking_key", batch_columns=4
        )

    def prepare(self, rows: list[CleanReceipt], now: dt.datetime) -> InsertPayload | None:
        return None  # the customers a line goes to are only known inside the batch's transaction

    def write(
        self,
        rows: Sequence[CleanReceipt],
        now: dt.datetime,
        payload: InsertPayload | None = None,
        *,
        optimistic: bool = True,
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        taken = existing_tracking_keys([row.tracking_key for row in rows if row.tracking_key])
        fresh = [row for row in rows if not (row.tracking_key and row.tracking_key in taken)]
        outcome.failures += [_received_already(row) for row in rows if row.tracking_key and row.tracking_key in taken]
        owners = match_marks({row.goods.mark_key for row in fresh}) if fresh else {}
        if self.dry_run or not fresh:
            outcome.created = fresh
        else:
            records = self._records(fresh, owners, connection.ops.adapt_datetimefield_value(now))
            data = self.inserter.data(records)
            inserted = self.inserter.insert(records, data, optimistic=optimistic, job_id=self.job_id)
            for row in fresh:
                if not row.tracking_key or row.tracking_key in inserted:
                    outcome.created.append(row)
                else:  # a concurrent import received it between our check and our insert
                    outcome.failures.append(_received_already(row))
        outcome.tallies = self._tally(outcome.created, owners)
        return outcome

    def _tally(self, created: list[CleanReceipt], owners: dict[str, int]) -> dict[str, int]:
        """Running figures for the review: lines that go to the unknown-mark queue, and (when the import tells
        customers) the receipt SMS a confirm sends: one per customer and day not told before."""
        pairs = {(owners[row.goods.mark_key], row.goods.received_on) for row in created if row.goods.mark_key in owners}
        self.tallies["unidentified"] += sum(1 for row in created if row.goods.mark_key not in owners)
        if self.tell:
            new = pairs - self.told
            self.told |= new
            self.tallies["receipt_sms"] += count_receipt_sms(new)
        return dict(self.tallies)

    def _records(self, rows: list[CleanReceipt], owners: dict[str, int], stamp: Any) -> list[tuple[Any, ...]]:
        records = []
        tail = ImportedRecord.bookkeeping(self.user_id, self.job_id, stamp)
        for row in rows:
            goods = row.goods
            customer = owners.get(goods.mark_key)
            length, width, height = goods.dimensions or (None, None, None)
            status = ReceiptStatus.RECEIVED if customer else ReceiptStatus.UNIDENTIFIED
            records.append((
                customer, goods.shipping_mark, goods.mark_key, goods.warehouse, _text(goods.received_on),
                goods.description, goods.cartons, _text(goods.cbm), _text(length), _text(width), _text(height),
                _text(goods.weight_kg), goods.tracking_number, goods.tracking_key, goods.method, status, goods.notes,
                goods.specification, *tail,
            ))  # fmt: skip
        return records


def queue_receipts_of(job: Any) -> None:
    """One SMS per matched customer per day of receipt, after the rows are committed. Never fails the import."""
    from primepre.sms.services import sms_enabled

    from .notify import queue_receipt_sms_for_import

    creator = job.created_by
    if not sms_enabled() or (creator is not None and not creator.has_perm("customers.send_sms")):
        logger.warning("[IMPORT-SMS-SKIPPED] job=%s reason=SMS is off or the user may not send SMS", job.pk)
        return
    try:
        logger.info("[IMPORT-SMS] job=%s receipt_sms_queued=%s", job.pk, queue_receipt_sms_for_import(job.pk))
    except Exception:
        logger.exception("[IMPORT-SMS-FAIL] job=%s", job.pk)


class GoodsSchema(ImportSchema):
    name = "goods"
    label = "Goods received"
    rows_noun = "goods lines"
    fields = tuple(
        FieldSpec(name, label, tuple(cleaning.HEADER_ALIASES.get(name, ())))
        for name, label in cleaning.FIELD_LABELS.items()
    )
    legacy_layout = cleaning.LEGACY_LAYOUT
    legacy_name = "the old A–H goods template"
    dedupe_keys = (DedupeKey("tracking_key", "tracking_number", "tracking number"),)
    import_permission = "goods.import_goods"
    undo_permissions = ("goods.import_goods", "goods.change_goodsreceipt")
    option_specs = (
        OptionSpec(
            "warehouse",
            "text",
            "Warehouse",
            "The warehouse code of lines that do not name one (GOODS_WAREHOUSES).",
            max_length=WAREHOUSE_CODE_MAX,
        ),
        OptionSpec(
            "default_method", "choice", "Method", "Sea or air for lines without a method.", tuple(Method.choices)
        ),
        OptionSpec(
            SMS_OPTION,
            "bool",
            "Receipt SMS",
            "Tell each matched customer once per day of receipt (needs the send_sms permission).",
            default=False,
        ),
        leniency_option(
            "What a line whose CBM disagrees with its dimensions by more than 5% does: fail (the "
            "default), or go in with the given CBM and the dimensions, listed as a warning."
        ),
    )
    warnable_codes = frozenset({"cbm_mismatch"})
    leniency = CBM_LENIENCY

    def stored_values(self, row: CleanReceipt) -> dict[str, str]:
        goods = row.goods
        return {
            "Shipping Mark": goods.shipping_mark,
            "Received": goods.received_on.isoformat(),
            "Description": goods.description,
            "CTNS": str(goods.cartons),
            "CBM": str(goods.cbm),
            "KG": "" if goods.weight_kg is None else str(goods.weight_kg),
            "Tracking": goods.tracking_number,
            "Method": goods.method,
            "Warehouse": goods.warehouse,
            "Specification": goods.specification,
        }

    def choices(self) -> dict[str, list[tuple[str, str]]]:
        return {"warehouse": list(warehouses().items()), "default_method": list(Method.choices)}

    def template(self) -> bytes | None:
        from .import_template import template_workbook  # xlsxwriter only when someone downloads it

        return template_workbook()

    def check_options(self, options: dict[str, Any]) -> dict[str, list[str]]:
        if options.get("warehouse"):
            options["warehouse"] = options["warehouse"].upper()
            if options["warehouse"] not in warehouses():
                return {"warehouse": [f"Choose one of {', '.join(warehouses())}."]}
        return {}

    upload_note = (
        "The warehouse's own sheet works as it is: title rows above the header are skipped, and a sheet without a "
        "header is read in the old A–H order (mark, date of receipt, date of loading, description, CTNS, "
        "specifications, CBM, tracking no)."
    )

    record_nouns = ("receipt", "receipts")
    already_there = "already recorded (a tracking number received before)"
    records_list = "goods:list"
    records_api = "goods-list"

    def outcome_sentence(self, job: Any) -> str:
        return f"Recorded {job.created:,} {self.noun(job.created)}"

    def confirm_label(self, job: Any) -> str:
        label = f"Record {job.created:,} {self.noun(job.created)}"
        if job.options.get(SMS_OPTION):
            label += f" and send {job.tallies.get('receipt_sms', 0):,} receipt SMS"
        return label

    def unavailable_options(self, user: Any) -> dict[str, str]:
        from primepre.sms.services import sms_unavailable  # the worker never loads SMS for an import's options

        why_not = sms_unavailable(user)
        return {SMS_OPTION: why_not} if why_not else {}

    def side_effects(self, mode: str, options: Mapping[str, Any]) -> dict[str, str]:
        return {"customers.send_sms": "Telling customers their goods arrived (SMS)"} if options.get(SMS_OPTION) else {}

    def planner_columns(self) -> tuple[Any, tuple[str, ...]]:
        return GoodsReceipt, ("received_on", "warehouse", "method", "status", "customer", "created_at", "import_job")

    def after_import(self, job: Any) -> None:
        if job.options.get(SMS_OPTION):
            queue_receipts_of(job)

    def undo(self, job: Any, result: Any) -> None:
        """Delete the receipts the job created, except those someone changed since (resolved, edited, cancelled)."""
        created = GoodsReceipt.objects.filter(import_job_id=job.pk)
        for receipt in created.exclude(updated_at=F("created_at")).only("pk", "shipping_mark").iterator():
            result.kept.append({"id": receipt.pk, "shipping_mark": receipt.shipping_mark, "reason": "changed since"})
        result.deleted, _ = created.filter(updated_at=F("created_at")).delete()

    def required_missing(self, fields: Mapping[str, int], options: Mapping[str, Any]) -> list[str]:
        return [name for name in cleaning.REQUIRED_FIELDS if name not in fields]

    def looks_like_legacy(self, cells: tuple[Any, ...], region: str) -> bool:
        """A first row whose A is a mark, B a date and E a carton count."""
        if len(cells) < 5:
            return False
        try:
            cleaning.parse_mark(cells[0])
            cleaning.parse_date(cells[1])
            cleaning.parse_cartons(cells[4])
        except cleaning.CellError:
            return False
        return True

    def cleaner(self, fields: Mapping[str, int], context: ImportContext) -> GoodsCleaner:
        return GoodsCleaner(fields, context)

    def writer(self, context: ImportContext) -> GoodsWriter:
        return GoodsWriter(context)

    def expected_headers(self) -> str:
        return "Shipping Mark/Client, Date of Receipt, Description, CTNS, Specifications, CBM, Supplier&Tracking No"
