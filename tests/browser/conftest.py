from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from playwright.sync_api import Browser, Page, sync_playwright

from .chromium import find as find_chromium

CHROMIUM = find_chromium()
MISSING = "no Chromium found (CHROMIUM_PATH, /usr/bin/chromium or Playwright's own): browser tests skipped"
SCREENSHOTS = Path(os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"))
# Chromium as this machine runs it headless: no sandbox (root), and no calls home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


_left_out: list[pytest.Item] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a Chromium, outside CI: leave the browser tests out, said in one line at the end of the run. Under
    CI=true they run and fail: a CI run never passes without them."""
    if CHROMIUM or os.environ.get("CI", "").strip().lower() == "true":
        return
    _left_out[:] = [item for item in items if item.nodeid.startswith("tests/browser/")]
    if _left_out:
        items[:] = [item for item in items if not item.nodeid.startswith("tests/browser/")]
        config.hook.pytest_deselected(items=_left_out)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _left_out:
        terminalreporter.write_line(f"{len(_left_out)} {MISSING}", yellow=True)


def _loop_marked_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextmanager
def _thread_connections_while_playwright_runs(own: dict[str, BaseDatabaseWrapper]) -> Iterator[None]:
    """The ORM calls a test makes between browser steps use this thread's own connections.

    Between sync calls Playwright marks its asyncio loop as running in this thread, and Django's connection store
    (asgiref's Local) then switches from the thread's store to a context-local one: the first ORM call would open a
    second connection there that no teardown sees once the loop stops, open for the rest of the session, and
    PostgreSQL would refuse to drop the test database ("being accessed by other users").
    """
    if not _loop_marked_running():  # Django already uses the thread's store
        yield
        return
    for alias, wrapper in own.items():
        connections[alias] = wrapper
    try:
        yield
    finally:
        if _loop_marked_running():  # only the context-local entries, never the thread's own
            for alias in own:
                del connections[alias]


@pytest.fixture
def browser(monkeypatch) -> Iterator[Browser]:
    """Per test: Playwright's sync API runs an asyncio loop in this thread while it is open, which would make every
    later database call of the session look async to Django."""
    # With the browser open, Playwright's asyncio loop runs in this thread; the ORM calls the tests make between
    # browser steps are still plain synchronous code, so Django's async-context guard does not apply to them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM:
        pytest.fail(f"{MISSING} – under CI=true they must run: install Debian's chromium or set CHROMIUM_PATH.")
    own = {alias: connections[alias] for alias in connections}  # read before any event loop runs in this thread
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with _thread_connections_while_playwright_runs(own):
            yield browser
            browser.close()


@pytest.fixture
def page(live_server, admin_user, settings, tmp_path: Path, browser: Browser) -> Iterator[Page]:
    """A logged-in staff Admin in a fresh browser context (through the real login form)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    admin_user.set_password("browser-test-password")
    admin_user.save()
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(admin_user.username)
    page.get_by_label("Password").fill("browser-test-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.base = live_server.url  # type: ignore[attr-defined]
    yield page
    context.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
