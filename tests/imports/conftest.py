from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from .helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    """Uploaded files go to a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def database_backend(settings) -> None:
    """The real task queue (the rest of the suite runs tasks in-process)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def start_worker(tmp_path: Path, settings) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `manage.py import_worker` subprocesses on the test database; stopped (SIGTERM) after the test."""
    started: list[subprocess.Popen] = []
    db = connection.settings_dict

    def start(
        name: str,
        heartbeat_timeout: int = 60,
        backend: str = "database",
        redis_url: str = "",
        ready: str = "Starting worker",
    ) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "SECRET_KEY": "worker-test-" + "k" * 40,
            "DEBUG": "0",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "TASKS_BACKEND": backend,
            "REDIS_URL": redis_url,
            "IMPORT_HEARTBEAT_TIMEOUT_SECONDS": str(heartbeat_timeout),
            "IMPORT_BATCH_SIZE": "1000",
        }
        log_path = tmp_path / f"{name}.log"
        log = open(log_path, "w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "import_worker", "--interval", "0.1", "--no-startup-delay"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        process.log_path = log_path  # type: ignore[attr-defined]
        started.append(process)
        wait_for(lambda: ready in log_path.read_text(), 30, f"{name} did not start polling")
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
