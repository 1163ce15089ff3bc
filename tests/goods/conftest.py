from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from primepre.accounts.roles import WAREHOUSE_GROUP


@pytest.fixture
def warehouse_user(db, django_user_model):
    user = django_user_model.objects.create_user(username="li.warehouse", password=os.urandom(8).hex(), is_staff=True)
    user.groups.add(Group.objects.get(name=WAREHOUSE_GROUP))
    return user


@pytest.fixture
def warehouse_api(warehouse_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(warehouse_user)
    return client
