"""The API's and the wizard's side of an import's options: DRF fields that type and document each option (the OpenAPI
schema is generated from these), then the rules every way in shares (`options.py`). A bad value is a 400
`validation_error` naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import ijson
from django.conf import settings
from rest_framework import serializers

from primepre.common.jsonlimits import JsonTooDeep, check_json_depth, json_error_text

from .models import ImportMode
from .options import (
    MAX_COLUMN_OVERRIDES,
    MAX_COLUMNS_JSON_CHARS,
    MAX_HEADER_CHARS,
    MAX_SHEET_CHARS,
    Submission,
    describe_option_errors,
    option_errors,
    schema_options,
    submission_from,
)
from .schema import DEFAULT_SCHEMA, OptionSpec, schemas

_FIELD_NAME = re.compile(r"[a-z_][a-z0-9_]{0,39}")


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
    """The options of an import, as the API documents them: the engine's own fields here, then each registered
    schema's options (`ImportSchema.option_specs`) as fields made from their declarations, so a new kind of sheet
    brings its options without an edit here. Which kind takes which option is checked in `validate`."""

    schema = serializers.ChoiceField(
        choices=[],  # the registry's, set per instance: schemas register when their app is ready
        default=DEFAULT_SCHEMA,
        help_text="What the sheet holds; each kind needs its own import permission.",
    )
    mode = serializers.ChoiceField(
        choices=ImportMode.choices,
        default=ImportMode.CREATE,
        help_text="create, or upsert where the kind of sheet can match existing records (needs their change "
        "permission).",
    )
    preview = serializers.BooleanField(
        default=False, help_text="Classify every row first and write nothing until the job is confirmed."
    )
    sheet = serializers.CharField(
        required=False,
        max_length=MAX_SHEET_CHARS,
        help_text="Worksheet name (default: the first visible sheet whose header we recognise, else the first).",
    )
    columns = ColumnsField(
        required=False,
        help_text='Corrections to the detected columns: {"phone": "Numba", "email": 4, "region": null} maps a field '
        "to a header, or to a 0-based column number; null drops it. In a multipart upload, the object's JSON text.",
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["schema"].choices = [(schema.name, schema.label) for schema in schemas()]
        for name, specs in schema_options().items():
            fields.setdefault(name, option_field(specs))
        return fields

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            data = {name: value for name, value in data.items() if value is not None and value != ""}
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Each kind of sheet takes its own modes and options (`options.option_errors`, the CLI's check too)."""
        errors = option_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def submission(self) -> Submission:
        return submission_from(self.validated_data)


def option_field(specs: list[OptionSpec]) -> serializers.Field:
    """The DRF field of an option some schemas declare (`specs`: one per schema that takes it, same name and kind):
    its description names each schema's use of it."""
    spec = specs[0]
    help_text = " ".join(f"{get_schema_label(other)}: {other.help}" for other in specs) if len(specs) > 1 else spec.help
    if spec.kind == "bool":
        return serializers.BooleanField(default=False, help_text=help_text)
    if spec.kind == "choice":
        choices = list(dict.fromkeys(choice for other in specs for choice in other.choices))
        return serializers.ChoiceField(choices=choices, required=False, help_text=help_text)
    return serializers.CharField(required=False, max_length=spec.max_length, help_text=help_text)


def get_schema_label(spec: OptionSpec) -> str:
    return next(schema.label for schema in schemas() if spec in schema.option_specs)


class UploadedFileField(serializers.FileField):
    """A file part of a request: documented as binary by `api.py` (DRF's FileField is documented as the URL it
    serializes to). The schema annotations live there: the wizard's pages use these serializers too, without the
    schema generator."""


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
    """A validation error as one line for people (the wizard's page), each field by the name they know it by."""
    return describe_option_errors(exc.detail if isinstance(exc.detail, Mapping) else {"options": exc.detail}, names)


def parse_columns(data: Mapping[str, Any]) -> dict[str, str | int | None]:
    """Column choices alone (the wizard's remap), validated as the `columns` option."""
    return parse_options({"columns": dict(data)})["options"].get("columns", {})


class ImportRemapSerializer(serializers.Serializer):
    """The review's choices for a new preview of a job: other columns, another sheet of its workbook, or both;
    neither previews again with the columns detected afresh (a saved mapping for the headers applies again)."""

    columns = ColumnsField(
        required=False,
        help_text='The column of each field: {"phone": "Numba", "email": 4, "region": null}, a header as the file '
        "spells it or a 0-based column number; null: the field is not imported. Checked against the file's columns.",
    )
    sheet = serializers.CharField(
        required=False,
        max_length=MAX_SHEET_CHARS,
        help_text="Another sheet of the workbook (its columns are detected afresh).",
    )
    fill = serializers.DictField(
        child=serializers.CharField(max_length=40, allow_null=True),
        required=False,
        help_text='Options that stand in for a required field no column feeds, e.g. {"missing_mark": "generate"} '
        "(a shipping mark made for each row without one); null clears one.",
    )

    def validate_fill(self, value: dict[str, Any]) -> dict[str, Any]:
        if len(value) > 10 or any(len(str(name)) > 40 for name in value):
            raise serializers.ValidationError("At most 10 options, each named in up to 40 characters.")
        return value
