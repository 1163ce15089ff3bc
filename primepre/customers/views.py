"""The customer directory's staff pages: the list (search, filters, sort, pages), a customer's page (read, with Edit
for whoever may change customers) and its edit form, and the export of the current filter. The rules are the
directory's own: CustomerForm validates through the model, the list filters with the API's CustomerFilter."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from primepre.common.paging import BoundedPaginator
from primepre.common.phonemask import loggable_query
from primepre.common.refusals import page_requires

from .export import iter_csv, write_xlsx
from .filters import PAGE_SORTS, page_filter
from .forms import CustomerForm
from .models import Customer, CustomerType
from .readlimit import limit_reads
from .regions import Region

logger = logging.getLogger("primepre.customers")
PAGE_SIZE = 50


@login_required
@page_requires("customers.view_customer")
@limit_reads  # viewers: CUSTOMER_LIST_RATE_FOR_VIEWERS, one count with the API
def customer_list(request: HttpRequest) -> HttpResponse:
    filterset, sort = page_filter(request)
    queryset = filterset.qs if filterset.is_valid() else Customer.objects.none()
    # Counted up to 10,000 ("10,000+"); a search's page and count come from one scan (primepre/common/paging.py).
    searching = bool(filterset.is_valid() and filterset.form.cleaned_data.get("search"))
    page = BoundedPaginator(queryset, PAGE_SIZE, count_with_page=searching).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/customer_list.html",
        {
            "page": page,
            "filters": filterset,
            "errors": filterset.errors,
            "sort": sort,
            "sorts": list(PAGE_SORTS),
            "regions": Region.choices,
            "types": CustomerType.choices,
            "selected_regions": request.GET.getlist("region"),
            "query": query.urlencode(),  # the exports and "Send SMS to this list" take the same filter
            "can_export": request.user.has_perm("customers.export_customers"),
        },
    )


@login_required
@page_requires("customers.view_customer")
@limit_reads  # viewers: CUSTOMER_LIST_RATE_FOR_VIEWERS, one count with the API
@require_safe  # a read view: changes go through the edit page, for whoever may change customers
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer.objects.select_related("created_by"), pk=pk)
    can_change = request.user.has_perm("customers.change_customer")
    return render(request, "customers/customer_detail.html", {"customer": customer, "can_change": can_change})


@login_required
@page_requires("customers.change_customer")
@limit_reads  # the form shows every field: counted as a read, like the customer page
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    if request.method == "POST":
        form = CustomerForm(request.POST, instance=customer)
        if form.is_valid():
            form.save()
            messages.success(request, f"Saved {customer.shipping_mark}.")
            return redirect("customers:detail", pk=customer.pk)
        customer = Customer.objects.get(pk=pk)  # the heading shows the customer as saved, not the refused values
        first_error = next((name for name in form.fields if name in form.errors), None)
        if first_error:  # the keyboard lands on what to fix
            form.fields[first_error].widget.attrs["autofocus"] = True
    else:
        form = CustomerForm(instance=customer)
    return render(request, "customers/customer_edit.html", {"customer": customer, "form": form})


@login_required
@page_requires("customers.export_customers")
def customer_export(request: HttpRequest, file_format: str) -> HttpResponse:
    filterset, _ = page_filter(request)
    queryset = filterset.qs if filterset.is_valid() else Customer.objects.none()
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    # The search may be a phone, in any spelling: masked here, on the decoded values (the log filter masks again).
    filters = loggable_query(request.GET)
    logger.info("[CUSTOMER-EXPORT] user=%s format=%s filters=%s", request.user.pk, file_format, filters)
    if file_format == "csv":
        response = StreamingHttpResponse(iter_csv(queryset), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
        return response
    return FileResponse(write_xlsx(queryset), as_attachment=True, filename=f"customers-{stamp}.xlsx")
