from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .history import save_with_history
from .models import ChangeSource, GoodsReceipt, MarkAlias, ReceiptChange


class ReceiptChangeInline(admin.TabularInline):
    """The receipt's history on its admin page: read-only, newest first, for whoever may see the receipt."""

    model = ReceiptChange
    fields = ("changed_at", "changed_by_name", "source", "what_changed")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "change"
    verbose_name_plural = "history (every change to this receipt)"

    @admin.display(description="before → after")
    def what_changed(self, change: ReceiptChange) -> str:
        return "; ".join(f"{name}: {value['before']} → {value['after']}" for name, value in change.changes.items())

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).order_by("-changed_at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The history is part of the receipt: whoever may see the receipt sees it (no permission of its own).
        return request.user.has_perm("goods.view_goodsreceipt") or request.user.has_perm("goods.change_goodsreceipt")


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
    inlines = [ReceiptChangeInline]

    def save_model(self, request: HttpRequest, obj: GoodsReceipt, form: Any, change: bool) -> None:
        """An edit is recorded in the receipt's history, in the admin's own transaction (receipts are never added
        here: imports create them)."""
        if not change:
            super().save_model(request, obj, form, change)
            return

        def apply(stored: GoodsReceipt) -> GoodsReceipt:
            super(GoodsReceiptAdmin, self).save_model(request, obj, form, change)
            return obj

        save_with_history(obj.pk, apply, request.user, ChangeSource.ADMIN)

    def has_delete_permission(self, request: HttpRequest, obj: GoodsReceipt | None = None) -> bool:
        return False  # a receipt is cancelled (status), never deleted: its history is what bills and containers use


@admin.register(MarkAlias)
class MarkAliasAdmin(admin.ModelAdmin):
    list_display = ("shipping_mark", "mark_key", "customer", "created_by", "created_at")
    search_fields = ("mark_key",)
    raw_id_fields = ("customer",)
    readonly_fields = ("created_by", "created_at")
