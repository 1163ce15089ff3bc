"""Template context every page gets: what the navigation needs to know about the user, decided by the same rules the
views and the API use (one "may import" rule: `imports.jobs.may_import`)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, Any]:
    from primepre.imports.jobs import may_import

    user = getattr(request, "user", None)
    return {"may_import": bool(user is not None and user.is_authenticated and may_import(user))}
