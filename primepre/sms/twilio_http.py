"""Twilio's own HTTP client, pointed at another host: a module of its own so that only a process that sends through
Twilio imports the twilio package (`backends.py` is imported by every process at start)."""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient


class RedirectingHttpClient(TwilioHttpClient):
    """The real Twilio client, pointed at another host (a local fake of the API in tests, a proxy elsewhere)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        for prefix in ("https://api.twilio.com", "https://messaging.twilio.com"):
            if url.startswith(prefix):
                url = self.base_url + url[len(prefix) :]
        return super().request(method, url, *args, **kwargs)
