"""The import wizard's staff pages: history, upload (step 1), and one page per job for the preview, the progress and
the result (steps 2–4). Every button is a transition of `imports.jobs`, which also says who may take it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from rest_framework.exceptions import ValidationError

from primepre.common.refusals import roles_of

from . import jobs, review
from .columns import column_letter, column_rows
from .errors import ImportFileError, human_size, too_large_message
from .models import ImportJob, ImportRowError, ImportStatus
from .options import schema_options
from .schema import get_schema, schemas
from .serializers import describe_errors, parse_columns, parse_options
from .services import store_file
from .suggest import suggest_columns

HISTORY_PAGE_SIZE = 25
FAILING_PAGE_SIZE = 25
# The upload form's engine options as the page names them, for its error messages (a schema's options bring their
# own labels: `OptionSpec.label`).
UPLOAD_FIELD_NAMES = {"mode": "Mode", "sheet": "Sheet", "schema": "Kind of sheet"}


def _may_import(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The wizard's pages are for anyone who may import some kind of sheet (which kind: `jobs.authorize_submit`)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not jobs.may_import(request.user):
            raise PermissionDenied(f"Your role ({roles_of(request.user)}) cannot import sheets.")
        return view(request, *args, **kwargs)

    return guarded


@login_required
@_may_import
def import_history(request: HttpRequest) -> HttpResponse:
    history = ImportJob.objects.select_related("created_by")
    status = request.GET.get("status", "")
    if status in ImportStatus.values:
        history = history.filter(status=status)
    if request.GET.get("mine"):
        history = history.filter(created_by=request.user)
    run = request.GET.get("run", "")
    if run in ("previews", "imports"):
        # A preview that was confirmed is an import (confirm clears dry_run); one that never was stays a preview.
        history = history.filter(dry_run=run == "previews")
    history, chosen, problems = _history_filters(request, history)
    page = Paginator(history, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    kinds = {schema.name: schema.label for schema in schemas()}
    context = {
        "page": page,
        # Each job with its kind of sheet as people call it; a kind no longer registered still shows its name.
        "rows": [(job, kinds.get(job.schema, job.schema)) for job in page],
        "statuses": ImportStatus.choices,
        "status": status,
        "run": run,
        "kinds": list(kinds.items()),
        "problems": problems,
        "filtered": bool(status in ImportStatus.values or run or request.GET.get("mine") or any(chosen.values())),
        **chosen,
    }
    return render(request, "imports/history.html", context)


# A part of a file's name is all anyone types; a longer search is cut rather than matched as a huge pattern.
HISTORY_FILE_SEARCH_MAX = 100
HISTORY_DAYS = (("created_after", "gte", "Uploaded from"), ("created_before", "lte", "Uploaded until"))


def _history_filters(request: HttpRequest, history: QuerySet) -> tuple[QuerySet, dict[str, str], list[str]]:
    """The kind of sheet, the days a job was uploaded on (from and until, both included, in the site's time zone)
    and a part of the file's name. Returns the jobs, the values in force (for the form; the pager keeps the query)
    and what was left out and why: a date that is not one is ignored with a message, never an error page."""
    kind = request.GET.get("kind", "")
    if kind in {schema.name for schema in schemas()}:
        history = history.filter(schema=kind)
    else:
        kind = ""
    file = request.GET.get("file", "").strip()[:HISTORY_FILE_SEARCH_MAX]
    if file:
        history = history.filter(file_name__icontains=file)
    chosen, problems = {"kind": kind, "file": file}, []
    for name, lookup, label in HISTORY_DAYS:
        raw = request.GET.get(name, "").strip()
        day = _history_day(raw)
        if day is not None:
            history = history.filter(**{f"created_at__date__{lookup}": day})
        elif raw:
            shown = raw[:20] + ("…" if len(raw) > 20 else "")
            problems.append(f"{label}: “{shown}” is not a date, so it was left out. Write it as 2026-11-28.")
        chosen[name] = day.isoformat() if day else ""
    return history, chosen, problems


def _history_day(raw: str) -> dt.date | None:
    """The date field sends 2026-11-28; anything else that is not an ISO date is None."""
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@login_required
@_may_import
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: the kind of sheet, the file and the options. The job starts as a preview (dry run): nothing is written
    yet. The kinds offered are those the user may import (Warehouse: goods; Staff: customers; Admin: both)."""
    kinds = [schema for schema in schemas() if request.user.has_perm(schema.import_permission)]
    wanted = request.POST.get("schema") or request.GET.get("schema")
    kind = next((schema for schema in kinds if schema.name == wanted), kinds[0])
    error = None
    if request.method == "POST":
        outcome = _start_preview(request)
        if isinstance(outcome, HttpResponse):
            return outcome
        error = outcome
    return render(
        request,
        "imports/upload.html",
        {
            "error": error,
            "kinds": kinds,
            "kind": kind,
            "choices": kind.choices(),
            "max_size": human_size(settings.IMPORT_MAX_UPLOAD_BYTES),
            "max_rows": settings.IMPORT_MAX_ROWS,
            "option_templates": option_templates(kind),
            "has_template": kind.has_template,
            "unavailable": kind.unavailable_options(request.user),
        },
    )


def option_templates(kind: Any) -> list[str]:
    """The upload options' template of a kind of sheet, found as the admin finds its templates: its own
    (`imports/<schema>/upload_options.html`, in its app), else the generic one made from its `option_specs`."""
    return [f"imports/{kind.name}/upload_options.html", "imports/upload_options.html"]


def _start_preview(request: HttpRequest) -> HttpResponse | str:
    """Store the upload and submit its preview (a redirect to the job), or the reason not to, for the page. The options
    go through the API's serializer; an option the user's role may not use is a 403, as in the API."""
    post = request.POST
    form = {"schema": post.get("schema"), "mode": post.get("mode"), "preview": True, "sheet": post.get("sheet")}
    names = dict(UPLOAD_FIELD_NAMES)
    for name, specs in schema_options().items():  # every schema's: one another kind takes is refused by name
        form[name] = post.get(name) or None
        names[name] = specs[0].label
    try:
        submission = parse_options(form)
        jobs.authorize_submit(request.user, submission["mode"], submission["options"], submission["schema"])
    except ValidationError as exc:
        return describe_errors(exc, names)
    except jobs.JobRefused as exc:
        return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8")
    upload = request.FILES.get("file")
    if upload is None:
        return "Choose a file to upload."
    if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:  # the middleware refuses most; a lying length ends here
        return too_large_message()
    try:
        stored = store_file(upload)
    except ImportFileError as exc:
        return exc.message
    job = jobs.submit(stored, file_name=upload.name or "upload", user=request.user, **submission)
    return redirect("imports:detail", pk=job.pk)


@login_required
@_may_import
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps 2–4 on one page: preview (mapping, counts, failing rows), progress, result (chart, errors, undo)."""
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    if request.method == "POST":
        return _import_action(request, job)
    schema = get_schema(job.schema)
    error_kind = request.GET.get("error", "")
    failing_rows = _rows_failing_with(job.row_errors.order_by("row_number"), error_kind)
    failing = Paginator(failing_rows, FAILING_PAGE_SIZE).get_page(request.GET.get("page"))
    headers, rows = _failing_table(job, failing)
    counts = job.counts
    total = max(counts["read"], 1)
    # A create-only kind of sheet never updates: its chart says new and failing, nothing else.
    names = ("created", "updated", "unchanged", "failed") if "upsert" in schema.modes else ("created", "failed")
    chart = [(name, counts[name], round(100 * counts[name] / total)) for name in names]
    return render(
        request,
        "imports/detail.html",
        {
            "job": job,
            "failing": failing,
            "rows": rows,
            "headers": headers,
            **_mapping_context(request, job),
            "fields": schema.labels,
            "schema": schema,
            "status_labels": json.dumps(dict(ImportStatus.choices)),
            "rows_left": max(0, job.total_rows - job.rows_read) if job.total_rows is not None else None,
            "error_summary": _error_summary(job),
            **_review_extras(request, job),
            "error_kind": error_kind,
            "writes_nothing": job.created + job.updated == 0,
            "same_file_as": _earlier_upload(job),
            "chart": chart,
            "live": job.is_live,
            "may_manage": jobs.may_manage(request.user, job),
            "can_undo": job.can_undo and jobs.may_undo(request.user, job),
        },
    )


def _review_extras(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    """Rows imported without some cells, and an upsert's before → after, each with its own pager."""
    warnings, warning_rows = review.warnings_page(job, request.GET.get("warnings_page"))
    changes, change_rows = review.changes_page(job, request.GET.get("changes_page"), request.user)
    schema = get_schema(job.schema)
    return {
        "outcome": schema.outcome_sentence(job),
        "confirm_label": schema.confirm_label(job),
        "facts_templates": [f"imports/{schema.name}/review_facts.html", "imports/review_facts.html"],
        "records_url": reverse(schema.records_list) + f"?import_job={job.pk}" if schema.records_list else "",
        "upsert_unavailable": schema.unavailable_options(request.user).get("upsert"),
        "undo_kept": _undo_kept(request, job, schema),
        "warnings": warnings,
        "warning_rows": warning_rows,
        "dropped_summary": review.dropped_summary(job),
        "changes": changes,
        "change_rows": change_rows,
    }


def _undo_kept(request: HttpRequest, job: ImportJob, schema: Any) -> list[dict[str, Any]]:
    """The records undo left as they were (the first 200), each linked to its page when the user may open it."""
    page = schema.record_page if schema.record_page and request.user.has_perm(schema.record_page[1]) else None
    return [
        {
            "label": kept.get("shipping_mark") or kept.get("label") or f"#{kept['id']}",
            "reason": kept["reason"],
            "url": reverse(page[0], args=[kept["id"]]) if page else None,
        }
        for kept in ((job.undo_result or {}).get("kept") or [])[:200]
    ]


def _mapping_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    """The review's mapping step: each column of the file with its samples and the field it feeds, the fields to
    choose from (required ones marked), the workbook's sheets and the saved mapping applied, if any."""
    schema = get_schema(job.schema)
    stored = job.column_mapping or {}
    required = set(schema.required_missing({}, job.options))
    fields = {name: info["index"] for name, info in (stored.get("fields") or {}).items()}
    rows = column_rows(stored)
    suggested = suggest_columns(stored, schema) if job.status in jobs.REMAPPABLE else {}
    sheets = stored.get("sheets") or []
    missing = schema.required_missing(fields, job.options) if rows else []
    labels = schema.labels
    fillers = [
        {
            "option": f.option,
            "label": f.label,
            "field": labels[f.field],
            "checked": job.options.get(f.option) == f.value,
        }
        for f in schema.fillers
        if rows and f.field not in fields
    ]
    return {
        "column_rows": rows,
        "suggested": {index: schema.labels[name] for index, name in suggested.items()},
        "field_choices": [(name, label, name in required) for name, label in labels.items()],
        "missing_fields": [labels[name] for name in missing],
        "fillers": fillers,
        "replaces": [(labels[name], [labels[other] for other in others]) for name, others in schema.replaces.items()],
        "sheets": sheets,
        "saved": _saved_mapping(stored),
        "can_remap": job.status in jobs.REMAPPABLE and jobs.may_manage(request.user, job),
        # Before the counts and the confirm while it can still change; below the outcome once it has run.
        "mapping_first": not job.is_live and (job.dry_run or job.status in jobs.REMAPPABLE) and bool(rows or sheets),
    }


def _saved_mapping(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The saved mapping a job applied, with its date as a date and its import only while that import exists."""
    saved = dict(stored.get("saved_mapping") or {})
    if saved.get("date"):
        saved["date"] = dt.datetime.fromisoformat(saved["date"])
    if saved.get("job") is not None and not ImportJob.objects.filter(pk=saved["job"]).exists():
        saved["job"] = None
    return saved


def _earlier_upload(job: ImportJob) -> ImportJob | None:
    """The latest earlier job of the same bytes (files are stored by sha256): importing a file twice is said."""
    earlier = ImportJob.objects.filter(sha256=job.sha256, pk__lt=job.pk).exclude(sha256="")
    return earlier.order_by("-pk").first()


def _error_summary(job: ImportJob) -> list[dict[str, Any]]:
    """The failures by kind, most first: "80 invalid phone (Phone)", each a filter of the failing rows."""
    kinds = (job.tallies or {}).get("errors") or {}
    summary = []
    for kind, count in sorted(kinds.items(), key=lambda item: (-item[1], item[0])):
        code, _, column = kind.partition("|")
        summary.append({"kind": kind, "code": code, "label": code.replace("_", " "), "column": column, "count": count})
    return summary


def _rows_failing_with(rows: QuerySet, kind: str) -> QuerySet:
    """The failing rows with an error of `kind` ("code|column"), matched on the stored JSON's text: the same on
    SQLite and PostgreSQL, where JSON containment is not."""
    code, _, column = kind.partition("|")
    if not code:
        return rows
    escaped = connection.vendor == "sqlite"  # Django stores JSON ASCII-escaped there; PostgreSQL's jsonb keeps it
    text = rows.annotate(errors_text=Cast("errors", TextField()))
    text = text.filter(errors_text__contains=f'"code": {json.dumps(code)}')
    if column:
        text = text.filter(errors_text__contains=f'"column": {json.dumps(column, ensure_ascii=escaped)}')
    return text


def _failing_columns(job: ImportJob) -> list[tuple[str, str]]:
    """Each column of the failing-rows table: its heading, and the name its errors carry (`error["column"]`). With a
    header row, the file's header. Without one (the old positional layouts) the letter and the field it feeds, "A ·
    Shipping Mark/Client": the cells alone would not say which column is which, nor which one failed."""
    stored = job.column_mapping or {}
    headers = list(stored.get("headers") or [])
    if headers:
        return [(header, header) for header in headers]
    names = {info["index"]: info["header"] for info in (stored.get("fields") or {}).values()}
    width = max(int(stored.get("width") or 0), max(names, default=-1) + 1)
    return [
        (f"{column_letter(index)} · {names[index]}" if index in names else column_letter(index), names.get(index, ""))
        for index in range(width)
    ]


def _failing_table(job: ImportJob, failing: Iterable[ImportRowError]) -> tuple[list[str], list[dict[str, Any]]]:
    """The failing rows' headings and each row as the file had it: every cell under its column, a failing cell with
    the reason, and the reasons named by the column headings (a headerless file's "E · CTNS")."""
    columns = _failing_columns(job)
    widest = max((len(item.values) for item in failing), default=0)
    columns += [(column_letter(index), "") for index in range(len(columns), widest)]  # cells past the header's end
    heading_of = {name: heading for heading, name in columns if name}
    rows = []
    for item in failing:
        bad = {error["column"]: error["message"] for error in item.errors}
        values = [*item.values, *[""] * (len(columns) - len(item.values))]  # a short row: its blank cells too
        cells = [
            (_cell_text(value), bad.get(name) if name else None)
            for value, (_, name) in zip(values, columns, strict=True)
        ]
        errors = [{**error, "column": heading_of.get(error["column"], error["column"])} for error in item.errors]
        rows.append({"row": item.row_number, "cells": cells, "errors": errors})
    return [heading for heading, _ in columns], rows


def _cell_text(value: object) -> object:
    """A numeric cell as Excel shows it: 241234567, not 241234567.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _import_action(request: HttpRequest, job: ImportJob) -> HttpResponse:
    """The wizard's buttons: each is one transition of `imports.jobs`, which also says who may take it."""
    action = request.POST.get("action")
    try:
        if action == "confirm":
            jobs.confirm(job, request.user)
            messages.success(request, "Import started. You can leave this page; it goes on.")
        elif action == "remap":
            sheet = request.POST.get("sheet") or None
            jobs.remap(job, request.user, _chosen_columns(request, job), sheet, _chosen_fillers(request, job))
            changed = f"Sheet {sheet!r} chosen" if sheet and sheet != job.sheet_name else "Columns changed"
            messages.success(request, f"{changed}; the preview is running again.")
        elif action == "as_update":
            jobs.preview_as_update(job, request.user)
            messages.success(request, "The preview is running again as an update of the records already there.")
        elif action == "invalid_optional":
            choice = request.POST.get("invalid_optional", "")
            jobs.preview_with_options(job, request.user, {"invalid_optional": choice})
            messages.success(request, "The preview is running again with your choice for the problems it may let in.")
        elif action == "cancel":
            jobs.cancel(job, request.user)
        elif action == "undo":
            result = jobs.undo(job, request.user)
            schema = get_schema(job.schema)
            messages.success(
                request,
                f"Undone: {result.deleted:,} {schema.noun(result.deleted)} removed, {result.restored:,} restored, "
                f"{len(result.kept):,} left as they were (changed since the import). Messages already sent are not "
                "recalled.",
            )
    except jobs.JobRefused as exc:
        if exc.http_status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, describe_errors(exc))
    return redirect("imports:detail", pk=job.pk)


def _chosen_columns(request: HttpRequest, job: ImportJob) -> dict[str, str | int | None]:
    """The remap form's choices, validated as the API's `columns` option. The review's form names, for each column
    of the file, the field it feeds (`column_3=phone`; empty: "don't import this column"), and so the whole mapping:
    a field no column feeds is not imported. Field by field (`field_phone=Numba`; empty: "(none)", the field is not
    imported) is the older form's, still taken."""
    labels = get_schema(job.schema).labels
    if any(key.startswith("column_") for key in request.POST):
        return parse_columns(columns_by_field(request.POST, labels))
    return parse_columns({name: request.POST[f"field_{name}"] for name in labels if f"field_{name}" in request.POST})


def _chosen_fillers(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    """The mapping step's "stand in for a missing column" checkboxes: ticked sets the option, unticked clears it;
    only those the form showed (`fill_shown_<option>`), so a form without them changes nothing."""
    return {
        filler.option: filler.value if request.POST.get(f"fill_{filler.option}") else None
        for filler in get_schema(job.schema).fillers
        if f"fill_shown_{filler.option}" in request.POST
    }


def columns_by_field(post: Mapping[str, str], labels: Mapping[str, str]) -> dict[str, int | None]:
    """`column_<n>=<field>` choices as `field → column`, every field included (None: no column feeds it). A field
    chosen for two columns, or one the schema lacks, is a 400 naming it."""
    chosen: dict[str, int | None] = dict.fromkeys(labels)
    for key, name in post.items():
        number = key.removeprefix("column_")
        if number == key or not name:
            continue
        if not number.isascii() or not number.isdigit() or name not in labels:
            raise ValidationError({"columns": [f"{key}={name[:50]!r} is not a column and a field we import."]})
        if chosen[name] is not None:
            first, second = sorted((chosen[name], int(number)))
            letters = f"{column_letter(first)} and {column_letter(second)}"
            raise ValidationError({"columns": [f"{labels[name]} is chosen for two columns ({letters}): choose one."]})
        chosen[name] = int(number)
    return chosen
