"""The shipment permissions of Warehouse and Admin (see primepre/accounts/roles.py)."""

from django.db import migrations


def sync(apps, schema_editor):
    from primepre.accounts.roles import sync_roles

    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("shipments", "0001_initial"),
        ("goods", "0008_cartons_loaded"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
