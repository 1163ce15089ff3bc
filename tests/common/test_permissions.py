"""`requires(permission)`: the one DRF permission class for endpoints guarded by a single permission (imports, SMS,
the unknown-mark queue), with a per-action permission where an action needs more."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions

from primepre.common.permissions import requires

pytestmark = pytest.mark.django_db


def _check(permission_class, user, action: str | None = "list") -> bool:
    return permission_class().has_permission(SimpleNamespace(user=user), SimpleNamespace(action=action))


def test_anonymous_callers_are_not_authenticated_rather_than_forbidden() -> None:
    with pytest.raises(exceptions.NotAuthenticated):
        _check(requires("customers.import_customers"), AnonymousUser())
    with pytest.raises(exceptions.NotAuthenticated):
        _check(requires("customers.import_customers"), None)


def test_signed_in_callers_need_the_permission(staff_user, admin_user) -> None:
    assert _check(requires("customers.import_customers"), staff_user) is True
    assert _check(requires("customers.send_sms"), staff_user) is False
    assert _check(requires("customers.send_sms"), admin_user) is True


def test_an_action_can_need_its_own_permission(staff_user) -> None:
    guarded = requires("customers.import_customers", undo="customers.delete_customer")
    assert _check(guarded, staff_user, "list") is True
    assert _check(guarded, staff_user, None) is True  # a plain APIView has no action: the main permission
    assert _check(guarded, staff_user, "undo") is False


def test_each_class_names_its_permission() -> None:
    assert requires("customers.send_sms").__name__ == "Requires[customers.send_sms]"
    assert requires("goods.view_goodsreceipt", resolve="goods.resolve_marks").__doc__ == (
        "Needs `goods.view_goodsreceipt`; `resolve` needs `goods.resolve_marks`"
    )
