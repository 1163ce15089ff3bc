"""Error pages: JSON with a code and the request id under /api/ (a browser client shows the real message), HTML
elsewhere."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


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


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"code": "not_found", "message": f"Nothing at {request.path}."}, status=404)
    return defaults.page_not_found(request, exception)
