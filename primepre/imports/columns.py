"""Header → field mapping. Headers are matched by alias after folding case, spaces and punctuation, so
"Phone Number", "PHONE_NO." and "phone no" are one header. Files without a header follow the old A–E template.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from primepre.customers.marks import mark_key
from primepre.customers.phones import normalise_phone

from .errors import ImportFileError

FIELD_LABELS = {
    "shipping_mark": "Shipping Mark",
    "first_name": "First Name",
    "last_name": "Last Name",
    "full_name": "Name",
    "phone": "Phone",
    "email": "Email",
    "region": "Region",
    "company_name": "Company",
    "customer_type": "Customer Type",
}

_ALIASES: dict[str, list[str]] = {
    "shipping_mark": [
        "shipping mark", "mark", "client mark", "customer mark", "ship mark", "shipping marks", "marks",
        "shipping code", "mark code", "shippingmark", "sm",
    ],
    "first_name": ["first name", "firstname", "first", "given name", "given names", "forename", "fname", "other names"],
    "last_name": ["last name", "lastname", "surname", "family name", "last", "lname", "sur name"],
    "full_name": ["name", "full name", "fullname", "customer name", "client name", "customer", "names"],
    "phone": [
        "phone", "phone number", "phone no", "phone num", "phonenumber", "tel", "tel no", "telephone",
        "telephone number", "mobile", "mobile number", "mobile no", "mobile phone", "contact", "contact number",
        "contact no", "cell", "cell phone", "cellphone", "whatsapp", "whatsapp number", "msisdn", "number",
    ],
    "email": ["email", "email address", "e-mail", "e-mail address", "mail", "emailaddress"],
    "region": ["region", "region name", "location region", "state"],
    "company_name": [
        "company", "company name", "business", "business name", "organisation", "organization", "firm",
    ],
    "customer_type": ["customer type", "type", "client type", "account type"],
}  # fmt: skip

ALIASES: dict[str, str] = {mark_key(alias): name for name, aliases in _ALIASES.items() for alias in aliases}
# The template of the system we replace: no header, A mark, B first name, C last name, D email, E phone.
LEGACY_TEMPLATE = {"shipping_mark": 0, "first_name": 1, "last_name": 2, "email": 3, "phone": 4}
HEADER_SEARCH_ROWS = 20
# Columns our own error file adds: a re-uploaded error file maps cleanly without reporting them as unknown.
REPORT_COLUMNS = {mark_key("Errors"), mark_key("Original row")}
# A header as the job stores and the pages show it is cut to this: headers are names, and a 1 MB "header" cell would
# otherwise be copied into the mapping, the list of unknown columns, every row error's column and the preview page.
HEADER_MAX_CHARS = 100


@dataclass
class ColumnMapping:
    """Which column (0-based index) feeds which field, and what the file's headers were."""

    fields: dict[str, int]
    header_row: int | None  # None: no header (legacy template), data starts at the first row
    headers: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # headers we ignore, reported to the user

    def header_for(self, field_name: str) -> str:
        index = self.fields.get(field_name)
        if index is not None and index < len(self.headers) and self.headers[index]:
            return self.headers[index]
        return FIELD_LABELS.get(field_name, field_name)

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


def match_header(cells: tuple[Any, ...]) -> tuple[dict[str, int], list[str]]:
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
        name = ALIASES.get(folded)
        if name is None or name in fields:
            unknown.append(label)
        else:
            fields[name] = index
    return fields, unknown


def _looks_like_legacy_data(cells: tuple[Any, ...], region: str) -> bool:
    if len(cells) < 5 or not _text(cells[0]) or not _text(cells[1]):
        return False
    return normalise_phone(cells[4], region).ok


def required_fields_missing(fields: Mapping[str, int], *, generate_marks: bool) -> list[str]:
    missing = []
    if "phone" not in fields:
        missing.append("phone")
    if "full_name" not in fields:
        missing += [name for name in ("first_name", "last_name") if name not in fields]
    if "shipping_mark" not in fields and not generate_marks:
        missing.append("shipping_mark")
    return missing


def _apply_overrides(mapping: ColumnMapping, overrides: Mapping[str, Any]) -> None:
    """The user's corrections from the preview: {"phone": "Numba"} or {"phone": 3}; None removes a field."""
    for name, target in overrides.items():
        if name not in FIELD_LABELS:
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
    if "full_name" in overrides and overrides["full_name"] not in (None, ""):
        mapping.fields.pop("first_name", None)
        mapping.fields.pop("last_name", None)


def detect_columns(
    rows: Iterator[tuple[int, tuple[Any, ...]]],
    *,
    region: str,
    generate_marks: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[ColumnMapping, list[tuple[int, tuple[Any, ...]]]]:
    """Find the header among the first rows and map it. Returns the mapping and the data rows already consumed
    (rows after the header that were read while looking), which the caller must process before the rest."""
    seen: list[tuple[int, tuple[Any, ...]]] = []
    best: tuple[int, dict[str, int], list[str]] | None = None  # (position in seen, fields, unknown)
    for number, cells in rows:
        seen.append((number, cells))
        fields, unknown = match_header(cells)
        if len(fields) >= 2 and (best is None or len(fields) > len(best[1])):
            best = (len(seen) - 1, fields, unknown)
            if not required_fields_missing(fields, generate_marks=True):
                break  # a complete header: stop looking
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    if not seen:
        raise ImportFileError("empty_file", "The file has no rows.")

    if best is not None:
        position, fields, unknown = best
        number, cells = seen[position]
        mapping = ColumnMapping(fields=fields, header_row=number, headers=[_label(c) for c in cells], unknown=unknown)
        leftovers = seen[position + 1 :]
    elif _looks_like_legacy_data(seen[0][1], region):
        mapping = ColumnMapping(fields=dict(LEGACY_TEMPLATE), header_row=None, headers=[])
        leftovers = seen
    else:
        found = [_label(cell) for cell in seen[0][1] if _text(cell)]
        raise ImportFileError(
            "missing_columns",
            "No header row with our columns was found in the first rows, and the first row is not the old A–E "
            f"template. Headers found: {', '.join(found) or '(none)'}. Expected headers such as Shipping Mark, "
            "First Name, Last Name, Phone, Email, Region, Company.",
            found=found,
        )

    if overrides:
        _apply_overrides(mapping, overrides)
    missing = required_fields_missing(mapping.fields, generate_marks=generate_marks)
    if missing:
        labels = [FIELD_LABELS[name] for name in missing]
        found = [header for header in mapping.headers if header]
        raise ImportFileError(
            "missing_columns",
            f"The file has no column for {', '.join(labels)}. Headers found: {', '.join(found) or '(none)'}.",
            missing=missing,
            found=found,
        )
    return mapping, leftovers
