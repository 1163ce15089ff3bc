"""JSON request bodies with a size and a nesting limit, refused with 400 `invalid_json` before they are parsed.

Python's `json` recurses once per nesting level: a body of a few hundred kilobytes of `[` ends in a RecursionError (a
500) after seconds of work, and an unbounded body is read whole into memory. Here the body is read up to the limit,
its nesting is checked in one linear pass by ijson's C parser (yajl), which keeps no per-level state in Python, and
only then handed to `json` (`jsonlimits.py`, which the import engine's JSON reader uses too, without DRF).
"""

from __future__ import annotations

import codecs
import json
from typing import IO, Any

import ijson
from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from .jsonlimits import JsonTooDeep, check_json_depth, json_error_text


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
