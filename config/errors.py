"""Error pages: JSON with a code and the request id under /api/ (a browser client shows the real message), HTML
elsewhere."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import Context, Engine
from django.views import defaults

from .uploads import FileNameTooLong

# Standalone on purpose (no app template, no static files): a request refused while its body is read has no user yet.
_BAD_REQUEST_PAGE = Engine().from_string(
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Request refused · PrimePre</title>'
    '</head><body><main id="main"><h1>Request refused</h1><p class="error" role="alert" id="request-error">'
    '{{ message }}</p><p><a href="{{ path }}">Try again</a></p></main></body></html>'
)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _refusal(exception: Exception | None) -> tuple[int, str, str]:
    """(status, code, message) for what Django refuses while it reads a body."""
    if isinstance(exception, FileNameTooLong):
        return 400, FileNameTooLong.code, str(exception)
    if isinstance(exception, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return 400, "too_many_files", f"Too many files in one request: at most {limit:,}. Send the file as `file`."
    if isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, "too_many_fields", f"Too many fields in one request: at most {limit:,}."
    if isinstance(exception, RequestDataTooBig):
        return 413, "too_large", "The request's form fields are larger than this endpoint takes."
    return 400, "bad_request", "The request could not be read."


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: Django's refusals of a body (too many files or fields, a file name too long, a suspicious request)
    in the API's error shape under /api/, as a short page elsewhere."""
    status, code, message = _refusal(exception)
    if _wants_json(request):
        body = {"code": code, "message": message, "request_id": getattr(request, "request_id", None)}
        return JsonResponse(body, status=status)
    if code == "bad_request":
        return defaults.bad_request(request, exception)
    return HttpResponse(_BAD_REQUEST_PAGE.render(Context({"message": message, "path": request.path})), status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {
                "code": "server_error",
                "message": "Something went wrong on our side. Quote the request id if you report it.",
                "request_id": getattr(request, "request_id", None),
            },
            status=500,
        )
    return defaults.server_error(request)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: the reason in words (`Your role (Warehouse) cannot send SMS.`: `primepre.common.refusals`) in the
    app's own page, with a way back; the API's error shape under /api/."""
    message = str(exception or "") or "Your role does not allow this."
    if _wants_json(request):
        return JsonResponse({"code": "permission_denied", "message": message}, status=403)
    referer = request.headers.get("referer", "")
    own = f"{request.scheme}://{request.get_host()}/"
    back = referer if referer.startswith(own) or (referer.startswith("/") and not referer.startswith("//")) else "/"
    return render(request, "web/forbidden.html", {"message": message, "back": back}, status=403)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "message": f"Nothing at {request.path}."}, status=404)
    return defaults.page_not_found(request, exception)
