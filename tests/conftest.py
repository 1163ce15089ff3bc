from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from rest_framework.test import APIClient

from primepre.accounts.roles import ADMIN_GROUP, STAFF_GROUP, sync_roles

from .imports.helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or ''} {db.get('NAME')}"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail loudly (never skip) when the PostgreSQL leg cannot reach its server."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return
    import psycopg

    try:
        psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=5,
        ).close()
    except psycopg.Error as exc:
        pytest.exit(f"PostgreSQL at {db.get('HOST')}:{db.get('PORT')} cannot be reached: {exc}", returncode=3)


def _user_in(group_name: str, username: str, django_user_model):
    if not Group.objects.filter(name=group_name).exists():
        # A transactional test (live server, worker processes) flushed the tables: the roles migration's data is
        # gone until the next serialized restore, so put the roles back the way the migration does.
        from django.apps import apps

        sync_roles(apps)
    user = django_user_model.objects.create_user(username=username, password=os.urandom(8).hex(), is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


@pytest.fixture
def admin_user(db, django_user_model):
    return _user_in(ADMIN_GROUP, "ama.admin", django_user_model)


@pytest.fixture
def staff_user(db, django_user_model):
    return _user_in(STAFF_GROUP, "kwame.staff", django_user_model)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def admin_api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


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
    import psutil

    for process in started:
        # The whole tree: RQ forks a work-horse process per job, and it holds a database connection too.
        family = [process.pid]
        try:
            family += [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for pid in family[1:]:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                pass
