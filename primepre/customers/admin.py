from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .forms import CustomerForm
from .models import Customer
from .search import search_customers


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = (
        "shipping_mark",
        "first_name",
        "last_name",
        "phone",
        "email",
        "region",
        "customer_type",
        "created_at",
    )
    list_filter = ("region", "customer_type", ("created_at", admin.DateFieldListFilter))
    # Searching is ours (phones in any format, folded marks); this only switches the search box on.
    search_fields = ("shipping_mark",)
    search_help_text = "Phone in any format, shipping mark, name, company or email."
    readonly_fields = ("mark_key", "created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("shipping_mark", "first_name", "last_name", "phone", "email")}),
        ("Details", {"fields": ("region", "company_name", "customer_type")}),
        ("Audit", {"fields": ("mark_key", "created_by", "created_at", "updated_at")}),
    )
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        return search_customers(queryset, search_term), False

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
