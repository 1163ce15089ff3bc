"""Request-wide guards that must run before any view: the upload size limit (before CSRF reads the body) and
`Cache-Control: no-store` on what authenticated users are sent."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse

from primepre.imports.errors import MULTIPART_SLACK_BYTES, too_large_body, too_large_message

_DRAIN_CHUNK = 1 << 20


@cache
def upload_paths() -> dict[str, bool]:
    """The two places a spreadsheet is uploaded, and whether the answer there is JSON."""
    return {reverse("import-list"): True, reverse("imports:upload"): False}


class UploadLimitMiddleware:
    """Refuses an import upload over IMPORT_MAX_UPLOAD_BYTES with one 413 and one message, API and page alike.

    It sits before CsrfViewMiddleware, which reads request.POST and so the whole multipart body before any view runs:
    a body declared too large is refused unread (a bounded part of it is read and dropped, so the client gets the
    answer instead of a reset connection); any other multipart upload is parsed here with UploadLimitHandler first in
    line, which stops writing at the limit and deletes the temporary file. Parsing here, before the view checks who
    is asking, costs at most the limit in a temporary file for the length of the request: what CSRF already costs
    on the page, and the same answer whoever sends it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        wants_json = upload_paths().get(request.path) if request.method == "POST" else None
        if wants_json is not None and self._too_large(request):
            return _refusal(request, wants_json)
        return self.get_response(request)

    @staticmethod
    def _too_large(request: HttpRequest) -> bool:
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit + MULTIPART_SLACK_BYTES:
            _drain(request, min(declared, limit * 4))
            return True
        if request.content_type != "multipart/form-data":
            return False  # a JSON body is streamed to disk by the view, which stops at the limit itself
        try:
            request.FILES  # noqa: B018 - parsed now, through UploadLimitHandler
        except MultiPartParserError:
            return False  # a damaged body: the view says the file is missing
        return bool(getattr(request, "upload_too_large", False))


def _drain(request: HttpRequest, amount: int) -> None:
    while amount > 0:
        chunk = request.read(min(_DRAIN_CHUNK, amount))
        if not chunk:
            return
        amount -= len(chunk)


def _refusal(request: HttpRequest, wants_json: bool) -> HttpResponse:
    if wants_json:
        body = {**too_large_body(), "request_id": getattr(request, "request_id", None)}
        return JsonResponse(body, status=413)
    context = {"message": too_large_message(), "upload_url": request.path}
    return render(request, "web/upload_too_large.html", context, status=413)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response to an authenticated request (pages, API answers and exports carry
    customers' personal data, which must not stay in a browser's or a proxy's cache), unless the view chose its own.

    It sits after AuthenticationMiddleware; DRF's token authentication sets `request.user` on the same request, so
    API clients are covered. Static files are answered by WhiteNoise before this runs and keep their caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META
        if authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
