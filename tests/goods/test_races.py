"""This session's new transitions under two real PostgreSQL connections at once: undoing an assignment, cancelling a
receipt from its page, and a preview expiring while someone confirms it. Each must happen once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from primepre.goods import history, resolve
from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptChange, ReceiptStatus
from primepre.goods.receipt_actions import ReceiptActionRefused, cancel_receipt
from primepre.goods.resolve import MarkConflict, assign_mark, unassign_mark
from primepre.imports import jobs
from primepre.imports.models import ImportJob
from primepre.imports.services import execute_job, store_file

from ..customers.factories import make_customer
from ..imports.helpers import FILES
from .factories import make_receipt

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections racing: PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _race(first: Callable[[], Any], second: Callable[[], Any], inside: threading.Event) -> list[Any]:
    """Run `first` until it signals `inside` (holding its locks), then `second`; each in a thread with its own
    connection. Returns both outcomes (a result or the exception raised)."""
    outcomes: list[Any] = [None, None]

    def run(slot: int, action: Callable[[], Any]) -> None:
        try:
            outcomes[slot] = action()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[slot] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(0, first)), threading.Thread(target=run, args=(1, second))]
    threads[0].start()
    assert inside.wait(5)
    threads[1].start()
    for thread in threads:
        thread.join(10)
    return outcomes


def _slow(module: Any, name: str, inside: threading.Event, monkeypatch) -> None:
    """Make `module.name` signal `inside` and wait a little, so the caller's transaction holds its locks."""
    real = getattr(module, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not inside.is_set():
            inside.set()
            threading.Event().wait(0.3)
        return result

    monkeypatch.setattr(module, name, slow)


def test_two_undos_of_one_assignment_undo_it_once(monkeypatch) -> None:
    kofi = make_customer(shipping_mark="PM4 KOFI")
    for _ in range(3):
        make_receipt(shipping_mark="PM4 KOFFI")
    assign_mark("pm4koffi", kofi)
    inside = threading.Event()
    _slow(resolve, "record_resolution", inside, monkeypatch)
    outcomes = _race(lambda: unassign_mark("pm4koffi"), lambda: unassign_mark("pm4koffi"), inside)
    assert outcomes[0].receipts == 3 and isinstance(outcomes[1], MarkConflict), outcomes
    assert not MarkAlias.objects.exists()
    assert set(GoodsReceipt.objects.values_list("status", flat=True)) == {ReceiptStatus.UNIDENTIFIED}
    undone = ReceiptChange.objects.filter(changes__status__after="unidentified")
    assert undone.count() == 3  # one record per receipt, not two


def test_two_cancels_of_one_receipt_cancel_it_once(monkeypatch) -> None:
    receipt = make_receipt(customer=make_customer())
    inside = threading.Event()
    _slow(history, "record", inside, monkeypatch)
    outcomes = _race(
        lambda: cancel_receipt(receipt.pk, None, "entered twice"),
        lambda: cancel_receipt(receipt.pk, None, "entered twice too"),
        inside,
    )
    assert outcomes[0].status == ReceiptStatus.CANCELLED and isinstance(outcomes[1], ReceiptActionRefused), outcomes
    assert ReceiptChange.objects.filter(receipt=receipt).count() == 1


def test_a_preview_expiring_while_it_is_confirmed_ends_one_way(settings) -> None:
    settings.IMPORT_PREVIEW_EXPIRY_DAYS = 7
    job = jobs.create_job(store_file(FILES / "basic.xlsx"), file_name="basic.xlsx", dry_run=True)
    execute_job(job)
    ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now() - dt.timedelta(days=8))
    start = threading.Barrier(2)
    outcomes: list[Any] = [None, None]

    def run(slot: int, action: Callable[[], Any]) -> None:
        try:
            start.wait(5)
            outcomes[slot] = action()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[slot] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(0, lambda: jobs.confirm(ImportJob.objects.get(pk=job.pk), None))),
        threading.Thread(target=run, args=(1, jobs.expire_previews)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    job.refresh_from_db()
    confirmed = outcomes[0] is None
    assert confirmed != (outcomes[1] == 1), outcomes  # exactly one of them moved the job
    if confirmed:  # the confirm won: a real import (the tests' backend runs it at once), never expired
        assert not job.dry_run and job.error_code != "preview_expired"
    else:
        assert (job.status, job.dry_run, job.error_code) == ("cancelled", True, "preview_expired")
