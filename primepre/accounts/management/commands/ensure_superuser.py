"""Make sure a staff superuser exists, for `make run` on a fresh machine.

The password is generated (never a fixed default) and printed once, when the account is created; later runs only
say the account exists. `--reset` prints a new one.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from primepre.accounts.roles import ADMIN_GROUP


def generate_password() -> str:
    return secrets.token_urlsafe(12)


class Command(BaseCommand):
    help = "Create the staff superuser if none exists, printing its generated password once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="")
        parser.add_argument("--reset", action="store_true", help="Set and print a new password for --username.")

    @transaction.atomic
    def handle(self, *args: Any, username: str, email: str, reset: bool, **options: Any) -> None:
        user_model = get_user_model()
        existing = user_model.objects.filter(username=username).first()
        if existing is not None and not reset:
            self.stdout.write(
                f"Staff login: user '{username}' exists (its password was printed when it was created; "
                f"`make reset-password` prints a new one)."
            )
            return
        password = generate_password()
        if existing is None:
            user = user_model.objects.create_superuser(username=username, email=email, password=password)
        else:
            user = existing
            user.set_password(password)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
        user.groups.add(Group.objects.get(name=ADMIN_GROUP))
        banner = "=" * 64
        self.stdout.write(
            self.style.SUCCESS(
                f"{banner}\nStaff login (shown once, store it now):\n"
                f"  username: {username}\n  password: {password}\n{banner}"
            )
        )
