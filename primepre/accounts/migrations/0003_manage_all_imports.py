"""Admin gets `imports.manage_all_imports` (acting on other users' import jobs); see primepre/accounts/roles.py."""

from django.db import migrations


def sync(apps, schema_editor):
    from primepre.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_roles"),
        ("imports", "0003_attempts_and_manage_all_imports"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
