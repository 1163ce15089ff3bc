"""What every endpoint of the REST API shares: the error shape (permissions and pagination: `permissions.py`).

Errors are JSON with a stable `code` (for programs), a `message` (for people) and, for validation errors, `fields`
mapping each field to its list of `{code, message}`; the request id is included so a user can quote it.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import error_body

__all__ = [
    "ApiRoot",
    "ErrorSerializer",
    "document_errors",
    "error_body",
    "error_responses",
    "exception_handler",
    "keep_request_names",
]


class FieldErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """The one error shape every endpoint answers with (schema component `Error`), so a client types its errors."""

    code = serializers.CharField(help_text="Stable, for programs: `validation_error`, `not_found`, `conflict`…")
    message = serializers.CharField(help_text="For people.")
    fields = serializers.DictField(
        child=FieldErrorSerializer(many=True), required=False, help_text="Validation errors: per field, a list."
    )
    request_id = serializers.CharField(required=False, help_text="Quote it when reporting a problem.")


class TrimmedTextField(OpenApiSerializerFieldExtension):
    """A text field of a request that DRF trims (the default) and that may not be blank needs a character other than
    whitespace: `pattern: \\S` says so, where `minLength: 1` alone lets a client send " " and get a 400."""

    target_class = "rest_framework.fields.CharField"  # exactly CharField: email, URL… fields have formats of their own

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        field = self.target
        if direction == "request" and field.trim_whitespace and not field.allow_blank and "pattern" not in schema:
            schema["pattern"] = r"\S"
        return schema


def error_responses(**described: str) -> dict[int, OpenApiResponse]:
    """`responses=` entries for the errors an operation answers: `error_responses(_409="`conflict`: …")`."""
    return {int(code[1:]): OpenApiResponse(ErrorSerializer, description=text) for code, text in described.items()}


# What every operation of a kind can answer; added to the schema by `document_errors` unless the view says more.
_EVERY = {"401": "`not_authenticated` (no or an expired token)", "403": "`permission_denied`: the role lacks it"}
_WITH_ID = {"404": "`not_found`"}
_WITH_QUERY = {"400": "`validation_error`: a bad parameter, named in `fields`"}
_PAGED = {"404": "`not_found`: the page is past the last one"}
_WITH_BODY = {
    "400": "`validation_error` naming the `fields`, or `invalid_json`",
    "413": "`too_large`: the body is over the size limit",
    "415": "`unsupported_media_type`: send one of the request body's content types",
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def keep_request_names(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: a serializer used only in requests keeps its own component name.

    COMPONENT_SPLIT_REQUEST (needed for `minLength`, `writeOnly` and the multipart binary to be right) names request
    components `<Name>Request`; where no response uses `<Name>`, the suffix only renames a type that generated
    clients already know, so it is dropped."""
    schemas = result.get("components", {}).get("schemas", {})
    renames = {
        name: name.removesuffix("Request")
        for name in list(schemas)
        if name.endswith("Request") and name != "Request" and name.removesuffix("Request") not in schemas
    }
    if not renames:
        return result
    for old, new in renames.items():
        schemas[new] = schemas.pop(old)
    refs = {f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in renames.items()}

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: refs.get(value, value) if key == "$ref" else rewrite(value) for key, value in node.items()}
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    return rewrite(result)


def _needs_fields(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """Whether a body of this schema must have some field (so an empty body is invalid)."""
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "oneOf" in schema:
        return all(_needs_fields(option, schemas) for option in schema["oneOf"])
    return bool(schema.get("required"))


def _shared_errors(operation: dict[str, Any]) -> dict[str, str]:
    """The error answers an operation has by its shape: its path and query parameters, its request body."""
    parameters = operation.get("parameters", [])
    errors = dict(_EVERY)
    if any(parameter.get("in") == "path" for parameter in parameters):
        errors.update(_WITH_ID)
    if any(parameter.get("in") == "query" for parameter in parameters):
        errors.update(_WITH_QUERY)
    if any(parameter.get("name") == "page" for parameter in parameters):
        errors.update(_PAGED)
    if "requestBody" in operation:
        errors.update(_WITH_BODY)
    return errors


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: documents, once for all, the error answers every operation shares.

    Authentication and permissions guard every endpoint (401/403), a path id can name nothing (404), a parameter or a
    body can be invalid (400), a body too large (413) or of the wrong type (415). An operation's own descriptions of
    these (and its 409/429) are kept."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    if "Error" not in schemas:
        from drf_spectacular.openapi import AutoSchema

        schemas["Error"] = AutoSchema()._map_serializer(ErrorSerializer(), "response")
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            body = operation.get("requestBody")
            if (
                body
                and not body.get("required")
                and all(
                    _needs_fields(content.get("schema", {}), schemas) for content in body.get("content", {}).values()
                )
            ):
                body["required"] = True  # drf-spectacular leaves a oneOf of shapes with required fields optional
            responses = operation.setdefault("responses", {})
            for code, description in _shared_errors(operation).items():
                responses.setdefault(
                    code, {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}
                )
    return result


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


class ModelValidated:
    """A ModelSerializer mixin: the input is judged by the model's own `full_clean` (its normalisation and its
    constraints), so the API, the admin and the pages give one input the same verdict and the same error codes.
    `writable` names the fields the validated data carries back (normalised by the model)."""

    writable: tuple[str, ...] = ()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = getattr(self, "instance", None)
        candidate = copy.copy(instance) if instance is not None else self.Meta.model()  # type: ignore[attr-defined]
        for name, value in attrs.items():
            setattr(candidate, name, value)
        try:
            candidate.full_clean()
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(serializers.as_serializer_error(exc)) from exc
        return {name: getattr(candidate, name) for name in self.writable if name in attrs or instance is None}
