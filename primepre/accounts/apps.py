from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "primepre.accounts"
    label = "accounts"
    verbose_name = "Staff accounts"
