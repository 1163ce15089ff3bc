"""File-level import failures: one stable code and a message a person can act on."""

from __future__ import annotations

from typing import Any

from django.conf import settings


class ImportFileError(Exception):
    """The file as a whole cannot be imported (wrong type, damaged, no usable columns, too large …).

    Row-level problems are never raised: they are collected per row and reported in the error file.
    """

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def human_size(size: int) -> str:
    """`52428800` → `50 MB`: sizes as people read them (binary megabytes, as their file manager shows them)."""
    return f"{size / 1048576:.0f} MB" if size >= 1048576 else f"{max(size, 1) / 1024:.0f} KB"


# The slack a multipart body may have over the file it carries (boundaries, the form's other fields).
MULTIPART_SLACK_BYTES = 64 * 1024


def too_large_message() -> str:
    """The one refusal of an upload over IMPORT_MAX_UPLOAD_BYTES: the API, the upload page and the middleware that
    refuses a body before anything reads it all say this."""
    limit = human_size(settings.IMPORT_MAX_UPLOAD_BYTES)
    return f"The file is larger than the {limit} limit. Split it, or save it as .csv (smaller)."


def too_large_body() -> dict[str, Any]:
    """The API's 413 body: `{"code": "file_too_large", "message", "limit_bytes"}`."""
    return {"code": "file_too_large", "message": too_large_message(), "limit_bytes": settings.IMPORT_MAX_UPLOAD_BYTES}
