"""JSON request bodies with a size and a nesting limit, refused with 400 `invalid_json` before they are parsed.

Python's `json` recurses once per nesting level: a body of a few hundred kilobytes of `[` ends in a RecursionError (a
500) after seconds of work, and an unbounded body is read whole into memory. Here the body is read up to the limit,
its nesting is checked in one linear pass by ijson's C parser (yajl), which keeps no per-level state in Python, and
only then handed to `json`. The import engine reads JSON files through `iter_json_events` for the same reason.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterator
from typing import IO, Any

import ijson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

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


def _invalid(message: str) -> ParseError:
    return ParseError(message, code="invalid_json")


class JSONParser(BaseParser):
    """DRF's JSON parser with limits: `API_JSON_MAX_BYTES` and `API_JSON_MAX_DEPTH`, or a view's own
    `json_max_bytes` / `json_max_depth` when it needs other limits.

    Not a subclass of DRF's JSONParser on purpose: DRF reads `request.body` whole for that class (before any parser
    runs); this one reads the stream itself and stops one byte past the limit.
    """

    media_type = "application/json"

    def parse(self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        view = parser_context.get("view")
        max_bytes = getattr(view, "json_max_bytes", settings.API_JSON_MAX_BYTES)
        max_depth = getattr(view, "json_max_depth", settings.API_JSON_MAX_DEPTH)
        data = stream.read(max_bytes + 1) if stream is not None else b""
        if len(data) > max_bytes:
            raise _invalid(f"The JSON body is larger than {max_bytes:,} bytes, the most this endpoint takes.")
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            if codecs.lookup(encoding).name != "utf-8":
                data = data.decode(encoding).encode("utf-8")
            check_json_depth(data, max_depth)
            return json.loads(data.decode("utf-8"))
        except JsonTooDeep as exc:
            raise _invalid(f"The JSON body is refused: {exc}, more than this endpoint takes.") from None
        except (ijson.JSONError, ValueError, LookupError) as exc:
            raise _invalid(f"The JSON body is not valid: {json_error_text(exc)}.") from None
