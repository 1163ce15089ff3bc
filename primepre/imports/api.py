"""REST API for import jobs: `/api/v1/imports/`.

The request only stores the file (streamed to disk, checked by content) and queues the job; a worker runs it. Every
error is JSON with a stable `code`, and passes through the CORS middleware like any other response.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.filters import OrderingFilter
from rest_framework.request import Request
from rest_framework.response import Response

from primepre.common.api import error_body, error_responses
from primepre.common.csvstream import csv_lines
from primepre.common.filters import StrictFilterBackend, id_param
from primepre.common.permissions import requires_any

from . import jobs
from .errors import ImportFileError, too_large_body
from .jobs import JobRefused, authorize_submit, import_permissions
from .models import ImportChange, ImportJob, ImportRowError, ImportRowWarning, ImportStatus
from .options import MAX_COLUMN_OVERRIDES, MAX_HEADER_CHARS, Submission, json_body_options
from .readers import _json_shape
from .report import iter_csv_report_rows, write_xlsx_report
from .schema import DEFAULT_SCHEMA, get_schema
from .serializers import (
    ColumnsField,
    ImportOptionsSerializer,
    ImportRemapSerializer,
    ImportUploadSerializer,
    UploadedFileField,
    parse_options,
)
from .services import store_file
from .stream import event_stream

# How the options' own fields appear in the OpenAPI schema (set here: serializers.py also serves the wizard's pages,
# which do not load the schema generator).
# `columns` as ColumnsField takes it: field names (at most 50) → a header, a 0-based column number or null.
COLUMNS_SCHEMA = {
    "type": "object",
    "maxProperties": MAX_COLUMN_OVERRIDES,
    "propertyNames": {"pattern": "^[a-z_][a-z0-9_]{0,39}$"},
    "additionalProperties": {
        "oneOf": [
            {"type": "string", "maxLength": MAX_HEADER_CHARS},
            {"type": "integer", "minimum": 0, "maximum": settings.IMPORT_MAX_COLUMNS - 1},
        ],
        "nullable": True,
    },
}
extend_schema_field(COLUMNS_SCHEMA)(ColumnsField)
extend_schema_field(OpenApiTypes.BINARY)(UploadedFileField)

CHUNK = 1 << 16


class EventStreamRenderer(renderers.BaseRenderer):
    """Lets content negotiation accept a browser's `Accept: text/event-stream` (EventSource) for the events view."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return b"" if data is None else json.dumps(data, default=str).encode()


class ImportJobSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField()
    percent = serializers.SerializerMethodField()
    rows_per_second = serializers.SerializerMethodField()
    eta_seconds = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    error = serializers.SerializerMethodField()
    saved_mapping = serializers.SerializerMethodField(
        help_text="The saved mapping the columns came from (a correction made in an earlier import of files with the "
        'same headers): {"id", "job": the import it was corrected in, "date"}; null when detected or chosen.'
    )
    links = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "schema",
            "status",
            "mode",
            "dry_run",
            "file_name",
            "file_size",
            "sha256",
            "file_format",
            "sheet_name",
            "header_row",
            "column_mapping",
            "saved_mapping",
            "unknown_columns",
            "options",
            "counts",
            "total_rows",
            "percent",
            "rows_per_second",
            "eta_seconds",
            "seconds",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "undone_at",
            "undo_result",
            "error",
            "links",
        ]
        read_only_fields = fields

    def get_counts(self, job: ImportJob) -> dict[str, int]:
        return job.counts

    def get_percent(self, job: ImportJob) -> float | None:
        return job.percent

    def get_rows_per_second(self, job: ImportJob) -> float:
        return round(job.rows_per_second, 1)

    def get_eta_seconds(self, job: ImportJob) -> float | None:
        if job.status != ImportStatus.RUNNING or not job.total_rows or not job.rows_per_second:
            return None
        return round(max(0, job.total_rows - job.rows_read) / job.rows_per_second, 1)

    def get_error(self, job: ImportJob) -> dict[str, str] | None:
        return {"code": job.error_code, "message": job.error_message} if job.error_code else None

    def get_saved_mapping(self, job: ImportJob) -> dict[str, Any] | None:
        return (job.column_mapping or {}).get("saved_mapping") or None

    def get_links(self, job: ImportJob) -> dict[str, str]:
        base = reverse("import-detail", args=[job.pk])
        links = {
            "self": base,
            "remap": f"{base}remap/",
            "events": f"{base}events/",
            "errors": f"{base}errors/",
            "warnings": f"{base}warnings/",
            "changes": f"{base}changes/",
            "errors_xlsx": f"{base}errors.xlsx",
            "errors_csv": f"{base}errors.csv",
        }
        schema = get_schema(job.schema)
        if schema.records_api:
            # The records the job created, also under the link's first name (`customers`) for the first schema's jobs.
            links["records"] = f"{reverse(schema.records_api)}?import_job={job.pk}"
            if job.schema == DEFAULT_SCHEMA:
                links[DEFAULT_SCHEMA] = links["records"]
        return links


class RowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["row_number", "errors", "values"]


class RowWarningSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRowWarning
        fields = ["row_number", "dropped", "values"]
        extra_kwargs = {
            "dropped": {"help_text": 'The cells left out: [{"column", "field", "code", "message", "value"}].'}
        }


class ChangeSerializer(serializers.ModelSerializer):
    """What an upsert changes on one record (a preview) or changed (a run): the changed fields before and after."""

    record = serializers.IntegerField(
        source="record_id", help_text="The changed record's id in its kind of sheet's records."
    )
    before = serializers.SerializerMethodField(help_text="The changed fields' values before the import.")

    class Meta:
        model = ImportChange
        fields = ["row_number", "record", "before", "after"]

    def get_before(self, change: ImportChange) -> dict[str, Any]:
        return {name: value for name, value in change.before.items() if name in change.after}


def _refused(exc: JobRefused) -> Response:
    return Response(error_body(exc.code, exc.message, **exc.details), status=exc.http_status)


def _too_large() -> Response:
    # The same body as config.middleware.UploadLimitMiddleware's, which refuses most of them before the view.
    return Response(too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


def _discard_body(request: Any, declared: int) -> None:
    remaining = min(declared, settings.IMPORT_MAX_UPLOAD_BYTES * 4)
    while remaining > 0:
        chunk = request.read(min(CHUNK * 16, remaining))
        if not chunk:
            return
        remaining -= len(chunk)


class UploadTooLarge(Exception):
    pass


def _stream_to_temp(source: Any) -> Path:
    """Copy a request body or an uploaded file to a temporary file in chunks, stopping at the size limit."""
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    size = 0
    with tempfile.NamedTemporaryFile(prefix="primepre-body-", delete=False) as temp:
        chunks = source.chunks(CHUNK) if hasattr(source, "chunks") else iter(lambda: source.read(CHUNK), b"")
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                temp.close()
                Path(temp.name).unlink(missing_ok=True)
                raise UploadTooLarge()
            temp.write(chunk)
    return Path(temp.name)


def _require_json_object(path: Path) -> None:
    """A JSON body is an object (`{"rows": [...], …options}`), as the schema says: `[null, null]` is refused."""
    with open(path, "rb") as handle:
        start = handle.read(64).lstrip(b" \t\r\n\xef\xbb\xbf")
    if not start.startswith(b"{"):
        raise ImportFileError("invalid_json", 'Send a JSON object: {"rows": [...], and the options}.')


def _read_upload(django_request: Any, content_type: str) -> tuple[Path, str, Submission]:
    """The request's file, streamed to a temporary file (bounded; the caller deletes it), its name and its validated
    options (a 400 `validation_error` naming the fields otherwise)."""
    if content_type.startswith("multipart/form-data"):
        upload = django_request.FILES.get("file")
        if upload is None:
            raise ImportFileError("no_file", "Send the spreadsheet as a multipart field named `file`.")
        submission = parse_options({**django_request.POST.dict(), "file": upload}, ImportUploadSerializer)
        return _stream_to_temp(upload), upload.name or "upload", submission
    if content_type in {"application/json", ""} or content_type.endswith("+json"):
        temp = _stream_to_temp(django_request)
        try:
            _require_json_object(temp)
            options = {**django_request.GET.dict(), **json_body_options(temp)}
            # `rows` must be an array of row objects: `{}` or `{"rows": [[1]]}` is refused now (400), by the
            # worker's own shape check, rather than queued as a job bound to fail.
            _json_shape(temp)
            submission = parse_options(options, ImportOptionsSerializer)
            return temp, f"{submission['schema']}.json", submission
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    raise ImportFileError("unsupported_media_type", "Send multipart/form-data with a `file`, or application/json rows.")


class ImportJsonUploadSerializer(ImportOptionsSerializer):
    """A JSON upload (the schema's; the view reads the body itself): the options as keys, and the rows."""

    rows = serializers.ListField(
        child=serializers.DictField(), help_text="The rows: one object per row, column header → value."
    )
    customers = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="The same as `rows` (the first frontend's name)."
    )


@extend_schema(tags=["imports"])
class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Bulk imports of customers: upload, preview, confirm, follow, cancel, undo, download the errors."""

    permission_classes = [requires_any(import_permissions)]  # every endpoint, reads included: any kind of sheet
    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.select_related("created_by")
    filterset_fields = {"status": ["exact"], "mode": ["exact"], "created_by__username": ["exact"]}
    filter_backends = [StrictFilterBackend, OrderingFilter]  # `?status=` (no value) is a 400, not "every row"
    ordering_fields = ["created_at", "finished_at", "rows_read"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self) -> QuerySet:
        queryset = super().get_queryset()
        user = self.request.query_params.get("user", "").strip()
        if user:
            # Digits are an id (in the primary key's range, or a 400); anything else is a username.
            if user.isascii() and user.isdigit():
                queryset = queryset.filter(created_by_id=id_param(user, "user"))
            else:
                queryset = queryset.filter(created_by__username=user)
        return queryset

    @extend_schema(
        summary='Upload a file (multipart `file`) or JSON rows (`{"rows": [...]}`) and queue the import',
        request={
            "multipart/form-data": ImportUploadSerializer,
            "application/json": ImportJsonUploadSerializer,
        },
        responses={
            202: ImportJobSerializer,
            **error_responses(
                _400="an unreadable file (`unsupported_format`, `invalid_json`, …) or options (`validation_error`)",
                _413="`too_large`: over IMPORT_MAX_UPLOAD_BYTES",
                _415="`unsupported_media_type`: send multipart/form-data or application/json",
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        django_request = request._request
        content_type = django_request.content_type or ""
        declared = int(django_request.META.get("CONTENT_LENGTH") or 0)
        if declared > settings.IMPORT_MAX_UPLOAD_BYTES + 64 * 1024:
            # Refuse without parsing or storing anything. The body is read and dropped (bounded): a client that is
            # still sending when the server hangs up sees a reset connection, not our 413.
            _discard_body(django_request, declared)
            return _too_large()
        temp: Path | None = None
        try:
            temp, file_name, submission = _read_upload(django_request, content_type)
            authorize_submit(request.user, submission["mode"], submission["options"], submission["schema"])
            stored = store_file(temp)
            job = jobs.submit(stored, file_name=Path(file_name).name, user=request.user, **submission)
        except UploadTooLarge:
            return _too_large()
        except ImportFileError as exc:
            code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE if exc.code == "unsupported_media_type" else 400
            return Response(error_body(exc.code, exc.message, **exc.details), status=code)
        except JobRefused as exc:
            return _refused(exc)
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)
        data = self.get_serializer(job).data
        earlier = ImportJob.objects.filter(sha256=stored.sha256).exclude(pk=job.pk).order_by("-created_at").first()
        if earlier is not None:
            data["same_file_as"] = {"id": earlier.pk, "status": earlier.status, "created_at": earlier.created_at}
        response = Response(data, status=status.HTTP_202_ACCEPTED)
        response["Location"] = reverse("import-detail", args=[job.pk])
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(response, Response) and response.status_code >= 400 and self.action == "events":
            # An error is the API's JSON error, whatever the stream's negotiation (`?format=event-stream`) chose.
            response = super().finalize_response(request, response, *args, **kwargs)
            response.accepted_renderer = renderers.JSONRenderer()
            response.accepted_media_type = response.accepted_renderer.media_type
            return response
        return super().finalize_response(request, response, *args, **kwargs)

    def _job_response(self, job: ImportJob, code: int = status.HTTP_200_OK) -> Response:
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=code)

    def _act(self, act: Any, code: int = status.HTTP_200_OK) -> Response:
        job = self.get_object()
        try:
            act(job, self.request.user)
        except JobRefused as exc:
            return _refused(exc)
        return self._job_response(job, code)

    @extend_schema(
        summary="Run a previewed import for real",
        request=None,
        responses={
            202: ImportJobSerializer,
            **error_responses(_409="`not_previewed`: only a preview can be confirmed"),
        },
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        return self._act(jobs.confirm, status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Preview again with other columns, on another sheet, or (an empty body) with the columns detected",
        request=ImportRemapSerializer,
        responses={
            202: ImportJobSerializer,
            **error_responses(
                _400="`validation_error`; `bad_mapping`: a field we do not import, a column number past the file's "
                "last column (`columns`: how many it has) or a header it lacks (`headers`); `unknown_sheet`: no such "
                "sheet (`sheets`: the workbook's); `not_a_fill_option`: `fill` names an option that cannot stand in "
                "for a column",
                _409="`not_remappable`: only a preview, a failed import or one waiting for its columns",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def remap(self, request: Request, pk: str | None = None) -> Response:
        serializer = ImportRemapSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chosen = serializer.validated_data
        return self._act(
            lambda job, user: jobs.remap(
                job, user, chosen.get("columns") or {}, chosen.get("sheet"), chosen.get("fill") or {}
            ),
            status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        summary="Stop an import between batches (committed batches stay)",
        request=None,
        responses={200: ImportJobSerializer, **error_responses(_409="`not_cancellable`: the import has ended")},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._act(jobs.cancel)

    @extend_schema(
        summary="Delete what the import created and restore what it changed",
        request=None,
        responses={200: ImportJobSerializer, **error_responses(_409="`not_undoable`: not finished, or undone already")},
    )
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: str | None = None) -> Response:
        return self._act(jobs.undo)

    @extend_schema(summary="The failed rows, paginated", responses=RowErrorSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])  # the list's filters do not apply to a job's rows
    def errors(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        page = self.paginate_queryset(job.row_errors.order_by("row_number"))
        return self.get_paginated_response(RowErrorSerializer(page, many=True).data)

    @extend_schema(
        summary="The rows imported without some invalid optional cells (option invalid_optional), paginated",
        responses=RowWarningSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def warnings(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        page = self.paginate_queryset(job.row_warnings.order_by("row_number"))
        return self.get_paginated_response(RowWarningSerializer(page, many=True).data)

    @extend_schema(
        summary="What an upsert changes (a preview) or changed (a run): each record's fields before and after",
        responses=ChangeSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def changes(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        page = self.paginate_queryset(job.changes.order_by("row_number"))
        return self.get_paginated_response(ChangeSerializer(page, many=True).data)

    @extend_schema(summary="The failed rows as a fixable .xlsx", responses={(200, "application/octet-stream"): None})
    def errors_xlsx(self, request: Request, pk: str | None = None) -> FileResponse:
        job = self.get_object()
        temp = tempfile.TemporaryFile(suffix=".xlsx")  # FileResponse closes it
        write_xlsx_report(job, temp)
        temp.seek(0)
        return FileResponse(temp, as_attachment=True, filename=f"import-{job.pk}-errors.xlsx")

    @extend_schema(summary="The failed rows as a fixable .csv", responses={(200, "text/csv"): None})
    def errors_csv(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        job = self.get_object()

        response = StreamingHttpResponse(csv_lines(iter_csv_report_rows(job)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response

    @extend_schema(
        summary="Live progress as Server-Sent Events, until the job ends", responses={(200, "text/event-stream"): None}
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, EventStreamRenderer])
    def events(self, request: Request, pk: str | None = None) -> StreamingHttpResponse:
        job = self.get_object()
        return event_stream(job.pk, lambda current: self.get_serializer(current).data, request._request)

    @extend_schema(
        summary="The import template of a kind of sheet: headers, an example row and the limits",
        parameters=[OpenApiParameter("schema", str, description=f"The kind of sheet (default {DEFAULT_SCHEMA}).")],
        responses={
            (200, "application/octet-stream"): None,
            **error_responses(_404="no such kind of sheet, or it has no template"),
        },
    )
    def template(self, request: Request) -> HttpResponse:
        """`?schema=NAME` (default customers): that kind of sheet's template; 404 for a kind without one."""
        name = request.query_params.get("schema") or DEFAULT_SCHEMA
        try:
            content = get_schema(name).template()
        except LookupError:
            content = None
        if content is None:
            raise NotFound(f"No template for {name[:40]!r} sheets.")
        response = HttpResponse(
            content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = f'attachment; filename="primepre-{name}-template.xlsx"'
        return response


# File downloads keep their file name in the URL (no trailing slash), so they are routed by hand.
errors_xlsx_view = ImportJobViewSet.as_view({"get": "errors_xlsx"})
errors_csv_view = ImportJobViewSet.as_view({"get": "errors_csv"})
template_view = ImportJobViewSet.as_view({"get": "template"})
