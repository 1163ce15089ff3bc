"""The upload limits while a multipart body is read: files stop at IMPORT_MAX_UPLOAD_BYTES, whatever the request
claimed its length was, and a file name longer than MAX_FILE_NAME_LENGTH is refused with its own answer (not the
"send a file" a client would get when Django drops a part whose headers are too long)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParser, MultiPartParserError

# What file systems (and ImportJob.file_name) hold; Django reads at most 1,024 bytes of one part's headers, so a name
# much longer never reaches a handler at all: the parser fails on the headers (see handle_raw_input).
MAX_FILE_NAME_LENGTH = 255
_HEADER_TOO_LARGE = "header size"  # Django's MultiPartParserError: "Request max total header size exceeded."


class FileNameTooLong(BadRequest):
    """A 400 (`config/errors.py` answers it in the API's error shape on /api/ paths, as a page elsewhere)."""

    code = "file_name_too_long"

    def __init__(self) -> None:
        super().__init__(
            f"The file's name is too long: at most {MAX_FILE_NAME_LENGTH} characters. "
            "Rename the file and upload it again."
        )


class UploadLimitHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts the bytes of every file of a request and stops the upload at the limit.

    Stopping makes Django close (and so delete) the temporary file being written, and the rest of the body is read
    and dropped, so the client gets the answer. `request.upload_too_large` tells the middleware to answer 413.
    """

    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.received = 0
        self._parsing = False

    def handle_raw_input(
        self, input_data: Any, META: dict[str, Any], content_length: int, boundary: bytes, encoding: str | None = None
    ) -> tuple[Any, Any] | None:
        """Parse the body here, with every handler as Django would, only to tell a part whose headers are too long
        (a file name of thousands of characters) from other damage: Django raises one MultiPartParserError for both,
        which the upload middleware reads as "no file"."""
        if self._parsing or self.request is None:
            return None  # the parse below calls every handler's handle_raw_input again: this one steps aside
        self._parsing = True
        try:
            return MultiPartParser(META, input_data, self.request.upload_handlers, encoding).parse()
        except MultiPartParserError as exc:
            if _HEADER_TOO_LARGE in str(exc):
                raise FileNameTooLong() from None
            raise
        finally:
            self._parsing = False

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if len(file_name) > MAX_FILE_NAME_LENGTH:
            raise FileNameTooLong()
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.IMPORT_MAX_UPLOAD_BYTES:
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data  # on to the next handler, which keeps it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler returns the file
