"""The staff UI's shell: the dashboard. Each app serves its own pages (customers/, imports/, sms/, goods/ views)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from primepre.customers.models import Customer
from primepre.goods.dashboard import warehouse_summary
from primepre.imports.jobs import may_import
from primepre.imports.models import ImportJob


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Per role: the directory's size and the latest imports for whoever may import (the same rule as the nav and
    the API), the warehouse's day for whoever works on goods, and the next step on a fresh install."""
    user = request.user
    week_ago = timezone.now() - dt.timedelta(days=7)
    can_import = may_import(user)
    customer_count = Customer.objects.count() if user.has_perm("customers.view_customer") else None
    context = {
        "customer_count": customer_count,
        "imports_this_week": ImportJob.objects.filter(created_at__gte=week_ago).count() if can_import else None,
        "recent_jobs": ImportJob.objects.select_related("created_by")[:5] if can_import else [],
        "warehouse": warehouse_summary() if user.has_perm("goods.view_goodsreceipt") else None,
        "can_import_goods": user.has_perm("goods.import_goods"),
        "first_customers": user.has_perm("customers.import_customers") and not Customer.objects.exists(),
    }
    return render(request, "web/dashboard.html", context)
