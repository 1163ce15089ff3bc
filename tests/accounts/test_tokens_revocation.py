"""A user's API tokens end when their password changes or their account is deactivated, on every path; a sign-in
that only re-hashes the same password keeps them."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.test import Client
from knox.models import AuthToken
from rest_framework.test import APIClient

from primepre.accounts.tokens import issue_token

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"
NEW_PASSWORD = "another-long-password-9"


class FastPBKDF2(PBKDF2PasswordHasher):
    """A preferred hasher the test can make Django upgrade to (the real one takes a second a hash)."""

    iterations = 1000


@pytest.fixture
def ama(admin_user):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    return admin_user


def _works(token: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/v1/customers/").status_code == 200


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_set_password_and_save_revokes_every_token(ama) -> None:
    tokens = [issue_token(ama)[1] for _ in range(2)]
    assert all(_works(token) for token in tokens)
    ama.set_password(NEW_PASSWORD)
    ama.save()
    assert not AuthToken.objects.filter(user=ama).exists()
    assert not any(_works(token) for token in tokens)


def test_a_hash_written_directly_or_an_unusable_password_revokes_too(ama, django_user_model) -> None:
    from django.contrib.auth.hashers import make_password

    issue_token(ama)
    ama.password = make_password(NEW_PASSWORD)
    ama.save(update_fields=["password"])
    assert not AuthToken.objects.filter(user=ama).exists()
    issue_token(ama)
    ama.set_unusable_password()
    ama.save()
    assert not AuthToken.objects.filter(user=ama).exists()


def test_the_admins_password_forms_revoke(ama, django_user_model) -> None:
    other = django_user_model.objects.create_user(username="kofi", password=PASSWORD)
    _, token = issue_token(other)
    form = {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    root = django_user_model.objects.create_superuser(username="root", password=PASSWORD)  # may edit users
    response = _admin(root).post(f"/admin/accounts/user/{other.pk}/password/", form)
    assert response.status_code == 302, response.content[:500]
    assert not _works(token)
    # The admin's own "change my password" page.
    _, mine = issue_token(ama)
    own = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert _admin(ama).post("/admin/password_change/", own).status_code == 302
    assert not _works(mine)


def test_ensure_superuser_reset_revokes(ama) -> None:
    _, token = issue_token(ama)
    call_command("ensure_superuser", username=ama.username, reset=True, stdout=io.StringIO())
    assert not _works(token)


def test_deactivating_an_account_revokes_and_other_edits_do_not(ama) -> None:
    _, token = issue_token(ama)
    ama.first_name = "Ama"
    ama.save()
    ama.save(update_fields=["last_login"])
    assert _works(token)
    ama.is_active = False
    ama.save()
    assert not AuthToken.objects.filter(user=ama).exists()


def test_deactivating_in_the_admin_revokes(django_user_model) -> None:
    root = django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    other = django_user_model.objects.create_user(username="kofi", password=PASSWORD, is_staff=True)
    _, token = issue_token(other)
    form = {"username": "kofi", "is_staff": "on", "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00"}
    response = _admin(root).post(f"/admin/accounts/user/{other.pk}/change/", form)  # is_active left unticked
    assert response.status_code == 302, response.content[:2000]
    other.refresh_from_db()
    assert not other.is_active and not AuthToken.objects.filter(user=other).exists() and not _works(token)


def test_a_change_that_rolls_back_keeps_the_tokens(ama) -> None:
    from django.db import transaction

    _, token = issue_token(ama)
    with pytest.raises(RuntimeError), transaction.atomic():
        ama.set_password(NEW_PASSWORD)
        ama.save()
        raise RuntimeError("the change fails after the save")
    assert _works(token)


def test_a_sign_in_that_upgrades_the_hash_keeps_the_tokens(ama, settings) -> None:
    _, token = issue_token(ama)
    settings.PASSWORD_HASHERS = [
        f"{__name__}.FastPBKDF2",
        "django.contrib.auth.hashers.MD5PasswordHasher",  # the stored hash's: Django upgrades it at sign-in
    ]
    old_hash = ama.password
    response = APIClient().post("/api/v1/auth/token/", {"username": ama.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    ama.refresh_from_db()
    assert ama.password != old_hash and ama.password.startswith("pbkdf2_sha256$1000$")  # upgraded
    assert _works(token)
