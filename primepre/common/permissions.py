"""API permissions and pagination (kept apart from views: DRF imports these while its own views module loads)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions, permissions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from .paging import COUNT_LIMIT, BoundedPaginator


class Pagination(PageNumberPagination):
    """`?page=` and `?page_size=` are whole numbers from 1 (page_size up to 500), as the schema says; anything else is
    a 400 naming the parameter, where DRF would silently fall back to the default page size or answer 404.

    `count` is exact up to COUNT_LIMIT rows; past it `count` is the limit and `count_exact` is false ("10,000+"):
    counting every match of a search is a second scan of the table (primepre/common/paging.py)."""

    page_size_query_param = "page_size"
    max_page_size = 500
    django_paginator_class = BoundedPaginator

    def get_paginated_response(self, data: Any) -> Response:
        paginator = self.page.paginator
        return Response(
            {
                "count": paginator.display_count,
                "count_exact": paginator.count_is_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        documented = super().get_paginated_response_schema(schema)
        documented["required"] = ["count", "count_exact", "results"]
        documented["properties"]["count"] = {
            "type": "integer",
            "minimum": 0,
            "example": 123,
            "description": f"Rows in the whole list, counted exactly up to {COUNT_LIMIT:,} (or as far as the page "
            "asked for reaches); when `count_exact` is false there are more rows than this.",
        }
        documented["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "Whether `count` is the exact number of rows (false: more than `count`).",
        }
        return documented

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> Any:
        for name, most in ((self.page_query_param, None), (self.page_size_query_param, self.max_page_size)):
            raw = request.query_params.get(name)
            if raw is None:
                continue
            value = raw.strip()
            # The length first: int() of thousands of digits is refused by Python itself.
            if not (value.isascii() and value.isdigit()) or len(value) > 18 or int(value) < 1:
                raise exceptions.ValidationError({name: [_whole_number(name, most)]})
            if most is not None and int(value) > most:
                raise exceptions.ValidationError({name: [_whole_number(name, most)]})
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters


def _whole_number(name: str, most: int | None) -> exceptions.ErrorDetail:
    upper = f" to {most}" if most is not None else ""
    return exceptions.ErrorDetail(f"Give `{name}` as a whole number from 1{upper}.", code="invalid")


class HasModelPermission(permissions.DjangoModelPermissions):
    """Django model permissions for every action, reads included (`view_*`): staff see only what their role allows."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


def requires(permission: str, **for_action: str) -> type[permissions.BasePermission]:
    """A DRF permission class that needs `permission` (or, for a view action named in `for_action`, that action's
    own): one class for every endpoint guarded by a single permission, so the rule cannot drift between copies.
    Anonymous callers get 401 `not_authenticated`, signed-in callers without the permission 403."""

    class RequiresPermission(permissions.BasePermission):
        def has_permission(self, request: Any, view: Any) -> bool:
            if not request.user or not request.user.is_authenticated:
                raise exceptions.NotAuthenticated()
            return request.user.has_perm(for_action.get(getattr(view, "action", None) or "", permission))

    RequiresPermission.__name__ = RequiresPermission.__qualname__ = f"Requires[{permission}]"
    RequiresPermission.__doc__ = f"Needs `{permission}`" + "".join(
        f"; `{action}` needs `{needed}`" for action, needed in for_action.items()
    )
    return RequiresPermission


def requires_any(permissions_of: Callable[[], list[str]]) -> type[permissions.BasePermission]:
    """A DRF permission class that needs any one of the permissions `permissions_of()` lists when asked (a list that
    grows with the apps, e.g. every kind of sheet's import permission). 401 for anonymous callers, else 403."""

    class RequiresAny(permissions.BasePermission):
        def has_permission(self, request: Any, view: Any) -> bool:
            if not request.user or not request.user.is_authenticated:
                raise exceptions.NotAuthenticated()
            return any(request.user.has_perm(permission) for permission in permissions_of())

    return RequiresAny


def may_read_api_docs(user: Any) -> bool:
    """The schema maps every endpoint and field: with DEBUG off, only staff who hold some permission read it."""
    return bool(user and user.is_authenticated and (user.is_superuser or user.get_all_permissions()))


class CanReadApiDocs(permissions.BasePermission):
    """`/api/schema/`: open while DEBUG; otherwise 401 for anonymous clients, 403 without any permission."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if settings.DEBUG:
            return True
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        return may_read_api_docs(request.user)


def docs_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """`/api/docs/` is a page: with DEBUG off an anonymous visitor is sent to the login page (then back)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.DEBUG and not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped
