"""The Warehouse role, and every goods permission for Admin (see primepre/accounts/roles.py)."""

from django.db import migrations


def sync(apps, schema_editor):
    from primepre.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("goods", "0001_initial"),
        ("accounts", "0003_manage_all_imports"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
