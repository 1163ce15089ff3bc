"""Roles are Django groups. This is the one definition of what each role may do; `sync_roles` applies it.

Data migrations call `sync_roles` (idempotent), so changing a role means editing ROLE_PERMISSIONS and adding a
migration that calls it again.
"""

from __future__ import annotations

from typing import Any

ADMIN_GROUP = "Admin"
STAFF_GROUP = "Staff"
WAREHOUSE_GROUP = "Warehouse"
GOODS_PERMISSIONS = [
    ("goods", "view_goodsreceipt"),
    ("goods", "change_goodsreceipt"),
    ("goods", "import_goods"),
    ("goods", "resolve_marks"),
]
# Consolidation: the China warehouse creates shipments and loads them; freezing a list (close), reopening it and
# overriding capacity are `close_shipment`'s.
SHIPMENT_PERMISSIONS = [
    ("shipments", "view_shipment"),
    ("shipments", "add_shipment"),
    ("shipments", "change_shipment"),
]

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
        *GOODS_PERMISSIONS,
        *SHIPMENT_PERMISSIONS,
        ("shipments", "close_shipment"),
    ],
    STAFF_GROUP: [
        ("customers", "view_customer"),
        ("customers", "import_customers"),
    ],
    # The China warehouse: records and imports what arrives and says whose it is; no SMS, no customer edits.
    WAREHOUSE_GROUP: [
        ("customers", "view_customer"),
        *GOODS_PERMISSIONS,
        *SHIPMENT_PERMISSIONS,
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
    # An app with no models in this migration state is migrated later (goods after accounts' roles migration): its
    # permissions are given by its own migration calling sync_roles again. A wrong codename still fails here.
    migrated = {app_config.label for app_config in apps.get_app_configs() if list(app_config.get_models())}
    for group_name, wanted in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=group_name)
        permissions = []
        for app_label, codename in wanted:
            if app_label not in migrated:
                continue
            permissions.append(permission_model.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)
