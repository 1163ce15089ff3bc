from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import GoodsReceipt, MarkAlias


@admin.register(GoodsReceipt)
class GoodsReceiptAdmin(admin.ModelAdmin):
    list_display = ("shipping_mark", "customer", "received_on", "warehouse", "cartons", "cbm", "method", "status")
    list_filter = ("status", "method", "warehouse", ("received_on", admin.DateFieldListFilter))
    search_fields = ("mark_key", "tracking_key", "description")
    raw_id_fields = ("customer",)  # a select of 100,000 customers would be one huge page
    readonly_fields = ("mark_key", "tracking_key", "import_job", "created_by", "created_at", "updated_at")
    date_hierarchy = "received_on"
    list_per_page = 50
    show_full_result_count = False

    def has_delete_permission(self, request: HttpRequest, obj: GoodsReceipt | None = None) -> bool:
        return False  # a receipt is cancelled (status), never deleted: its history is what bills and containers use


@admin.register(MarkAlias)
class MarkAliasAdmin(admin.ModelAdmin):
    list_display = ("shipping_mark", "mark_key", "customer", "created_by", "created_at")
    search_fields = ("mark_key",)
    raw_id_fields = ("customer",)
    readonly_fields = ("created_by", "created_at")
