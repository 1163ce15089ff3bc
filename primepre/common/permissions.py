"""API permissions and pagination (kept apart from views: DRF imports these while its own views module loads)."""

from rest_framework import permissions
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
