"""Staff pages: server-rendered, little JavaScript, no build step. The rules are the directory's and the imports'
own (CustomerForm validates through the model; the list filters with the API's CustomerFilter)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from primepre.customers.api import CustomerFilter
from primepre.customers.export import iter_csv, write_xlsx
from primepre.customers.forms import CustomerForm
from primepre.customers.models import Customer, CustomerType
from primepre.customers.regions import Region
from primepre.imports import jobs
from primepre.imports.columns import FIELD_LABELS
from primepre.imports.errors import ImportFileError, human_size, too_large_message
from primepre.imports.models import ImportJob, ImportMode, ImportStatus
from primepre.imports.services import create_job, store_file
from primepre.imports.tasks import queue_job
from primepre.sms.api import body_too_long
from primepre.sms.backends import get_backend
from primepre.sms.models import SmsMessage, SmsStatus
from primepre.sms.segments import count_segments
from primepre.sms.services import render_welcome, retry_message, send_text, sms_enabled

logger = logging.getLogger("primepre.web")
SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "name": ("last_name", "first_name", "id"),
    "mark": ("mark_key", "id"),
}


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    week_ago = timezone.now() - dt.timedelta(days=7)
    can_import = request.user.has_perm("customers.import_customers")
    context = {
        "customer_count": Customer.objects.count() if request.user.has_perm("customers.view_customer") else None,
        "imports_this_week": ImportJob.objects.filter(created_at__gte=week_ago).count() if can_import else None,
        "recent_jobs": ImportJob.objects.select_related("created_by")[:5] if can_import else [],
    }
    return render(request, "web/dashboard.html", context)


def _filtered(request: HttpRequest) -> tuple[CustomerFilter, str]:
    sort = request.GET.get("sort", "newest")
    sort = sort if sort in SORTS else "newest"
    customers = Customer.objects.order_by(*SORTS[sort])
    return CustomerFilter(request.GET, queryset=customers, request=request), sort


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_list(request: HttpRequest) -> HttpResponse:
    filterset, sort = _filtered(request)
    queryset = filterset.qs if filterset.is_valid() else Customer.objects.none()
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/customer_list.html",
        {
            "page": page,
            "filters": filterset,
            "errors": filterset.errors,
            "sort": sort,
            "sorts": list(SORTS),
            "regions": Region.choices,
            "types": CustomerType.choices,
            "selected_regions": request.GET.getlist("region"),
            "query": query.urlencode(),
            "can_export": request.user.has_perm("customers.export_customers"),
        },
    )


@login_required
@permission_required("customers.view_customer", raise_exception=True)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    can_change = request.user.has_perm("customers.change_customer")
    if request.method == "POST":
        if not can_change:
            return HttpResponse("You may not change customers.", status=403)
        form = CustomerForm(request.POST, instance=customer)
        if form.is_valid():
            form.save()
            messages.success(request, f"Saved {customer.shipping_mark}.")
            return redirect("web:customer-detail", pk=customer.pk)
    else:
        form = CustomerForm(instance=customer)
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    return render(request, "web/customer_detail.html", {"customer": customer, "form": form, "can_change": can_change})


@login_required
@permission_required("customers.export_customers", raise_exception=True)
def customer_export(request: HttpRequest, file_format: str) -> HttpResponse:
    filterset, _ = _filtered(request)
    queryset = filterset.qs if filterset.is_valid() else Customer.objects.none()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    logger.info("[CUSTOMER-EXPORT] user=%s format=%s filters=%s", request.user.pk, file_format, request.GET.urlencode())
    if file_format == "csv":
        response = StreamingHttpResponse(iter_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
        return response
    return FileResponse(write_xlsx(queryset), as_attachment=True, filename=f"customers-{stamp}.xlsx")


# --- imports ---------------------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_history(request: HttpRequest) -> HttpResponse:
    jobs = ImportJob.objects.select_related("created_by")
    status = request.GET.get("status", "")
    if status in ImportStatus.values:
        jobs = jobs.filter(status=status)
    if request.GET.get("mine"):
        jobs = jobs.filter(created_by=request.user)
    page = Paginator(jobs, 25).get_page(request.GET.get("page"))
    return render(
        request, "web/import_history.html", {"page": page, "statuses": ImportStatus.choices, "status": status}
    )


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: the file and the options. The job starts as a preview (dry run): nothing is written yet."""
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        options: dict[str, object] = {}
        if request.POST.get("sheet"):
            options["sheet"] = request.POST["sheet"].strip()
        if request.POST.get("generate_marks"):
            options["missing_mark"] = "generate"
        if request.POST.get("send_welcome_sms"):
            options["send_welcome_sms"] = True
        mode = request.POST.get("mode") if request.POST.get("mode") in ImportMode.values else ImportMode.CREATE
        try:
            jobs.authorize_submit(request.user, mode, options)
        except jobs.JobRefused as exc:
            return HttpResponse(exc.message, status=exc.http_status, content_type="text/plain; charset=utf-8")
        if upload is None:
            error = "Choose a file to upload."
        elif upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:  # the middleware refuses most; a lying length ends here
            error = too_large_message()
        else:
            try:
                stored = store_file(upload)
            except ImportFileError as exc:
                error = exc.message
            else:
                job = create_job(
                    stored,
                    file_name=upload.name or "upload",
                    user=request.user,
                    mode=mode,
                    dry_run=True,
                    options=options,
                )
                queue_job(job)
                return redirect("web:import-detail", pk=job.pk)
    return render(
        request,
        "web/import_upload.html",
        {
            "error": error,
            "max_size": human_size(settings.IMPORT_MAX_UPLOAD_BYTES),
            "max_rows": settings.IMPORT_MAX_ROWS,
            "sms_enabled": sms_enabled(),
            "may_upsert": request.user.has_perm("customers.change_customer"),
            "may_send_sms": request.user.has_perm("customers.send_sms"),
        },
    )


@login_required
@permission_required("customers.import_customers", raise_exception=True)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Steps 2–4 on one page: preview (mapping, counts, failing rows), progress, result (chart, errors, undo)."""
    job = get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)
    if request.method == "POST":
        return _import_action(request, job)
    failing = Paginator(job.row_errors.order_by("row_number"), 25).get_page(request.GET.get("page"))
    headers = (job.column_mapping or {}).get("headers") or []
    rows = []
    for item in failing:
        bad = {error["column"]: error["message"] for error in item.errors}
        cells = [
            (_cell_text(value), headers[index] if index < len(headers) else "")
            for index, value in enumerate(item.values)
        ]
        rows.append({"row": item.row_number, "cells": [(v, h, bad.get(h)) for v, h in cells], "errors": item.errors})
    mapped = {info["header"]: name for name, info in ((job.column_mapping or {}).get("fields") or {}).items()}
    counts = job.counts
    total = max(counts["read"], 1)
    chart = [
        (name, counts[name], round(100 * counts[name] / total))
        for name in ("created", "updated", "unchanged", "failed")
    ]
    return render(
        request,
        "web/import_detail.html",
        {
            "job": job,
            "failing": failing,
            "rows": rows,
            "headers": headers,
            "mapped": mapped,
            "fields": FIELD_LABELS,
            "chart": chart,
            "live": job.is_live,
            "may_manage": jobs.may_manage(request.user, job),
            "can_undo": job.can_undo and jobs.may_undo(request.user, job),
        },
    )


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
            jobs.remap(job, request.user, _chosen_columns(request))
            messages.success(request, "Columns changed; the preview is running again.")
        elif action == "cancel":
            jobs.cancel(job, request.user)
        elif action == "undo":
            result = jobs.undo(job, request.user)
            messages.success(
                request,
                f"Undone: {result.deleted} customers removed, {result.restored} restored, "
                f"{len(result.kept)} left as they were (edited since the import).",
            )
    except jobs.JobRefused as exc:
        if exc.http_status == 403:
            return HttpResponse(exc.message, status=403, content_type="text/plain; charset=utf-8")
        messages.error(request, exc.message)
    return redirect("web:import-detail", pk=job.pk)


def _chosen_columns(request: HttpRequest) -> dict[str, str]:
    return {name: request.POST.get(f"field_{name}") for name in FIELD_LABELS if request.POST.get(f"field_{name}")}


# --- SMS -------------------------------------------------------------------------------------------------------------


@login_required
@permission_required("customers.send_sms", raise_exception=True)
def sms_page(request: HttpRequest) -> HttpResponse:
    """SMS at a glance: on or off (and why), counts, recent failures with a retry, the welcome text and its cost."""
    if request.method == "POST" and request.POST.get("retry", "").isdigit():
        if retry_message(int(request.POST["retry"])):
            messages.success(request, "The message is queued again.")
        return redirect("web:sms")
    backend = get_backend()
    counts = dict(SmsMessage.objects.values_list("status").annotate(n=Count("id")).order_by())
    welcome = render_welcome(Customer(first_name="Kofi", last_name="Mensah", shipping_mark="PM4 KOFI"))
    return render(
        request,
        "web/sms.html",
        {
            "backend": backend,
            "counts": [(label, counts.get(value, 0)) for value, label in SmsStatus.choices],
            "failures": SmsMessage.objects.filter(status__in=[SmsStatus.FAILED, SmsStatus.UNDELIVERED]).order_by(
                "-updated_at"
            )[:20],
            "welcome": welcome,
            "welcome_segments": count_segments(welcome),
            "rate": settings.SMS_RATE_PER_SECOND,
        },
    )


@login_required
@permission_required("customers.send_sms", raise_exception=True)
def sms_send(request: HttpRequest) -> HttpResponse:
    """A text to the customers of the current list filter (or one customer): see the count, then confirm it."""
    filterset, _ = _filtered(request)
    recipients = filterset.qs if filterset.is_valid() else Customer.objects.none()
    count = recipients.count()
    body = request.POST.get("body", "").strip()
    segments = count_segments(body) if body else None
    error = body_too_long(body)  # the API's limit: nothing is queued, the page says why
    if (
        request.method == "POST"
        and body
        and not error
        and request.POST.get("confirm_recipients") == str(count)
        and count
    ):
        if not get_backend().enabled:
            messages.error(request, f"SMS is off: {get_backend().reason}.")
        else:
            queued = send_text(recipients, body, sender_id=request.user.pk)
            messages.success(request, f"{queued} message(s) queued; they go out at {settings.SMS_RATE_PER_SECOND:g}/s.")
            return redirect("web:sms")
    return render(
        request,
        "web/sms_send.html",
        {
            "count": count,
            "body": body,
            "segments": segments,
            "query": request.GET.urlencode(),
            "enabled": get_backend().enabled,
            "error": error,
            "filter_errors": filterset.errors,
            "max_length": settings.SMS_MAX_LENGTH,
        },
    )
