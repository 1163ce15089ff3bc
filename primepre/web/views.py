"""The staff UI's shell: the dashboard. Each app serves its own pages (customers/, imports/, sms/, goods/ views)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from primepre.customers.models import Customer
from primepre.imports.models import ImportJob


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
