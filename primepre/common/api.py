"""What every endpoint of the REST API shares: the error shape (permissions and pagination: `permissions.py`).

Errors are JSON with a stable `code` (for programs), a `message` (for people) and, for validation errors, `fields`
mapping each field to its list of `{code, message}`; the request id is included so a user can quote it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import error_body

__all__ = ["ApiRoot", "error_body", "exception_handler"]


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[dict[str, str]]]:
    """Flatten DRF's nested ErrorDetail structure into `{"field": [{"code", "message"}]}`."""
    result: dict[str, list[dict[str, str]]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            for field, errors in _field_errors(value, name).items():
                result.setdefault(field, []).extend(errors)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            if isinstance(item, (dict, list)):
                for field, errors in _field_errors(item, f"{prefix}[{index}]").items():
                    result.setdefault(field, []).extend(errors)
            else:
                result.setdefault(prefix or "non_field_errors", []).append(
                    {"code": getattr(item, "code", "invalid"), "message": str(item)}
                )
    else:
        result.setdefault(prefix or "non_field_errors", []).append(
            {"code": getattr(detail, "code", "invalid"), "message": str(detail)}
        )
    return result


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    request_id = getattr(getattr(request, "_request", request), "request_id", None)
    if isinstance(exc, IntegrityError):
        # A concurrent write won the race for a unique value between our check and our insert.
        exc = exceptions.ValidationError(
            {"non_field_errors": [exceptions.ErrorDetail("This conflicts with an existing customer.", "conflict")]}
        )
        exc.status_code = status.HTTP_409_CONFLICT
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        count = sum(len(errors) for errors in fields.values())
        first = next(iter(fields.values()))[0]["message"] if fields else "Invalid input."
        message = first if count == 1 else f"{count} problems with the input; see fields."
        code = "conflict" if response.status_code == 409 else "validation_error"
        response.data = error_body(code, message, fields=fields)
    else:
        detail = getattr(exc, "detail", None)
        code = detail.code if isinstance(detail, exceptions.ErrorDetail) else getattr(exc, "default_code", "error")
        response.data = error_body(str(code), str(detail) if detail is not None else str(exc))
    if request_id:
        response.data["request_id"] = request_id
    return response


class ApiRoot(APIView):
    """Entry point listing the API's main resources."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response(
            {
                "customers": request.build_absolute_uri("/api/v1/customers/"),
                "schema": request.build_absolute_uri("/api/schema/"),
                "docs": request.build_absolute_uri("/api/docs/"),
            }
        )
