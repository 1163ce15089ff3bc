"""JSON read with a nesting limit, in one linear pass of ijson's C parser (yajl), which keeps no per-level state in
Python: Python's `json` recurses once per level, so a few hundred kilobytes of `[` end in a RecursionError after
seconds of work. Used by the API's request parser (`parsers.py`) and by the import engine's JSON reader and options,
which run outside a request and so import nothing of DRF.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, Any

import ijson

_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})


class JsonTooDeep(ValueError):
    """The document nests objects/arrays deeper than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"objects and arrays are nested more than {limit} levels deep")
        self.limit = limit


def json_error_text(exc: Exception) -> str:
    """yajl's messages carry a drawing of the input on the lines after the first (and are bytes when the input was
    not UTF-8): keep the first line, as text."""
    text = exc.args[0] if exc.args else exc
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = str(text).strip().splitlines()
    return lines[0].strip().rstrip(".") if lines else "not valid JSON"


def iter_json_events(source: IO[bytes], max_depth: int) -> Iterator[tuple[int, str, Any]]:
    """`(depth, event, value)` for each of ijson's basic events; raises JsonTooDeep as soon as a container opens
    deeper than `max_depth`, and ijson.JSONError for invalid JSON.

    `depth` is the level of the container the event belongs to: 1 for the top-level object's keys and values (and its
    own start/end), 2 inside a container held by it, and so on. `ijson.basic_parse` builds no path string per event
    (`ijson.parse` joins one, quadratic in the nesting), so the cost is linear whatever the input.
    """
    depth = 0
    for event, value in ijson.basic_parse(source, use_float=True):
        if event in _OPEN:
            depth += 1
            if depth > max_depth:
                raise JsonTooDeep(max_depth)
            yield depth, event, value
        elif event in _CLOSE:
            yield depth, event, value
            depth -= 1
        else:
            yield depth, event, value


def check_json_depth(data: bytes, max_depth: int) -> None:
    """Raise JsonTooDeep or ijson.JSONError unless `data` is one JSON document nested at most `max_depth` deep."""
    for _ in iter_json_events(io.BytesIO(data), max_depth):
        pass
