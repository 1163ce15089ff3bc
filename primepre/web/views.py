"""Staff pages: server-rendered, little JavaScript, no build step. The rules are the directory's and the imports'
own (CustomerForm validates through the model; the list filters with the API's CustomerFilter)."""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from primepre.customers.api import CustomerFilter
from primepre.customers.export import iter_csv, write_xlsx
from primepre.customers.forms import CustomerForm
from primepre.customers.models import Customer, CustomerType
from primepre.customers.regions import Region
from primepre.imports.models import ImportJob

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
