"""A refused page says why in words and keeps the app around it: "Your role (Warehouse) cannot send SMS", with the
navigation and a way back, instead of a bare "403 Forbidden". Views raise `PermissionDenied(refusal(user, perm))` (or
use `page_requires`); `config.errors.permission_denied` renders it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

# What each permission lets someone do, as the refusal says it.
DOING = {
    "customers.view_customer": "see customers",
    "customers.add_customer": "add customers",
    "customers.change_customer": "change customers",
    "customers.delete_customer": "delete customers",
    "customers.export_customers": "export customers",
    "customers.import_customers": "import customer sheets",
    "customers.send_sms": "send SMS",
    "goods.view_goodsreceipt": "see goods received",
    "goods.change_goodsreceipt": "change goods receipts",
    "goods.import_goods": "import goods sheets",
    "goods.resolve_marks": "resolve unknown marks",
    "imports.manage_all_imports": "act on other people's imports",
}


def roles_of(user: Any) -> str:
    names = sorted(user.groups.values_list("name", flat=True)) if getattr(user, "is_authenticated", False) else []
    return ", ".join(names) or "no role"


def refusal(user: Any, permission: str) -> str:
    """`Your role (Warehouse) cannot send SMS.`"""
    doing = DOING.get(permission, f"do this (it needs {permission})")
    return f"Your role ({roles_of(user)}) cannot {doing}."


def page_requires(permission: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like Django's `permission_required(…, raise_exception=True)`, with the refusal in words."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied(refusal(request.user, permission))
            return view(request, *args, **kwargs)

        return guarded

    return decorate
