"""The browser tests' database connections: the ORM calls between browser steps use the test's own connection."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from playwright.sync_api import Browser

from primepre.customers.models import Customer

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def thread_connection() -> BaseDatabaseWrapper:
    """The test thread's connection, taken before the browser (and Playwright's event loop) starts."""
    return connections["default"]


def test_orm_calls_between_browser_steps_use_the_tests_own_connection(
    thread_connection: BaseDatabaseWrapper, browser: Browser
) -> None:
    # The situation under test: Playwright marks its loop as running in this thread between sync calls, which makes
    # Django keep connections in a context-local store. (On PostgreSQL the autouse guard also fails the test when a
    # second session is left open.)
    assert asyncio.get_running_loop().is_running()
    assert not Customer.objects.exists()
    assert connections["default"] is thread_connection
