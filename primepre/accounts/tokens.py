"""API tokens (django-rest-knox): each one expires after `API_TOKEN_TTL_HOURS` and can be revoked. Only a digest of a
token is stored, so a leaked database does not leak working tokens; the token itself is shown once, when issued."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from knox.models import AuthToken

from .models import User

logger = logging.getLogger("primepre.accounts")


def issue_token(user: User) -> tuple[AuthToken, str]:
    """A new token for `user` and its row; the string is the only copy of the token."""
    instance, token = AuthToken.objects.create(user=user, expiry=dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS))
    logger.info(
        "[TOKEN-ISSUED] user=%s key=%s expires=%s", user.pk, instance.token_key[:8], instance.expiry.isoformat()
    )
    return instance, token


def revoke_token(token: AuthToken) -> bool:
    """Revoke one token. Concurrency: a DELETE by primary key, so two revocations racing delete it once; the loser
    gets False."""
    deleted, _ = AuthToken.objects.filter(pk=token.pk).delete()
    if deleted:
        logger.info("[TOKEN-REVOKED] user=%s key=%s", token.user_id, token.token_key[:8])
    return bool(deleted)


def revoke_all_tokens(user: User, reason: str = "requested") -> int:
    """Revoke every token of `user` (a lost laptop, a leaked script; a changed password or a deactivated account:
    `signals.py`). Concurrency: one DELETE; a token issued while it runs either is deleted too or outlives it, never
    half."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    logger.info("[TOKEN-REVOKED] user=%s all=%s reason=%s", user.pk, deleted, reason)
    return deleted
