from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from primepre.accounts.roles import ADMIN_GROUP, STAFF_GROUP


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
