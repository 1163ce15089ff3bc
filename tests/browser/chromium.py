"""Which Chromium the browser tests drive, and `make test`'s attempt to provide one.

    python -m tests.browser.chromium --ensure   # find one, else install one where this machine allows it

Found in this order: CHROMIUM_PATH, Debian's /usr/bin/chromium (or chromium-browser, google-chrome on PATH), then
Playwright's own download. `--ensure` installs Debian's package when it can (root, with apt-get) and otherwise tries
Playwright's download (`playwright install chromium`, where the network allows it). With none, the browser tests are
skipped with one line, except under CI=true, where they fail: a CI run must not pass without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find() -> str | None:
    """The path of a Chromium to drive, or None."""
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:
        return configured if Path(configured).exists() else None
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return _playwright_own()


def _playwright_own() -> str | None:
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # noqa: BLE001 - no driver, no browser: nothing to use
        return None
    return path if path and Path(path).exists() else None


def ensure() -> int:
    if found := find():
        print(f"--- browser tests drive {found}")
        return 0
    attempts: list[list[str]] = []
    if os.geteuid() == 0 and shutil.which("apt-get"):
        attempts.append(["apt-get", "install", "-y", "--no-install-recommends", "chromium"])
        attempts.append(["sh", "-c", "apt-get update && apt-get install -y --no-install-recommends chromium"])
    attempts.append([sys.executable, "-m", "playwright", "install", "chromium"])
    for command in attempts:
        if subprocess.run(command, check=False).returncode == 0 and (found := find()):
            print(f"--- browser tests drive {found}")
            return 0
    print("--- no Chromium found or installable: the browser tests will be skipped (set CHROMIUM_PATH to use one)")
    return 0


if __name__ == "__main__":
    sys.exit(ensure() if "--ensure" in sys.argv[1:] else (print(find() or "") or 0))
