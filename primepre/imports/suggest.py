"""Suggestions for the columns a file's header did not name: offered on the mapping step, never applied by
themselves (the run maps only headers it knows; a suggestion becomes a mapping when someone keeps it and previews).

Three kinds, in this order, each only for a field no column feeds yet and each field suggested once:
- the column's values: the schema recognises what its sampled cells look like (a column of `PM9 KWAKU` is the mark,
  a column of `024…` numbers the phone); first, because values say more than a header's words (`Customer Code`
  holds `customer`, yet its values are marks);
- a header that *contains* a known header (`Contact Person Cell` holds `cell`, `Shipping Mark / Code` holds
  `shipping mark`), the longest known header winning;
- a schema's hint words, too loose to match by themselves (`Area` for the region).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from primepre.common.fold import fold_key

from .schema import ImportSchema

# Known headers shorter than this are not looked for inside longer ones: `sm` or `tel` would be found in any header.
MIN_CONTAINED = 4


def _contained(folded: str, schema: ImportSchema) -> str | None:
    best = ""
    for alias in schema.aliases:
        if len(alias) >= MIN_CONTAINED and alias in folded and len(alias) > len(best):
            best = alias
    return schema.aliases[best] if best else None


def _hinted(folded: str, schema: ImportSchema) -> str | None:
    for name, words in schema.header_hints.items():
        if any(fold_key(word) == folded for word in words):
            return name
    return None


def suggest_columns(stored: Mapping[str, Any], schema: ImportSchema) -> dict[int, str]:
    """Column index → the field it looks like, for columns that feed nothing, from the job's stored mapping."""
    fields = stored.get("fields") or {}
    taken = set(fields)
    used = {info["index"] for info in fields.values()}
    headers = stored.get("headers") or []
    samples = stored.get("samples") or []
    suggested: dict[int, str] = {}
    width = max(len(headers), len(samples))
    for index in range(width):
        if index in used:
            continue
        folded = fold_key(headers[index]) if index < len(headers) and headers[index] else ""
        values = [str(value) for value in (samples[index] if index < len(samples) else []) if str(value).strip()]
        kinds = (_contained(folded, schema), _hinted(folded, schema)) if folded else ()
        name = next((name for name in (schema.guess_field(values), *kinds) if name and name not in taken), None)
        if name:
            suggested[index] = name
            taken.add(name)
    return suggested
