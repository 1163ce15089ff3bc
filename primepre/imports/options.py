"""An import's options: what each kind of sheet takes, and the job's stored form of them. The same rules for every
way in: the API and the wizard check each field's type with DRF first (`serializers.py`), then these; the CLI, whose
arguments argparse has already typed, calls `check_options` alone, without loading DRF (a part of every run's
start, bench/README.md; the worker never needs it either). A bad value is a 400 `validation_error` naming the field
(the CLI prints the same messages), never a value silently dropped; a blank form field means "not given".

Who may use an option (upsert, welcome SMS) is not decided here but in `jobs.authorize_submit`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

import ijson

from primepre.common.jsonlimits import JsonTooDeep, iter_json_events, json_error_text

from .errors import ImportFileError
from .readers import JSON_MAX_DEPTH
from .schema import OptionSpec, get_schema, schemas

MAX_SHEET_CHARS = 255
# Bounds on the overrides: a schema has a few dozen fields at most, and a header is one cell of the header row.
MAX_COLUMN_OVERRIDES = 50
MAX_HEADER_CHARS = 255
MAX_COLUMNS_JSON_CHARS = 20_000
# The engine's own options; every other option is a schema's (`ImportSchema.option_specs`).
ENGINE_OPTIONS = frozenset({"schema", "mode", "preview", "sheet"})


def schema_options() -> dict[str, list[OptionSpec]]:
    """Every registered schema's options by name (two schemas may share a name, e.g. `invalid_optional`)."""
    found: dict[str, list[OptionSpec]] = {}
    for schema in schemas():
        for spec in schema.option_specs:
            found.setdefault(spec.name, []).append(spec)
    return found


def scalar_option_names() -> frozenset[str]:
    """The top-level keys of a JSON body read as options (the rest of the body is the rows)."""
    return ENGINE_OPTIONS | frozenset(schema_options())


class Submission(TypedDict):
    """What `jobs.submit` and `jobs.create_job` take besides the file and the user."""

    schema: str
    mode: str
    dry_run: bool
    options: dict[str, Any]


class OptionsInvalid(Exception):
    """Options a kind of sheet does not take: `errors` maps each option to its messages (a 400 in the API)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(describe_option_errors(errors))
        self.errors = errors


def option_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Each kind of sheet takes its own modes and options: what `values` (typed, with `schema` and `mode`) asks that
    its kind does not take, then the kind's own rules (`check_options`)."""
    try:
        schema = get_schema(values["schema"])
    except LookupError as exc:
        return {"schema": [str(exc)]}
    errors = {}
    if len(values.get("sheet") or "") > MAX_SHEET_CHARS:
        errors["sheet"] = [f"Ensure this field has no more than {MAX_SHEET_CHARS} characters."]
    if values["mode"] not in schema.modes:
        errors["mode"] = [f"{schema.label} sheets take mode {' or '.join(schema.modes)}."]
    for name, specs in schema_options().items():
        if name not in schema.options and any(spec.given(values.get(name)) for spec in specs):
            errors[name] = [f"Not an option of {schema.label.lower()} sheets."]
    errors.update(schema.check_options(values))
    return errors


def submission_from(values: Mapping[str, Any]) -> Submission:
    """The checked options as the job stores them: only what was asked for, so defaults can change later."""
    options: dict[str, Any] = {}
    for name in ("sheet", "columns"):
        if values.get(name) is not None:
            options[name] = values[name]
    for name, spec in get_schema(values["schema"]).options.items():
        value = values.get(name)
        if value is not None and not (spec.kind == "bool" and not value):
            options[name] = value
    return Submission(schema=values["schema"], mode=values["mode"], dry_run=bool(values["preview"]), options=options)


def check_options(values: Mapping[str, Any]) -> Submission:
    """Options whose values are already typed (the CLI's), checked against their kind of sheet; raises
    OptionsInvalid."""
    errors = option_errors(values)
    if errors:
        raise OptionsInvalid(errors)
    return submission_from(values)


def describe_option_errors(errors: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """Errors by option as one line for people (the wizard's page, the CLI), each option by the name they know it by
    (`names`, else its own)."""
    return "; ".join(
        f"{(names or {}).get(name, name)}: {message}"
        for name, messages in errors.items()
        for message in (messages if isinstance(messages, list) else [messages])
    )


def json_body_options(path: Path) -> dict[str, Any]:
    """The options next to `customers` in a JSON body (`{"mode": "upsert", "columns": {...}, "customers": [...]}`),
    unvalidated: top-level scalars, and `columns` as an object of scalars (a nested value there stays a container,
    which `ColumnsField` refuses).

    One linear pass that also refuses (400 `invalid_json`) a body that is not JSON or nests deeper than an import's
    rows need, before anything is stored or queued."""
    options: dict[str, Any] = {}
    key = column = None
    scalars = scalar_option_names()
    with open(path, "rb") as handle:
        try:
            for depth, event, value in iter_json_events(handle, JSON_MAX_DEPTH):
                if depth == 1 and event == "map_key":
                    key = value
                elif key in scalars and depth == 1 and event in {"string", "boolean", "number", "null"}:
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
