"""Create the Admin and Staff groups with their permissions (see primepre/accounts/roles.py)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from primepre.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("customers", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
