"""Header → field mapping, for any schema. Headers are matched by the schema's aliases after folding case, spaces
and punctuation, so "Phone Number", "PHONE_NO." and "phone no" are one header. The header is found among the first
rows (title and instruction rows above it are skipped); a file without one may follow the schema's old positional
layout.

The mapping also carries what the review step shows of the file, so the page never reads the file again: a few
sample values of every column, the workbook's sheets, and the saved mapping it applied (a user's earlier correction
for the same headers, found through the run's `RunHints`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from primepre.common.fold import fold_key

from .errors import ImportFileError
from .schema import ImportSchema

HEADER_SEARCH_ROWS = 20
# Columns our own error file adds: a re-uploaded error file maps cleanly without reporting them as unknown.
REPORT_COLUMNS = {fold_key("Errors"), fold_key("Original row")}
# A header as the job stores and the pages show it is cut to this: headers are names, and a 1 MB "header" cell would
# otherwise be copied into the mapping, the list of unknown columns, every row error's column and the preview page.
HEADER_MAX_CHARS = 100
# What the review shows of each column: its first few values among the first data rows. The rows read for them are
# handed on and imported as usual; what is stored is at most columns x SAMPLE_VALUES x SAMPLE_MAX_CHARS characters.
SAMPLE_VALUES = 3
SAMPLE_SCAN_ROWS = 20
SAMPLE_MAX_CHARS = 40


class MissingColumns(ImportFileError):
    """Required fields that no column feeds: the run stops before any row, and the job waits for the user's choice
    of columns (`needs_mapping`) with the file's headers recorded from `mapping`, so the review can offer them."""

    def __init__(self, message: str, mapping: ColumnMapping, **details: Any) -> None:
        super().__init__("missing_columns", message, **details)
        self.mapping = mapping


@dataclass(frozen=True)
class SavedChoice:
    """A saved mapping found for a file's headers: the column of each field, and what the job says of it."""

    columns: Mapping[str, int]
    about: Mapping[str, Any]  # {"id", "job", "date"}, as the job's mapping shows it


SavedLookup = Callable[[list[str]], SavedChoice | None]


@dataclass(frozen=True)
class RunHints:
    """What a run knows of its file beyond the rows: the workbook's sheets, and where saved mappings are found."""

    sheets: Sequence[Mapping[str, Any]] = ()  # [{"name": "Customers", "visible": True}, …]; () for csv and json
    saved: SavedLookup | None = None


NO_HINTS = RunHints()


@dataclass
class ColumnMapping:
    """Which column (0-based index) feeds which field, and what the file's headers were."""

    fields: dict[str, int]
    header_row: int | None  # None: no header (legacy template), data starts at the first row
    headers: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # headers we ignore, reported to the user
    labels: Mapping[str, str] = field(default_factory=dict)  # the schema's names for its fields
    error_columns: Mapping[str, str] = field(default_factory=dict)  # see ImportSchema.error_columns
    width: int = 0  # columns with a header or a value among the rows read for the samples
    samples: list[list[str]] = field(default_factory=list)  # per column, its first values
    sheets: list[Mapping[str, Any]] = field(default_factory=list)
    saved: Mapping[str, Any] | None = None  # the saved mapping applied, as SavedChoice.about
    corrected: bool = False  # the user's choices differ from what was detected: worth remembering

    def header_for(self, field_name: str) -> str:
        index = self.fields.get(field_name)
        if index is not None and index < len(self.headers) and self.headers[index]:
            return self.headers[index]
        return self.labels.get(field_name, field_name)

    def column_of(self, field_name: str) -> str:
        """The column a field's error is reported in: its own, else the one that feeds it (a split full name)."""
        if field_name not in self.fields and self.error_columns.get(field_name) in self.fields:
            return self.header_for(self.error_columns[field_name])
        return self.header_for(field_name)

    def as_json(self) -> dict[str, Any]:
        return {
            "header_row": self.header_row,
            "headers": self.headers,
            "fields": {name: {"index": index, "header": self.header_for(name)} for name, index in self.fields.items()},
            "unknown": self.unknown,
            "width": self.width,
            "samples": self.samples,
            "sheets": list(self.sheets),
            "saved_mapping": dict(self.saved) if self.saved else None,
            "corrected": self.corrected,
        }


def _text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return " ".join(str(cell).split())


def _label(cell: Any) -> str:
    """A header cell as stored: `_text`, at most HEADER_MAX_CHARS (the same cut every run, so a remap by header
    name still finds it)."""
    text = _text(cell)
    return text if len(text) <= HEADER_MAX_CHARS else text[: HEADER_MAX_CHARS - 1] + "…"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how a spreadsheet names the column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def header_key(headers: Sequence[str]) -> str:
    """The key a saved mapping is found by: the header row folded as headers are matched (case, spaces and
    punctuation), in order, trailing blanks dropped. The same headers in the same columns give the same key."""
    folded = [fold_key(header) for header in headers]
    while folded and not folded[-1]:
        folded.pop()
    return hashlib.sha256(json.dumps(folded).encode()).hexdigest()


# `E_QUANTITY`: the column's letter before the name, as the system we replace heads its templates.
_LETTER_PREFIX = re.compile(r"^[A-Za-z]_(?=[A-Za-z])")


def match_header(cells: tuple[Any, ...], aliases: Mapping[str, str]) -> tuple[dict[str, int], list[str]]:
    """Fields recognised in a candidate header row (first column wins) and the cells that matched nothing. A header
    that is no alias is tried again without a column-letter prefix (`E_QUANTITY` is `QUANTITY`)."""
    fields: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        label = _label(cell)
        if not label:
            continue
        folded = fold_key(label)
        if folded in REPORT_COLUMNS:
            continue
        name = aliases.get(folded)
        if name is None and _LETTER_PREFIX.match(label):
            name = aliases.get(fold_key(_LETTER_PREFIX.sub("", label)))
        if name is None or name in fields:
            unknown.append(label)
        else:
            fields[name] = index
    return fields, unknown


def _columns_of(mapping: ColumnMapping) -> int:
    return max(len(mapping.headers), mapping.width)


def _apply_overrides(mapping: ColumnMapping, overrides: Mapping[str, Any], schema: ImportSchema) -> None:
    """The user's corrections from the preview: {"phone": "Numba"} or {"phone": 3}; None removes a field."""
    for name, target in overrides.items():
        if name not in schema.labels:
            raise ImportFileError("bad_mapping", f"{name!r} is not a field we import.")
        if target is None or target == "":
            mapping.fields.pop(name, None)
            continue
        if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
            index = int(target)
        else:
            folded = [_text(header).casefold() for header in mapping.headers]
            if _label(target).casefold() not in folded:
                raise ImportFileError("bad_mapping", f"There is no column {target!r} in the file.")
            index = folded.index(_label(target).casefold())
        if index < 0 or index >= _columns_of(mapping):
            raise ImportFileError("bad_mapping", f"Column {target!r} is outside the file's columns.")
        for other, other_index in list(mapping.fields.items()):
            if other_index == index and other != name:
                del mapping.fields[other]
        mapping.fields[name] = index
    for name, replaced in schema.replaces.items():
        if overrides.get(name) not in (None, ""):
            for other in replaced:
                mapping.fields.pop(other, None)
    used = set(mapping.fields.values())
    mapping.unknown = [
        header
        for index, header in enumerate(mapping.headers)
        if header and index not in used and fold_key(header) not in REPORT_COLUMNS
    ]


def _find_header(
    rows: Iterator[tuple[int, tuple[Any, ...]]], schema: ImportSchema
) -> tuple[list[tuple[int, tuple[Any, ...]]], tuple[int, dict[str, int], list[str]] | None]:
    """The rows read while looking, and the best candidate header among them: (position, fields, unknown)."""
    seen: list[tuple[int, tuple[Any, ...]]] = []
    best: tuple[int, dict[str, int], list[str]] | None = None
    for number, cells in rows:
        seen.append((number, cells))
        fields, unknown = match_header(cells, schema.aliases)
        if len(fields) >= 2 and (best is None or len(fields) > len(best[1])):
            best = (len(seen) - 1, fields, unknown)
            if schema.complete(fields):
                break  # a complete header: stop looking
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    return seen, best


def _first_mapping(
    seen: list[tuple[int, tuple[Any, ...]]],
    best: tuple[int, dict[str, int], list[str]] | None,
    schema: ImportSchema,
    region: str,
) -> tuple[ColumnMapping, list[tuple[int, tuple[Any, ...]]], bool]:
    """The mapping the file's own header (or layout) gives, the data rows read so far, and whether the header was
    one we know (False: the first row is only offered as the headers to choose from)."""
    names = {"labels": schema.labels, "error_columns": schema.error_columns}
    if best is not None:
        position, fields, unknown = best
        number, cells = seen[position]
        headers = [_label(cell) for cell in cells]
        mapping = ColumnMapping(fields=fields, header_row=number, headers=headers, unknown=unknown, **names)
        return mapping, seen[position + 1 :], True
    if schema.legacy_layout and schema.looks_like_legacy(seen[0][1], region):
        return ColumnMapping(fields=dict(schema.legacy_layout), header_row=None, headers=[], **names), seen, True
    if (position := _letters_header(seen, schema)) is not None:
        number, cells = seen[position]
        headers = [_label(cell) for cell in cells]
        mapping = ColumnMapping(fields=dict(schema.legacy_layout), header_row=number, headers=headers, **names)
        return mapping, seen[position + 1 :], True
    number, cells = seen[0]
    headers = [_label(cell) for cell in cells]
    mapping = ColumnMapping(fields={}, header_row=number, headers=headers, unknown=[h for h in headers if h], **names)
    return mapping, seen[1:], False


def _letters_header(seen: list[tuple[int, tuple[Any, ...]]], schema: ImportSchema) -> int | None:
    """The position of a header row that is only the column letters (`A B C D E F G H`): the columns named by
    position, so the schema's positional layout applies below it. None when there is none, or no layout."""
    if not schema.legacy_layout:
        return None
    width = max(schema.legacy_layout.values()) + 1
    letters = [column_letter(index).casefold() for index in range(width)]
    for position, (_, cells) in enumerate(seen):
        labels = [_label(cell).casefold() for cell in cells]
        while labels and not labels[-1]:
            labels.pop()
        if labels == letters:
            return position
    return None


def _read_ahead(rows: Iterator[tuple[int, tuple[Any, ...]]], have: int) -> list[tuple[int, tuple[Any, ...]]]:
    """Up to SAMPLE_SCAN_ROWS data rows in all, for the samples; the caller imports them before the rest."""
    extra = []
    while have + len(extra) < SAMPLE_SCAN_ROWS:
        item = next(rows, None)
        if item is None:
            break
        extra.append(item)
    return extra


def _sample_text(cell: Any) -> str:
    # Cut before tidying: a cell may be a megabyte, and only its start is shown. PostgreSQL's jsonb refuses NUL.
    text = _text(cell[: SAMPLE_MAX_CHARS * 4] if isinstance(cell, str) else cell).replace("\x00", "\ufffd")
    return text if len(text) <= SAMPLE_MAX_CHARS else text[: SAMPLE_MAX_CHARS - 1] + "…"


def _describe(
    mapping: ColumnMapping, rows: list[tuple[int, tuple[Any, ...]]], sheets: Sequence[Mapping[str, Any]]
) -> None:
    """The samples and the width of the file's columns, from the first data rows, and the workbook's sheets."""
    samples: list[list[str]] = [[] for _ in mapping.headers]
    for _, cells in rows:
        if len(cells) > len(samples):
            samples.extend([] for _ in range(len(cells) - len(samples)))
        for index, cell in enumerate(cells):
            if len(samples[index]) < SAMPLE_VALUES and cell not in ("", None):
                text = _sample_text(cell)
                if text:
                    samples[index].append(text)
    width = len(samples)
    while width and not samples[width - 1] and not (width <= len(mapping.headers) and mapping.headers[width - 1]):
        width -= 1
    mapping.samples, mapping.width = samples[:width], width
    mapping.sheets = list(sheets)


def _choices(
    mapping: ColumnMapping,
    schema: ImportSchema,
    options: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    lookup: SavedLookup | None,
) -> dict[str, Any]:
    """The choices to apply over what was detected: the job's own, else a saved mapping for these headers (as a
    whole: the fields it leaves out stay out)."""
    if overrides:
        mapping.saved = options.get("saved_mapping") or None  # a preview's saved mapping, kept by its confirm
        return dict(overrides)
    if lookup is None or mapping.header_row is None or not any(mapping.headers):
        return {}
    saved = lookup(mapping.headers)
    if saved is None:
        return {}
    mapping.saved = saved.about
    width = _columns_of(mapping)
    columns = {name: saved.columns.get(name) for name in schema.labels}
    return {name: index if isinstance(index, int) and 0 <= index < width else None for name, index in columns.items()}


def detect_columns(
    rows: Iterator[tuple[int, tuple[Any, ...]]],
    schema: ImportSchema,
    *,
    region: str,
    options: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    hints: RunHints = NO_HINTS,
) -> tuple[ColumnMapping, list[tuple[int, tuple[Any, ...]]]]:
    """Find the header among the first rows and map it (`hints`: the workbook's sheets, and where the user's saved
    mappings are found). Returns the mapping and the data rows already consumed
    (rows after the header that were read while looking, or for the samples), which the caller must process before
    the rest."""
    options = options or {}
    rows = iter(rows)
    seen, best = _find_header(rows, schema)
    if not seen:
        raise ImportFileError("empty_file", "The file has no rows.")
    mapping, leftovers, known = _first_mapping(seen, best, schema, region)
    leftovers += _read_ahead(rows, len(leftovers))
    _describe(mapping, leftovers, hints.sheets)
    detected = dict(mapping.fields)
    choices = _choices(mapping, schema, options, overrides, hints.saved)
    found = [header for header in mapping.headers if header]
    if not known and not choices:
        raise MissingColumns(
            f"No header row with our columns was found in the first rows, and the first row is not "
            f"{schema.legacy_name}. Headers found: {', '.join(found) or '(none)'}. Choose the column of each "
            f"field below (expected headers such as {schema.expected_headers()}).",
            mapping,
            missing=schema.required_missing({}, options),
            found=found,
        )
    if choices:
        _apply_overrides(mapping, choices, schema)
        mapping.corrected = mapping.saved is None and mapping.fields != detected
    missing = schema.required_missing(mapping.fields, options)
    if missing:
        labels = [schema.labels[name] for name in missing]
        raise MissingColumns(
            f"The file has no column for {', '.join(labels)}. Headers found: {', '.join(found) or '(none)'}. "
            "Choose the column of each field below.",
            mapping,
            missing=missing,
            found=found,
        )
    return mapping, leftovers


# --- the review: what the page shows of the mapping, and what a remap may choose ---------------------------------


@dataclass(frozen=True)
class ColumnRow:
    """One column of the file as the review lists it."""

    index: int
    letter: str
    header: str  # as the file names it; "" when it has none
    label: str  # the header, or "Column C"
    samples: list[str]
    field: str  # the field it feeds; "" when it is not imported


def column_rows(stored: Mapping[str, Any]) -> list[ColumnRow]:
    """The file's columns from a job's stored mapping, each with its samples and the field it feeds. A column with
    no header and no value among the sampled rows (a blank spacer) is left out, unless a field reads it."""
    headers = stored.get("headers") or []
    samples = stored.get("samples") or []
    feeds = {info["index"]: name for name, info in (stored.get("fields") or {}).items()}
    width = max(len(headers), int(stored.get("width") or 0), max(feeds, default=-1) + 1)
    rows = []
    for index in range(width):
        header = headers[index] if index < len(headers) else ""
        values = samples[index] if index < len(samples) else []
        if header or values or index in feeds:
            letter = column_letter(index)
            rows.append(ColumnRow(index, letter, header, header or f"Column {letter}", values, feeds.get(index, "")))
    return rows


def check_choices(stored: Mapping[str, Any], columns: Mapping[str, Any], schema: ImportSchema) -> None:
    """Refuse (ImportFileError `bad_mapping`) choices that cannot apply to the file as its last run read it: a field
    the schema lacks, a column number past the file's last column, a header the file does not have. Without a stored
    header (the run stopped before reading one) only the fields are checked; the run checks the rest."""
    for name in columns:
        if name not in schema.labels:
            raise ImportFileError(
                "bad_mapping", f"{name!r} is not a field we import. Fields: {', '.join(schema.labels)}.",
                fields=list(schema.labels),
            )  # fmt: skip
    headers = list(stored.get("headers") or [])
    width = max(len(headers), int(stored.get("width") or 0))
    if not width:
        return
    folded = [_text(header).casefold() for header in headers]
    for name, target in columns.items():
        if isinstance(target, int) and not 0 <= target < width:
            raise ImportFileError(
                "bad_mapping",
                f"Column {target} for {schema.labels[name]} is outside the file: its columns are A to "
                f"{column_letter(width - 1)}, numbered 0 to {width - 1}.",
                columns=width,
            )
        if isinstance(target, str) and target and _label(target).casefold() not in folded:
            raise ImportFileError(
                "bad_mapping",
                f"There is no column {target!r} in the file. Its headers: {', '.join(h for h in headers if h)}.",
                headers=headers,
            )
