"""The one error shape of the API (`{"code", "message", …}`), importable without DRF: code that runs at start-up or
outside a request (the sign-in lockout's response, the import worker) builds it without loading the API stack."""

from __future__ import annotations

from typing import Any


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}
