from __future__ import annotations

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def warehouse_api(warehouse_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(warehouse_user)
    return client
