"""imports/0010: the customer change rows of earlier upserts keep their record (as `record_id`), and one whose
customer was deleted is kept as record 0, shown as "deleted since"."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
BEFORE = [("imports", "0009_job_claimed_at"), ("customers", "0003_search_text_and_last_name_index")]
AFTER = [("imports", "0010_generic_import_change")]


def _migrate(targets: list[tuple[str, str]]) -> object:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def back_to_the_latest() -> Iterator[None]:
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_changes_keep_their_customer_as_the_record() -> None:
    old = _migrate(BEFORE)
    job = old.get_model("imports", "ImportJob").objects.create(file_name="c.csv", file_size=1, sha256="0" * 64)
    customer = old.get_model("customers", "Customer").objects.create(
        first_name="Ama", last_name="Owusu", phone="+233241234567", shipping_mark="PM1 AMA", mark_key="pm1ama"
    )
    change = old.get_model("imports", "ImportChange")
    change.objects.create(job=job, customer=customer, row_number=2, before={"last_name": "O"}, after={})
    change.objects.create(job=job, customer=None, row_number=3, before={}, after={}, after_updated_at=timezone.now())
    new = _migrate(AFTER)
    rows = list(new.get_model("imports", "ImportChange").objects.order_by("row_number").values_list(
        "schema", "record_id", "before"
    ))  # fmt: skip
    assert rows == [("customers", customer.pk, {"last_name": "O"}), ("customers", 0, {})]
