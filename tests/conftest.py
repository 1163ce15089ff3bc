from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from primepre.accounts.roles import ADMIN_GROUP, STAFF_GROUP, WAREHOUSE_GROUP, sync_roles

from .imports.helpers import wait_for

if TYPE_CHECKING:
    import psycopg

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


@pytest.fixture(scope="session")
def _maintenance_connection() -> Iterator[psycopg.Connection | None]:
    """On PostgreSQL, a connection to the server's `postgres` database: it sees the test database's sessions without
    being one of them, and needs no database access from pytest-django (which is blocked after a test's teardown)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        yield None
        return
    import psycopg

    with psycopg.connect(
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as maintenance:
        yield maintenance


_LEAKS_REPORTED: list[int] = []  # each leaked session fails only the test that left it open


@pytest.fixture(autouse=True)
def no_session_left_behind(request: pytest.FixtureRequest, _maintenance_connection) -> Iterator[None]:
    """Fails a test that leaves a session open on the PostgreSQL test database (a thread's or a process's connection
    nobody closes), instead of the session-end warning that the database "is being accessed by other users".

    Autouse at the root, so it is torn down after the test's own fixtures (browser, live server requests, worker
    processes); those close their sessions asynchronously (a socket closed, a process stopped), hence the short wait.
    The test thread's own connection is not a leak: pytest-django closes or reuses it."""
    yield
    if _maintenance_connection is None or "_django_db_helper" not in request.fixturenames:
        return
    raw = connection.connection  # may be closed under Django (e.g. a streaming response's close in the test client)
    own = raw.info.backend_pid if raw is not None and not raw.closed else 0
    query = (
        "SELECT pid, application_name, backend_start, state, query FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> %s AND NOT pid = ANY(%s)"
    )
    deadline = time.monotonic() + 10
    while others := _maintenance_connection.execute(
        query, (connection.settings_dict["NAME"], own, _LEAKS_REPORTED)
    ).fetchall():
        if time.monotonic() > deadline:
            _LEAKS_REPORTED.extend(row[0] for row in others)
            pytest.fail(
                f"sessions left open on the test database (pid, application, start, state, last query): {others}"
            )
        time.sleep(0.1)


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
def warehouse_user(db, django_user_model):
    return _user_in(WAREHOUSE_GROUP, "li.warehouse", django_user_model)


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
def wizard_for(django_capture_on_commit_callbacks) -> Callable[..., Client]:
    """A signed-in page client for `user` whose `post_and_run(url, data)` posts, runs the task the post queued (as the
    worker would, when the request's transaction commits) and follows the redirect like a browser."""

    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)

        def post_and_run(url: str, data: dict[str, Any]) -> Any:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(url, data)
            return client.get(response["Location"]) if response.status_code == 302 else response

        client.post_and_run = post_and_run  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def client_of(wizard_for, staff_user) -> Client:
    """The pages as the Staff user sees them, signed in."""
    return wizard_for(staff_user)


@pytest.fixture
def wizard(wizard_for, staff_user) -> Client:
    """The import wizard as the Staff user sees it (see `wizard_for`)."""
    return wizard_for(staff_user)


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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every transactional test restores the migrated rows (serialized_rollback): one that does not lets its flush
    recreate content types with new ids, and the next test that restores them fails on their unique key."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            raise pytest.UsageError(f"{item.nodeid}: use django_db(transaction=True, serialized_rollback=True)")
