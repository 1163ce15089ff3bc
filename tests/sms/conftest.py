"""The SMS tests' fixtures: the real twilio client pointed at a local fake of its API, and a fresh backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from primepre.sms.backends import LocmemBackend, reset_backend

from .fake_twilio import SID, TOKEN, FakeTwilio, start_fake_twilio


@pytest.fixture
def fake(settings) -> Iterator[FakeTwilio]:
    server, fake, url = start_fake_twilio()
    settings.SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, TOKEN
    settings.TWILIO_FROM = "PrimePre"
    settings.TWILIO_API_BASE_URL = url
    settings.SMS_RETRY_BASE_SECONDS = 0
    settings.SMS_RATE_PER_SECOND = 1000
    reset_backend()
    yield fake
    server.shutdown()
    reset_backend()


@pytest.fixture(autouse=True)
def _fresh_backend() -> Iterator[None]:
    reset_backend()
    LocmemBackend.outbox.clear()
    yield
    reset_backend()
