from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from primepre.accounts.roles import ADMIN_GROUP, STAFF_GROUP, WAREHOUSE_GROUP

pytestmark = pytest.mark.django_db


def _codenames(group_name: str) -> set[str]:
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


def test_migration_creates_the_two_roles_with_their_permissions() -> None:
    assert _codenames(STAFF_GROUP) == {"view_customer", "import_customers"}
    assert _codenames(ADMIN_GROUP) == {
        "view_customer",
        "add_customer",
        "change_customer",
        "delete_customer",
        "import_customers",
        "export_customers",
        "send_sms",
        "manage_all_imports",
        "view_goodsreceipt",
        "change_goodsreceipt",
        "import_goods",
        "resolve_marks",
        "view_shipment",
        "add_shipment",
        "change_shipment",
        "close_shipment",
    }
    # The China warehouse loads shipments; closing, reopening and overriding capacity are Admin's.
    assert _codenames(WAREHOUSE_GROUP) == {
        "view_customer",
        "view_goodsreceipt",
        "change_goodsreceipt",
        "import_goods",
        "resolve_marks",
        "view_shipment",
        "add_shipment",
        "change_shipment",
    }


def test_role_permissions_reach_the_user(staff_user, admin_user) -> None:
    assert staff_user.has_perm("customers.import_customers")
    assert not staff_user.has_perm("customers.export_customers")
    assert not staff_user.has_perm("customers.add_customer")
    assert admin_user.has_perms(["customers.export_customers", "customers.send_sms", "customers.delete_customer"])


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("ensure_superuser", *args, stdout=out)
    return out.getvalue()


def test_ensure_superuser_prints_a_generated_password_once(django_user_model) -> None:
    first = _run()
    password = next(line.split(":", 1)[1].strip() for line in first.splitlines() if "password:" in line)
    assert len(password) >= 16
    user = django_user_model.objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.check_password(password)
    assert user.groups.filter(name=ADMIN_GROUP).exists()
    second = _run()
    assert "exists" in second and password not in second and "password:" not in second
    reset = _run("--reset")
    new_password = next(line.split(":", 1)[1].strip() for line in reset.splitlines() if "password:" in line)
    assert new_password != password
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_no_two_installs_share_a_password(django_user_model) -> None:
    passwords = set()
    for _ in range(3):
        django_user_model.objects.all().delete()
        output = _run()
        passwords.add(next(line for line in output.splitlines() if "password:" in line))
    assert len(passwords) == 3
