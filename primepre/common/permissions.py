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


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class HasModelPermission(permissions.DjangoModelPermissions):
    """Django model permissions for every action, reads included (`view_*`): staff see only what their role allows."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


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
