"""An import's options, parsed and validated once for every way in: the API (multipart fields or a JSON body), the
wizard's upload and remap, and the CLI. A bad value is a 400 `validation_error` naming the field (the CLI prints the
same messages), never a value silently dropped; a blank form field means "not given".

Who may use an option (upsert, welcome SMS) is not decided here but in `jobs.authorize_submit`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

import ijson
from django.conf import settings
from rest_framework import serializers

from primepre.common.parsers import JsonTooDeep, check_json_depth, iter_json_events, json_error_text

from .errors import ImportFileError
from .models import ImportMode
from .readers import JSON_MAX_DEPTH

MISSING_MARK_CHOICES = [
    ("error", "A row without a shipping mark fails"),
    ("generate", "Build a mark from IMPORT_MARK_RULE (first name), made unique with a counter"),
]
INVALID_OPTIONAL_CHOICES = [
    ("fail", "An invalid optional cell (email, region, company, type) fails its row"),
    ("import_without", "Import the row without its invalid optional cells, and list it as a warning"),
]
# Bounds on the overrides: a schema has a few dozen fields at most, and a header is one cell of the header row.
MAX_COLUMN_OVERRIDES = 50
MAX_HEADER_CHARS = 255
MAX_COLUMNS_JSON_CHARS = 20_000
_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")
SCALAR_OPTIONS = frozenset(
    {"schema", "mode", "preview", "sheet", "missing_mark", "send_welcome_sms", "warehouse", "default_method"}
    | {"send_receipt_sms", "invalid_optional"}
)
# The kinds of sheet (import schemas) the API documents; each is checked against the registry too.
SCHEMA_CHOICES = [("customers", "Customer list"), ("goods", "Goods received at the China warehouse")]
METHOD_CHOICES = [("sea", "Sea"), ("air", "Air")]  # goods.models.Method (the API names both ShippingMethodEnum)


class Submission(TypedDict):
    """What `jobs.submit` and `jobs.create_job` take besides the file and the user."""

    schema: str
    mode: str
    dry_run: bool
    options: dict[str, Any]


class ColumnsField(serializers.Field):
    """Corrections to the detected columns: `{"phone": "Numba", "email": 4, "region": null}` maps a field to a header
    as the file spells it, or to a column by its 0-based number; null (or "") drops the field. An object, or its JSON
    text (a multipart field). Whether each field exists is the job's schema's to say, when the preview runs again."""

    default_error_messages = {
        "invalid_json": "Give the columns as a JSON object: {error}.",
        "not_an_object": "Give an object mapping each field to a column header, a column number or null.",
        "too_many": "At most {limit} column choices.",
        "too_long": "The columns' JSON is longer than {limit:,} characters.",
        "bad_field": "{name!r} is not a field name.",
        "bad_target": "The column for {name!r} must be a header (at most {limit} characters), a column number or null.",
    }

    def to_internal_value(self, data: Any) -> dict[str, str | int | None]:
        if isinstance(data, str):
            data = self._parse(data)
        if not isinstance(data, Mapping):
            self.fail("not_an_object")
        if len(data) > MAX_COLUMN_OVERRIDES:
            self.fail("too_many", limit=MAX_COLUMN_OVERRIDES)
        return {self._name(name): self._target(name, target) for name, target in data.items()}

    def to_representation(self, value: Any) -> Any:
        return value

    def _parse(self, text: str) -> Any:
        if len(text) > MAX_COLUMNS_JSON_CHARS:
            self.fail("too_long", limit=MAX_COLUMNS_JSON_CHARS)
        try:
            check_json_depth(text.encode(), 2)  # json.loads recurses per level: bounded before it runs
            return json.loads(text)
        except JsonTooDeep:
            self.fail("not_an_object")
        except (ValueError, ijson.JSONError) as exc:
            self.fail("invalid_json", error=json_error_text(exc))

    def _name(self, name: Any) -> str:
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            self.fail("bad_field", name=str(name)[:50])
        return name

    def _target(self, name: str, target: Any) -> str | int | None:
        if target is None or target == "":
            return None
        if isinstance(target, float) and target.is_integer():
            target = int(target)  # a JSON body's numbers are read as floats
        if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < settings.IMPORT_MAX_COLUMNS:
            return target
        if isinstance(target, str) and len(target) <= MAX_HEADER_CHARS:
            return target
        self.fail("bad_target", name=name, limit=MAX_HEADER_CHARS)


class ImportOptionsSerializer(serializers.Serializer):
    """The options of an import, as the API documents them."""

    schema = serializers.ChoiceField(
        choices=SCHEMA_CHOICES,
        default="customers",
        help_text="What the sheet holds: customers (needs import_customers) or goods received (needs import_goods).",
    )
    mode = serializers.ChoiceField(
        choices=ImportMode.choices, default=ImportMode.CREATE, help_text="upsert needs the change_customer permission."
    )
    preview = serializers.BooleanField(
        default=False, help_text="Classify every row first and write nothing until the job is confirmed."
    )
    sheet = serializers.CharField(
        required=False,
        max_length=255,
        help_text="Worksheet name (default: the first visible sheet whose header we recognise, else the first).",
    )
    missing_mark = serializers.ChoiceField(choices=MISSING_MARK_CHOICES, required=False)
    send_welcome_sms = serializers.BooleanField(
        default=False, help_text="Welcome every customer the import creates (needs the send_sms permission)."
    )
    invalid_optional = serializers.ChoiceField(
        choices=INVALID_OPTIONAL_CHOICES,
        required=False,
        help_text="Customers: what an invalid email, region, company or type does to its row (default: fail).",
    )
    warehouse = serializers.CharField(
        required=False,
        max_length=8,
        help_text="Goods: the warehouse code of lines that do not name one (GOODS_WAREHOUSES).",
    )
    default_method = serializers.ChoiceField(
        choices=METHOD_CHOICES, required=False, help_text="Goods: sea or air for lines without a method."
    )
    send_receipt_sms = serializers.BooleanField(
        default=False,
        help_text="Goods: tell each matched customer once per day of receipt (needs the send_sms permission).",
    )
    columns = ColumnsField(
        required=False,
        help_text='Corrections to the detected columns: {"phone": "Numba", "email": 4, "region": null} maps a field '
        "to a header, or to a 0-based column number; null drops it. In a multipart upload, the object's JSON text.",
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            data = {name: value for name, value in data.items() if value is not None and value != ""}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Each kind of sheet takes its own modes and options."""
        from .schema import get_schema

        try:
            schema = get_schema(attrs["schema"])
        except LookupError as exc:
            raise serializers.ValidationError({"schema": [str(exc)]}) from None
        errors = {}
        if attrs["mode"] not in schema.modes:
            errors["mode"] = [f"{schema.label} sheets take mode {' or '.join(schema.modes)}."]
        for name in ("missing_mark", "send_welcome_sms", "warehouse", "default_method", "send_receipt_sms"):
            if attrs.get(name) and name not in schema.options:
                errors[name] = [f"Not an option of {schema.label.lower()} sheets."]
        if attrs.get("invalid_optional", "fail") != "fail" and "invalid_optional" not in schema.options:
            errors["invalid_optional"] = [f"Not an option of {schema.label.lower()} sheets."]
        errors.update(schema.check_options(attrs))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def submission(self) -> Submission:
        """The validated options as the job stores them: only what was asked for, so defaults can change later."""
        values = self.validated_data
        options: dict[str, Any] = {}
        for name in ("sheet", "missing_mark", "columns", "warehouse", "default_method", "invalid_optional"):
            if name in values:
                options[name] = values[name]
        for name in ("send_welcome_sms", "send_receipt_sms"):
            if values[name]:
                options[name] = True
        return Submission(schema=values["schema"], mode=values["mode"], dry_run=values["preview"], options=options)


class UploadedFileField(serializers.FileField):
    """A file part of a request: documented as binary by `api.py` (DRF's FileField is documented as the URL it
    serializes to). The schema annotations live there: the CLI parses options too, without the schema generator."""


class ImportUploadSerializer(ImportOptionsSerializer):
    """A multipart upload: the file and the options beside it."""

    file = UploadedFileField(
        help_text="The spreadsheet: .xlsx, .xlsm, .xls, .xlsb, .ods, .csv, .tsv or .json, read by its content."
    )


def parse_options(
    data: Mapping[str, Any], serializer_class: type[ImportOptionsSerializer] = ImportOptionsSerializer
) -> Submission:
    """Validate `data` (raises DRF's ValidationError: a 400 `validation_error` with the fields in the API)."""
    serializer = serializer_class(data=dict(data))
    serializer.is_valid(raise_exception=True)
    return serializer.submission()


def describe_errors(exc: serializers.ValidationError, names: Mapping[str, str] | None = None) -> str:
    """A validation error as one line for people (the wizard's page, the CLI), each field by the name they know it
    by (`names`, else the field's own)."""
    detail = exc.detail if isinstance(exc.detail, Mapping) else {"options": exc.detail}
    return "; ".join(
        f"{(names or {}).get(name, name)}: {message}"
        for name, messages in detail.items()
        for message in (messages if isinstance(messages, list) else [messages])
    )


def parse_columns(data: Mapping[str, Any]) -> dict[str, str | int | None]:
    """Column choices alone (the wizard's remap), validated as the `columns` option."""
    return parse_options({"columns": dict(data)})["options"].get("columns", {})


def json_body_options(path: Path) -> dict[str, Any]:
    """The options next to `customers` in a JSON body (`{"mode": "upsert", "columns": {...}, "customers": [...]}`),
    unvalidated: top-level scalars, and `columns` as an object of scalars (a nested value there stays a container,
    which `ColumnsField` refuses).

    One linear pass that also refuses (400 `invalid_json`) a body that is not JSON or nests deeper than an import's
    rows need, before anything is stored or queued."""
    options: dict[str, Any] = {}
    key = column = None
    with open(path, "rb") as handle:
        try:
            for depth, event, value in iter_json_events(handle, JSON_MAX_DEPTH):
                if depth == 1 and event == "map_key":
                    key = value
                elif key in SCALAR_OPTIONS and depth == 1 and event in {"string", "boolean", "number", "null"}:
                    options[key] = value
                elif key == "columns":
                    column = _collect_columns(options, depth, event, value, column)
        except JsonTooDeep as exc:
            raise ImportFileError("invalid_json", f"The JSON body is refused: {exc}.", limit_depth=exc.limit) from None
        except ijson.JSONError as exc:
            raise ImportFileError("invalid_json", f"The JSON body is not valid: {json_error_text(exc)}.") from None
    return options


def _collect_columns(options: dict[str, Any], depth: int, event: str, value: Any, column: str | None) -> str | None:
    """One event of the body's `columns` value into `options["columns"]`; returns the key being read."""
    if depth == 1 and event in {"string", "boolean", "number", "null"}:
        options["columns"] = value  # not an object: ColumnsField says so
    elif depth == 2 and event == "start_map":
        options["columns"] = {}
    elif depth == 2 and event == "map_key":
        return value
    elif depth == 2 and column is not None and event in {"string", "boolean", "number", "null"}:
        options["columns"][column] = value
    elif depth == 3 and event in {"start_map", "start_array"} and column is not None:
        options["columns"][column] = []  # a container where a header belongs
    elif depth == 2 and event == "start_array":
        options["columns"] = []
    return column


class ImportRemapSerializer(serializers.Serializer):
    """The review's choices for a new preview of a job: other columns, another sheet of its workbook, or both;
    neither previews again with the columns detected afresh (a saved mapping for the headers applies again)."""

    columns = ColumnsField(
        required=False,
        help_text='The column of each field: {"phone": "Numba", "email": 4, "region": null}, a header as the file '
        "spells it or a 0-based column number; null: the field is not imported. Checked against the file's columns.",
    )
    sheet = serializers.CharField(
        required=False, max_length=255, help_text="Another sheet of the workbook (its columns are detected afresh)."
    )
