"""Viewers (no `export_customers`) read the directory at CUSTOMER_LIST_RATE_FOR_VIEWERS: one count for the pages and
the API, kept in the database so every process shares it; over it, a 429 that says when to come back."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from primepre.accounts.models import RateCounter
from primepre.accounts.ratelimit import Rate, hit, parse_rate

from .factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_an_hour(settings) -> None:
    settings.CUSTOMER_LIST_RATE_FOR_VIEWERS = "3/hour"


def _page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_and_api_share_one_count_and_the_page_says_when_to_retry(staff_user, three_an_hour) -> None:
    customer = make_customer()
    pages, api = _page_client(staff_user), APIClient()
    api.force_authenticate(staff_user)
    assert pages.get("/customers/").status_code == 200
    assert pages.get(f"/customers/{customer.pk}/").status_code == 200
    assert api.get("/api/v1/customers/").status_code == 200
    refused = pages.get("/customers/")
    assert refused.status_code == 429
    retry_after = int(refused["Retry-After"])
    # The window slides: the three reads of this hour still weigh on the next one until a third of it has passed, so
    # early in an hour the wait is the rest of it plus 20 minutes (up to 80 minutes), never more.
    assert 0 < retry_after <= 3600 + 1200
    assert b"Try again in" in refused.content and b"3/hour" in refused.content
    assert customer.phone.encode() not in refused.content
    body = api.get(f"/api/v1/customers/{customer.pk}/").json()
    assert body["code"] == "throttled" and 0 < body["retry_after"] <= 3600 + 1200


def test_the_count_is_in_the_database_not_a_process_cache(staff_user, three_an_hour) -> None:
    client = _page_client(staff_user)
    for _ in range(3):
        assert client.get("/customers/").status_code == 200
        cache.clear()  # what a per-process cache loses in another worker: the count is not there
    assert client.get("/customers/").status_code == 429
    assert RateCounter.objects.get(user=staff_user, scope="customer_reads").count == 3  # refusals are not counted


def test_exporters_and_other_pages_are_not_counted(admin_user, staff_user, three_an_hour) -> None:
    admin = _page_client(admin_user)
    assert all(admin.get("/customers/").status_code == 200 for _ in range(5))
    staff = _page_client(staff_user)
    assert all(staff.get("/account/").status_code == 200 for _ in range(5))
    assert not RateCounter.objects.exists()


def test_no_limit_when_the_rate_is_empty(staff_user, settings) -> None:
    settings.CUSTOMER_LIST_RATE_FOR_VIEWERS = ""
    client = _page_client(staff_user)
    assert all(client.get("/customers/").status_code == 200 for _ in range(5))


def test_parse_rate() -> None:
    assert parse_rate("600/hour") == Rate(600, 3600) and parse_rate("5/m") == Rate(5, 60) and parse_rate("") is None
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate("600 an hour")


HOUR = 3600
START = 1_800_000_000 // HOUR * HOUR  # the start of some hour


def test_the_window_slides_a_full_limit_at_59_minutes_leaves_little_at_the_turn(staff_user) -> None:
    rate = Rate(10, HOUR)
    assert all(hit(staff_user, "t", rate, now=START + 3540).allowed for _ in range(10))
    assert not hit(staff_user, "t", rate, now=START + 3540).allowed
    turned = hit(staff_user, "t", rate, now=START + HOUR + 60)  # 1 minute into the next hour: 10 × 59/60 + 1 > 10
    assert not turned.allowed and turned.retry_after > 60
    assert hit(staff_user, "t", rate, now=START + HOUR + 60 + turned.retry_after).allowed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(1, 20),
    st.lists(st.integers(0, 2 * HOUR), min_size=1, max_size=60),
)
def test_a_refusal_s_retry_after_is_kept(staff_user, limit: int, offsets: list[int]) -> None:
    """Whatever came before, a refused request's `retry_after` later one request is allowed."""
    RateCounter.objects.all().delete()  # the user fixture is shared by the examples; the count is not
    rate = Rate(limit, HOUR)
    now = START
    for offset in sorted(offsets):
        now = START + offset
        decision = hit(staff_user, "p", rate, now=now)
        if not decision.allowed:
            assert 0 < decision.retry_after <= 2 * HOUR
            assert hit(staff_user, "p", rate, now=now + decision.retry_after).allowed
            return
