"""What an import schema is: the engine (columns → cleaning → dedupe → writer) is generic over *what* a sheet holds.

A schema names its fields with their labels and header aliases, the layout of headerless files, the fields that
must be there, how a row is cleaned, which keys deduplicate rows within a file, and the writer that decides and
writes each batch. The engine never names a field itself. Customers are the first schema
(`primepre/customers/import_schema.py`); each app registers its schemas when it is ready.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from primepre.common.fold import fold_key

if TYPE_CHECKING:
    import datetime as dt

    from .writer import BatchOutcome, InsertPayload


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str  # what our template and the error file call the column
    aliases: tuple[str, ...] = ()  # headers people use for it, matched with case, spaces and punctuation folded
    max_length: int | None = None


@dataclass(frozen=True)
class Filler:
    """An option of the schema that stands in for a required field when no column feeds it (customers: a shipping
    mark generated for each row without one). The mapping step offers it where it says the field has no column, so a
    sheet that lacks the column is imported from the review, without going back to the upload."""

    field: str
    option: str
    value: Any
    label: str  # what the checkbox says


@dataclass(frozen=True)
class OptionSpec:
    """One option a kind of sheet takes beyond the engine's own (schema, mode, preview, sheet, columns): declared once,
    from which the API's serializer field (and so the OpenAPI schema), the CLI's flag, the wizard's form field and
    the JSON body's scalars are made. Its value is typed by `kind`; rules across options are the schema's
    `check_options`; who may use it is the schema's `side_effects`."""

    name: str
    kind: str  # "choice" (one of `choices`), "bool" (a tick) or "text" (at most `max_length` characters)
    label: str  # how people call it (the wizard's messages, the CLI's help)
    help: str  # the API's description
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = 255
    default: Any = None  # the value that means "not given" (never stored, never refused by another schema)

    def given(self, value: Any) -> bool:
        return value is not None and value is not False and value != "" and value != self.default


def leniency_option(help_text: str) -> OptionSpec:
    """The `invalid_optional` option of a schema that lets some problems through as warnings (see `Leniency`)."""
    return OptionSpec(
        "invalid_optional",
        "choice",
        "Problems let through",
        help_text,
        (("fail", "Fail the row"), ("import_without", "Let the row in, listed as a warning")),
        default="fail",
    )


@dataclass(frozen=True)
class Leniency:
    """How a schema words its `invalid_optional` option, which lets a row through with a warning when its only
    problems are ones the schema accepts (`optional_fields`, `warnable_codes`). Customers: an invalid optional cell
    is left out; goods: a CBM that disagrees with the dimensions is kept as given."""

    legend: str  # the review's fieldset: what kind of problem
    fail: str  # the default choice
    let_through: str  # the lenient choice
    such_rows: str  # after "N rows will go in / went in": what a warned row carries
    heading: str  # the list of warned rows
    value_column: str  # the heading over each warned cell's value
    advice: str  # under the heading: what to do about them


DEFAULT_LENIENCY = Leniency(
    "Invalid optional cells (email, region, company, type)",
    "Fail the row",
    "Import the row without those cells (listed as warnings)",
    "without some invalid optional cells",
    "Imported without some cells",
    "Value left out",
    "without the cells below: fix them in your sheet and import again as an update to fill them in.",
)


@dataclass(slots=True)
class FieldError:
    """One problem of one row: the field it concerns, a stable code and a message. The column's name in the file is
    attached in one place (`ColumnMapping.column_of`), so cleaners and writers never need the mapping to report."""

    field: str
    code: str
    message: str


@dataclass(frozen=True)
class DedupeKey:
    """A value two rows of one file may not share: the attribute of a clean row, its field, and how people call it."""

    attr: str
    field: str
    label: str


@dataclass(frozen=True)
class ImportContext:
    """What a job's cleaner and writer know of the job."""

    job_id: int
    user_id: int | None
    mode: str
    dry_run: bool
    options: Mapping[str, Any] = field(default_factory=dict)
    region: str = "GH"
    tallies: Mapping[str, int] = field(default_factory=dict)  # the job's figures so far (a resumed run goes on)


class RowCleaner(Protocol):
    """(row, []) for a good row; (None, errors) for a failing one; (row, errors) for a row imported without the
    cells `errors` name (optional cells, when the job's options allow it)."""

    def clean(self, row_number: int, values: tuple[Any, ...]) -> tuple[Any | None, list[FieldError]]: ...


class BatchWriter(Protocol):
    """Decides and writes one batch inside the batch's transaction (see `imports/writer.py` for the shared parts)."""

    job_id: int

    def prepare(self, rows: list[Any], now: dt.datetime) -> InsertPayload | None: ...

    def write(
        self, rows: Sequence[Any], now: dt.datetime, payload: InsertPayload | None = None, *, optimistic: bool = True
    ) -> BatchOutcome: ...


class ImportSchema:
    """A kind of sheet. Subclasses set the class attributes and implement `cleaner` and `writer`."""

    name: str = ""
    label: str = ""
    rows_noun: str = "rows"  # "The file has a header but no customer rows."
    fields: tuple[FieldSpec, ...] = ()
    legacy_layout: Mapping[str, int] = {}  # field → 0-based column of the headerless layout
    dedupe_keys: tuple[DedupeKey, ...] = ()
    # Where a field's error is reported when the field has no column of its own (first name → the "Name" column).
    error_columns: Mapping[str, str] = {}
    # A field that, when the user maps it, takes the place of others (a full name replaces first and last name).
    replaces: Mapping[str, tuple[str, ...]] = {}
    legacy_name: str = "the old template"
    upload_note: str = ""  # what the upload page says about this kind's files, after the size limits
    # The pages' nouns: one record, several, and how a row already there is described ("already in the directory").
    record_nouns: tuple[str, str] = ("record", "records")
    already_there: str = "already there"
    records_list: str = ""  # URL name of the list of records, filtered by `?import_job=` (the result links to it)
    records_api: str = ""  # the same list in the API (the job's `links.records`)
    import_permission: str = ""
    undo_permissions: tuple[str, ...] = ()  # undo deletes and restores records: the permissions that takes
    modes: tuple[str, ...] = ("create",)  # create and, where a row can match an existing record, upsert
    option_specs: tuple[OptionSpec, ...] = ()  # the schema's own options (imports/options.py applies them)
    # Fields whose invalid cell the `invalid_optional` option may leave out instead of failing the row: the cleaner
    # then returns the row *and* its errors, which the engine records as a warning (what was left out).
    optional_fields: frozenset[str] = frozenset()
    warnable_codes: frozenset[str] = frozenset()  # error codes the same option lets through, whatever the field
    leniency: Leniency = DEFAULT_LENIENCY
    fillers: tuple[Filler, ...] = ()  # options that stand in for a required field no column feeds
    # Header words too loose to map a column by themselves but worth suggesting (imports/suggest.py): {"region":
    # ("area",)}.
    header_hints: Mapping[str, tuple[str, ...]] = {}

    @functools.cached_property
    def options(self) -> dict[str, OptionSpec]:
        """The schema's own options by name."""
        return {spec.name: spec for spec in self.option_specs}

    @functools.cached_property
    def labels(self) -> dict[str, str]:
        return {spec.name: spec.label for spec in self.fields}

    @functools.cached_property
    def specs(self) -> dict[str, FieldSpec]:
        return {spec.name: spec for spec in self.fields}

    @functools.cached_property
    def aliases(self) -> dict[str, str]:
        """Folded header → field: `fold_key` folds case, spaces and punctuation the way it folds shipping marks."""
        return {fold_key(alias): spec.name for spec in self.fields for alias in (spec.label, *spec.aliases)}

    def required_missing(self, fields: Mapping[str, int], options: Mapping[str, Any]) -> list[str]:
        """The required fields no column feeds."""
        raise NotImplementedError

    def complete(self, fields: Mapping[str, int]) -> bool:
        """Whether a candidate header row maps everything this schema could need (the header search stops there)."""
        return not self.required_missing(fields, {})

    def looks_like_legacy(self, cells: tuple[Any, ...], region: str) -> bool:
        """Whether a first row without a header is data in the old positional layout."""
        return False

    def guess_field(self, values: list[str]) -> str | None:
        """The field a column's sampled values look like (a suggestion on the mapping step), or None."""
        return None

    def cleaner(self, fields: Mapping[str, int], context: ImportContext) -> RowCleaner:
        raise NotImplementedError

    def writer(self, context: ImportContext) -> BatchWriter:
        raise NotImplementedError

    def expected_headers(self) -> str:
        return ", ".join(spec.label for spec in self.fields[:7])

    def choices(self) -> dict[str, list[tuple[str, str]]]:
        """The choices of the schema's own options, for the upload form (value, label)."""
        return {}

    def check_options(self, options: dict[str, Any]) -> dict[str, list[str]]:
        """Errors in the schema's own options, by option (it may also normalise them in place)."""
        return {}

    def stored_values(self, row: Any) -> dict[str, str]:
        """A clean row as it will be stored, by label: what a preview shows of the rows that will go in."""
        return {}

    def display_value(self, field: str, value: Any) -> str:
        """A stored value as people read it (a region's name for its code), for the review's before → after."""
        return "" if value is None else str(value)

    def template(self) -> bytes | None:
        """The kind of sheet's downloadable template (.xlsx), if it has one."""
        return None

    def noun(self, count: int) -> str:
        return self.record_nouns[0] if count == 1 else self.record_nouns[1]

    def outcome_sentence(self, job: Any) -> str:
        """What a finished run wrote, in words, before the failing rows: "Imported 485 new customers and updated 3"."""
        text = f"Imported {job.created:,} new {self.noun(job.created)}"
        return text + (f" and updated {job.updated:,}" if job.updated else "")

    def confirm_label(self, job: Any) -> str:
        """The review's confirm button: what confirming writes and the messages it sends."""
        return f"Import {job.created:,} new" + (f" and update {job.updated:,}" if job.updated else "")

    @property
    def has_template(self) -> bool:
        return type(self).template is not ImportSchema.template

    def unavailable_options(self, user: Any) -> dict[str, str]:
        """The options (and modes) `user` cannot use right now, each with why in words ("SMS is off"): the upload
        page greys them out; `side_effects` still refuses them on every path."""
        return {}

    def side_effects(self, mode: str, options: Mapping[str, Any]) -> dict[str, str]:
        """The permissions a job's mode and options need beyond importing, each with what needs it (`jobs` checks
        them on every path: submit, confirm, remap)."""
        return {}

    def record_model(self) -> Any:
        """The model whose rows an upsert changes (`ImportChange.record_id` points into it); None: create only."""
        return None

    # Where a changed record is shown, and who may open it: (URL name taking the pk, permission), or None.
    record_page: tuple[str, str] | None = None

    def planner_columns(self) -> tuple[Any, tuple[str, ...]] | None:
        """The model an import writes and the fields its lists filter and sort on: analysed right after a large
        import (imports/statistics.py). None: nothing to analyse."""
        return None

    def after_import(self, job: Any) -> None:
        """What a finished (not previewed) run does once its rows are committed, e.g. queue SMS. Never raises."""

    def undo(self, job: Any, result: Any) -> None:
        """Delete what the job created and restore what it changed, inside the undo's transaction."""
        raise NotImplementedError


_REGISTRY: dict[str, ImportSchema] = {}
# The kind of sheet a request that names none means: the first schema, from before there were others (the API's
# `schema` default, `ImportJob.schema`'s default, the template endpoint's).
DEFAULT_SCHEMA = "customers"


def register(schema: ImportSchema) -> ImportSchema:
    _REGISTRY[schema.name] = schema
    return schema


def get_schema(name: str) -> ImportSchema:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"No import schema named {name!r} (known: {', '.join(sorted(_REGISTRY))}).") from None


def schemas() -> list[ImportSchema]:
    return list(_REGISTRY.values())
