"""What the review and the result show beside the counts: rows imported without some cells (warnings) and the
before → after of every record an upsert changes, each a page at a time. Read-only selectors over the job's ledger
(`imports/ledger.py` writes it), for the wizard's pages and the API alike."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.urls import reverse

from .models import ImportJob
from .schema import get_schema

PAGE_SIZE = 25
# Bookkeeping that travels with a change but is no field of the record people edit.
_NOT_SHOWN = frozenset({"updated_at", "mark_key"})


def warnings_page(job: ImportJob, number: Any) -> tuple[Page, list[dict[str, Any]]]:
    """A page of the rows imported without some cells: the row, and each cell left out with its value and why."""
    page = Paginator(job.row_warnings.order_by("row_number"), PAGE_SIZE).get_page(number)
    rows = [{"row": item.row_number, "dropped": item.dropped} for item in page]
    return page, rows


def changes_page(job: ImportJob, number: Any, user: Any = None) -> tuple[Page, list[dict[str, Any]]]:
    """A page of what an upsert changes (a preview) or changed (a run): per record, each field before → after, with
    values as people read them, and the record (None: deleted since) with its page's URL when `user` may open it."""
    schema = get_schema(job.schema)
    order = {name: index for index, name in enumerate(schema.labels)}  # jsonb keeps keys in its own order
    page = Paginator(job.changes.order_by("row_number"), PAGE_SIZE).get_page(number)
    model = schema.record_model()
    records = model.objects.in_bulk([change.record_id for change in page]) if model is not None else {}
    rows = []
    for change in page:
        fields = [
            {
                "label": schema.labels.get(name, name),
                "before": schema.display_value(name, change.before.get(name)),
                "after": schema.display_value(name, value),
            }
            for name, value in sorted(change.after.items(), key=lambda item: order.get(item[0], len(order)))
            if name not in _NOT_SHOWN
        ]
        record = records.get(change.record_id)
        rows.append({"row": change.row_number, "record": record, "url": _record_url(schema, record, user)})
        rows[-1]["fields"] = fields
    return page, rows


def _record_url(schema: Any, record: Any, user: Any) -> str | None:
    if record is None or schema.record_page is None or user is None:
        return None
    url_name, permission = schema.record_page
    return reverse(url_name, args=[record.pk]) if user.has_perm(permission) else None


def dropped_summary(job: ImportJob) -> list[dict[str, Any]]:
    """The cells left out by kind, most first: "40 invalid email (Email)"."""
    kinds = (job.tallies or {}).get("dropped") or {}
    summary = []
    for kind, count in sorted(kinds.items(), key=lambda item: (-item[1], item[0])):
        code, _, column = kind.partition("|")
        summary.append({"code": code, "label": code.replace("_", " "), "column": column, "count": count})
    return summary
