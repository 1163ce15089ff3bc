"""Liveness and readiness for the platform's health checks (no auth, no sessions, no redirects)."""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("primepre.health")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers: nothing else is checked, so a slow database never gets the web process restarted."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """The database answers a query; 503 otherwise, so the platform stops routing traffic here."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("[READY-FAIL] database=%s error=%s", connection.vendor, exc.__class__.__name__)
        return JsonResponse(
            {"status": "unavailable", "code": "database_unavailable", "message": "The database does not answer."},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": connection.vendor})
