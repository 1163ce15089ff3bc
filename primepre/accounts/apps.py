from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "primepre.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"

    def ready(self) -> None:
        from . import (
            lockout,  # noqa: F401 - connects the [LOGIN-LOCKED] log line to axes' signal
            signals,  # noqa: F401 - revokes a user's API tokens when their password changes or they leave
        )
