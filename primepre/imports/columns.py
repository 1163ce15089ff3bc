"""Header → field mapping, for any schema. Headers are matched by the schema's aliases after folding case, spaces
and punctuation, so "Phone Number", "PHONE_NO." and "phone no" are one header. The header is found among the first
rows (title and instruction rows above it are skipped); a file without one may follow the schema's old positional
layout.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from primepre.customers.marks import mark_key

from .errors import ImportFileError
from .schema import ImportSchema

HEADER_SEARCH_ROWS = 20
# Columns our own error file adds: a re-uploaded error file maps cleanly without reporting them as unknown.
REPORT_COLUMNS = {mark_key("Errors"), mark_key("Original row")}
# A header as the job stores and the pages show it is cut to this: headers are names, and a 1 MB "header" cell would
# otherwise be copied into the mapping, the list of unknown columns, every row error's column and the preview page.
HEADER_MAX_CHARS = 100


class MissingColumns(ImportFileError):
    """Required fields that no column feeds: the run stops before any row, and the job waits for the user's choice
    of columns (`needs_mapping`) with the file's headers recorded from `mapping`, so the review can offer them."""

    def __init__(self, message: str, mapping: ColumnMapping, **details: Any) -> None:
        super().__init__("missing_columns", message, **details)
        self.mapping = mapping


@dataclass
class ColumnMapping:
    """Which column (0-based index) feeds which field, and what the file's headers were."""

    fields: dict[str, int]
    header_row: int | None  # None: no header (legacy template), data starts at the first row
    headers: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # headers we ignore, reported to the user
    labels: Mapping[str, str] = field(default_factory=dict)  # the schema's names for its fields
    error_columns: Mapping[str, str] = field(default_factory=dict)  # see ImportSchema.error_columns

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


def match_header(cells: tuple[Any, ...], aliases: Mapping[str, str]) -> tuple[dict[str, int], list[str]]:
    """Fields recognised in a candidate header row (first column wins) and the cells that matched nothing."""
    fields: dict[str, int] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        label = _label(cell)
        if not label:
            continue
        folded = mark_key(label)
        if folded in REPORT_COLUMNS:
            continue
        name = aliases.get(folded)
        if name is None or name in fields:
            unknown.append(label)
        else:
            fields[name] = index
    return fields, unknown


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
        if index < 0 or index >= max(len(mapping.headers), 5):
            raise ImportFileError("bad_mapping", f"Column {target!r} is outside the file's columns.")
        for other, other_index in list(mapping.fields.items()):
            if other_index == index and other != name:
                del mapping.fields[other]
        mapping.fields[name] = index
        if index < len(mapping.headers) and mapping.headers[index] in mapping.unknown:
            mapping.unknown.remove(mapping.headers[index])
    for name, replaced in schema.replaces.items():
        if overrides.get(name) not in (None, ""):
            for other in replaced:
                mapping.fields.pop(other, None)


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


def detect_columns(
    rows: Iterator[tuple[int, tuple[Any, ...]]],
    schema: ImportSchema,
    *,
    region: str,
    options: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[ColumnMapping, list[tuple[int, tuple[Any, ...]]]]:
    """Find the header among the first rows and map it. Returns the mapping and the data rows already consumed
    (rows after the header that were read while looking), which the caller must process before the rest."""
    options = options or {}
    seen, best = _find_header(rows, schema)
    if not seen:
        raise ImportFileError("empty_file", "The file has no rows.")
    names = {"labels": schema.labels, "error_columns": schema.error_columns}
    if best is not None:
        position, fields, unknown = best
        number, cells = seen[position]
        headers = [_label(cell) for cell in cells]
        mapping = ColumnMapping(fields=fields, header_row=number, headers=headers, unknown=unknown, **names)
        leftovers = seen[position + 1 :]
    elif schema.legacy_layout and schema.looks_like_legacy(seen[0][1], region):
        mapping = ColumnMapping(fields=dict(schema.legacy_layout), header_row=None, headers=[], **names)
        leftovers = seen
    else:
        # No header we know: the first row's cells are offered as the headers to choose from.
        number, cells = seen[0]
        headers = [_label(cell) for cell in cells]
        mapping = ColumnMapping(
            fields={}, header_row=number, headers=headers, unknown=[h for h in headers if h], **names
        )
        leftovers = seen[1:]
        if not overrides:
            found = [header for header in headers if header]
            raise MissingColumns(
                f"No header row with our columns was found in the first rows, and the first row is not "
                f"{schema.legacy_name}. Headers found: {', '.join(found) or '(none)'}. Choose the column of each "
                f"field below (expected headers such as {schema.expected_headers()}).",
                mapping,
                missing=schema.required_missing({}, options),
                found=found,
            )
    if overrides:
        _apply_overrides(mapping, overrides, schema)
    missing = schema.required_missing(mapping.fields, options)
    if missing:
        labels = [schema.labels[name] for name in missing]
        found = [header for header in mapping.headers if header]
        raise MissingColumns(
            f"The file has no column for {', '.join(labels)}. Headers found: {', '.join(found) or '(none)'}. "
            "Choose the column of each field below.",
            mapping,
            missing=missing,
            found=found,
        )
    return mapping, leftovers
