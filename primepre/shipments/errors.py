"""What a shipment action refuses, as domain exceptions (no HTTP here): the API maps `status` to the response, the
pages show `message`."""

from __future__ import annotations

from typing import Any


class ShipmentRefused(Exception):
    """The action is not allowed now. `code` is stable; `status` is 409 for a state conflict, 400 for bad input."""

    def __init__(self, code: str, message: str, status: int = 409, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.details = details
