"""API tokens end with the credentials they were issued for: a user's tokens are revoked in the save that changes
their password (or makes it unusable) or deactivates them, whatever path made the change: the admin's forms, the
admin's own password change page, `set_password()` + `save()`, `manage.py ensure_superuser --reset`.

The stored hash is compared with the row as it is in the database, so a path that assigns `user.password` directly is
caught too. One change of hash is not a change of password: Django re-hashing a correct password at sign-in with
stronger parameters (`check_password`'s upgrade); that keeps the tokens. A bulk `QuerySet.update()` sends no signal
and so revokes nothing: use `revoke_all_tokens` beside it.

The revocation runs in the save's own transaction (post_save), so a change that rolls back keeps the tokens.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .models import User
from .tokens import revoke_all_tokens

_WATCHED = frozenset({"password", "is_active"})


def _is_rehash(user: User, old_hash: str) -> bool:
    """True when the new hash only upgrades the old one's algorithm or work factor, the password unchanged: Django's
    upgrade at sign-in hashes the raw password again without `set_password`'s mark (`_password`)."""
    if getattr(user, "_password", None) is not None:
        return False  # set_password() was called with a (new or the same) password: treated as a change
    try:
        old, new, preferred = identify_hasher(old_hash), identify_hasher(user.password), get_hasher("default")
    except ValueError:  # an unusable or unknown hash on either side
        return False
    outdated = old.algorithm != preferred.algorithm or preferred.must_update(old_hash)
    return outdated and new.algorithm == preferred.algorithm and not preferred.must_update(user.password)


def _reasons(user: User, old_hash: str, was_active: bool) -> list[str]:
    reasons = []
    if user.password != old_hash and not _is_rehash(user, old_hash):
        reasons.append("password_changed")
    if was_active and not user.is_active:
        reasons.append("deactivated")
    return reasons


@receiver(pre_save, sender=User, dispatch_uid="accounts.tokens_note_credentials")
def note_credential_change(sender: type[User], instance: User, raw: bool = False, **kwargs: Any) -> None:
    """Before the save: what changes, compared with the stored row (one SELECT, only when password or is_active
    may be written: a sign-in's `last_login` save costs nothing)."""
    instance._revoke_tokens_for = []  # type: ignore[attr-defined]
    update_fields = kwargs.get("update_fields")
    if raw or instance._state.adding or instance.pk is None:
        return
    if update_fields is not None and not _WATCHED & set(update_fields):
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", "is_active").first()
    if stored is not None:
        instance._revoke_tokens_for = _reasons(instance, *stored)  # type: ignore[attr-defined]


@receiver(post_save, sender=User, dispatch_uid="accounts.tokens_revoke_on_change")
def revoke_tokens_on_change(sender: type[User], instance: User, created: bool = False, **kwargs: Any) -> None:
    reasons = instance.__dict__.pop("_revoke_tokens_for", None)
    if reasons:
        revoke_all_tokens(instance, reason="+".join(reasons))
