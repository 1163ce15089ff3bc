"""The upload size limit while a multipart body is read: files stop at IMPORT_MAX_UPLOAD_BYTES, whatever the request
claimed its length was."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class UploadLimitHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: counts the bytes of every file of a request and stops the upload at the limit.

    Stopping makes Django close (and so delete) the temporary file being written, and the rest of the body is read
    and dropped, so the client gets the answer. `request.upload_too_large` tells the middleware to answer 413.
    """

    def __init__(self, request: object = None) -> None:
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.IMPORT_MAX_UPLOAD_BYTES:
            if self.request is not None:
                self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data  # on to the next handler, which keeps it

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler returns the file
