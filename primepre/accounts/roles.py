"""Roles are Django groups. This is the one definition of what each role may do; `sync_roles` applies it.

Data migrations call `sync_roles` (idempotent), so changing a role means editing ROLE_PERMISSIONS and adding a
migration that calls it again.
"""

from __future__ import annotations

from typing import Any

ADMIN_GROUP = "Admin"
STAFF_GROUP = "Staff"

# (app_label, codename) per role.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    ADMIN_GROUP: [
        ("customers", "view_customer"),
        ("customers", "add_customer"),
        ("customers", "change_customer"),
        ("customers", "delete_customer"),
        ("customers", "import_customers"),
        ("customers", "export_customers"),
        ("customers", "send_sms"),
        ("imports", "manage_all_imports"),
    ],
    STAFF_GROUP: [
        ("customers", "view_customer"),
        ("customers", "import_customers"),
    ],
}


def sync_roles(apps: Any) -> None:
    """Create the groups and give each exactly the permissions listed above (using migration-state models)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate finishes; a data migration needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for group_name, wanted in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        permissions = []
        for app_label, codename in wanted:
            permissions.append(permission_model.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)
