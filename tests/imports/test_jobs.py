"""Who may act on an import job, and transitions that race (security review items 1, 2 and 13)."""

from __future__ import annotations

import datetime as dt
import html
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from primepre.accounts.roles import STAFF_GROUP
from primepre.customers.models import Customer
from primepre.imports import jobs
from primepre.imports.jobs import create_job
from primepre.imports.models import ImportJob, ImportStatus
from primepre.imports.services import execute_job, store_file
from primepre.sms.models import SmsMessage

from ..customers.factories import make_customer
from .helpers import HEADER, write_csv

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"
PUMPING_ROW = ["PM9 EVIL", "pay the fee at http://evil.example/pay", "X", "+447911123457", "", "", ""]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def other_staff_api(django_user_model) -> APIClient:
    user = django_user_model.objects.create_user(username="yaw.staff", password=os.urandom(8).hex(), is_staff=True)
    user.groups.add(Group.objects.get(name=STAFF_GROUP))
    client = APIClient()
    client.force_authenticate(user)
    return client


def _upload(client: APIClient, path: Path, **options: object):
    with open(path, "rb") as handle:
        return client.post(URL, {"file": handle, **options}, format="multipart")


def _csv(tmp_path: Path, *rows: list[str]) -> Path:
    return write_csv(tmp_path / "customers.csv", HEADER, list(rows))


def test_staff_cannot_make_the_system_send_sms_through_an_import(
    staff_api, tmp_path, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(staff_api, _csv(tmp_path, PUMPING_ROW), send_welcome_sms="1")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "send_sms" in response.json()["message"]
    assert not ImportJob.objects.exists() and not SmsMessage.objects.exists() and not Customer.objects.exists()


def test_staff_cannot_send_welcome_sms_through_the_wizard(client, staff_user, tmp_path):
    client.force_login(staff_user)
    assert "your role may not send SMS" in client.get("/imports/new/").content.decode()
    with open(_csv(tmp_path, PUMPING_ROW), "rb") as handle:
        response = client.post("/imports/new/", {"file": handle, "send_welcome_sms": "1"})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_staff_cannot_update_customers_through_an_upsert(staff_api, client, staff_user, tmp_path):
    existing = make_customer(phone="+233241234567", shipping_mark="PM4 KOFI", email="kofi@example.com")
    path = _csv(tmp_path, ["PM4 KOFI", "Kofi", "Mensah", "0201111111", "thief@example.com", "", ""])
    response = _upload(staff_api, path, mode="upsert", preview="1")
    assert response.status_code == 403 and "change_customer" in response.json()["message"]
    client.force_login(staff_user)
    with open(path, "rb") as handle:
        assert client.post("/imports/new/", {"file": handle, "mode": "upsert"}).status_code == 403
    existing.refresh_from_db()
    assert (existing.phone, existing.email) == ("+233241234567", "kofi@example.com")
    assert not ImportJob.objects.exists()


def test_admin_may_upsert_and_send_welcome_sms(admin_api, tmp_path, django_capture_on_commit_callbacks):
    path = _csv(tmp_path, ["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""])
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(admin_api, path, mode="upsert", send_welcome_sms="1")
    assert response.status_code == 202
    assert ImportJob.objects.get().options["send_welcome_sms"] is True


@pytest.fixture
def staff_preview(staff_api, tmp_path, django_capture_on_commit_callbacks) -> ImportJob:
    path = _csv(tmp_path, ["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _upload(staff_api, path, preview="1").json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == ImportStatus.PREVIEWED
    return job


@pytest.mark.parametrize("action", ["confirm", "cancel", "undo"])
def test_another_staff_user_cannot_act_on_my_import(other_staff_api, staff_preview, action):
    response = other_staff_api.post(f"{URL}{staff_preview.pk}/{action}/")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    staff_preview.refresh_from_db()
    assert staff_preview.status == ImportStatus.PREVIEWED
    assert other_staff_api.get(f"{URL}{staff_preview.pk}/").status_code == 200  # the history stays readable


def test_another_staff_user_cannot_remap_my_import(client, django_user_model, staff_preview):
    other = django_user_model.objects.create_user(username="esi", password=os.urandom(8).hex(), is_staff=True)
    other.groups.add(Group.objects.get(name=STAFF_GROUP))
    client.force_login(other)
    page = client.get(f"/imports/{staff_preview.pk}/").content.decode()
    assert 'value="remap"' not in page and 'value="confirm"' not in page
    response = client.post(f"/imports/{staff_preview.pk}/", {"action": "remap", "field_phone": "Phone"})
    assert response.status_code == 403
    staff_preview.refresh_from_db()
    assert "columns" not in staff_preview.options and staff_preview.status == ImportStatus.PREVIEWED


def test_the_owner_confirms_and_an_admin_may_manage_anyones_import(
    staff_api, admin_api, staff_preview, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_api.post(f"{URL}{staff_preview.pk}/confirm/").status_code == 202
    assert Customer.objects.count() == 1
    assert staff_api.post(f"{URL}{staff_preview.pk}/undo/").status_code == 403  # Staff may not delete customers
    response = admin_api.post(f"{URL}{staff_preview.pk}/undo/")
    assert response.status_code == 200 and response.json()["status"] == "undone"
    assert not Customer.objects.exists()


def test_permission_taken_away_after_the_preview_is_checked_again_at_confirm(
    admin_user, admin_api, tmp_path, django_capture_on_commit_callbacks
):
    path = _csv(tmp_path, ["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = _upload(admin_api, path, preview="1", send_welcome_sms="1").json()["id"]
    admin_user.groups.clear()
    admin_user.groups.add(Group.objects.get(name=STAFF_GROUP))
    fresh = APIClient()
    fresh.force_authenticate(type(admin_user).objects.get(pk=admin_user.pk))  # no cached permissions
    response = fresh.post(f"{URL}{job_id}/confirm/")
    assert response.status_code == 403
    assert ImportJob.objects.get(pk=job_id).status == ImportStatus.PREVIEWED


def _job(tmp_path: Path, rows: int) -> ImportJob:
    path = _csv(tmp_path, *[[f"PM{n} X", "Ama", "Owusu", f"024{n:07d}", "", "", ""] for n in range(1, rows + 1)])
    return create_job(store_file(path), file_name=path.name, mode="create")


def test_an_undo_that_races_a_cancel_stays_undone(tmp_path):
    """Cancel, then undo, while the worker is between batches: its ending (`cancelled`) must not overwrite `undone`."""
    job = _job(tmp_path, 6)

    def cancel_and_undo() -> bool:
        seen = ImportJob.objects.get(pk=job.pk)  # as another process sees it: not the worker's own object
        if seen.rows_read:
            jobs.cancel(seen, None)
            jobs.undo(seen, None)
            return True
        return False

    execute_job(job, batch_size=2, should_stop=cancel_and_undo)
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE
    assert not Customer.objects.exists()


def test_a_batch_in_flight_when_the_job_is_undone_is_not_committed(tmp_path):
    job = _job(tmp_path, 6)
    undone = []

    def undo_once() -> bool:
        seen = ImportJob.objects.get(pk=job.pk)  # as another process sees it: not the worker's own object
        if seen.rows_read and not undone:
            jobs.cancel(seen, None)
            undone.append(jobs.undo(seen, None))
        return False  # the worker has not seen the cancel yet and goes on with its next batch

    execute_job(job, batch_size=2, should_stop=undo_once)
    job.refresh_from_db()
    assert job.status == ImportStatus.UNDONE and undone[0].deleted == 2
    assert not Customer.objects.exists()  # the next batch's commit lost the lease and was rolled back


def test_a_welcome_option_on_a_job_made_by_any_other_path_sends_nothing_for_staff(staff_user, tmp_path, settings):
    settings.SMS_BACKEND = "locmem"
    path = _csv(tmp_path, ["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""])
    job = create_job(store_file(path), file_name=path.name, user=staff_user, options={"send_welcome_sms": True})
    execute_job(job)
    assert Customer.objects.count() == 1
    assert not SmsMessage.objects.exists()


def test_undo_keeps_customers_with_goods_and_clears_their_sms_link(tmp_path, settings):
    """Undo deletes with one DELETE: every foreign key to Customer is honoured (goods PROTECT, SMS SET_NULL)."""
    from ..goods.factories import make_receipt

    settings.SMS_BACKEND = "locmem"
    path = _csv(tmp_path, *[[f"PM{n} X", "Ama", "Owusu", f"024{n:07d}", "", "", ""] for n in (1, 2, 3)])
    job = create_job(store_file(path), file_name=path.name, options={"send_welcome_sms": True})
    execute_job(job)
    with_goods = Customer.objects.get(shipping_mark="PM1 X")
    make_receipt(customer=with_goods, shipping_mark="PM1 X")
    assert SmsMessage.objects.filter(customer__isnull=False).count() == 3
    result = jobs.undo(ImportJob.objects.get(pk=job.pk), None)
    assert result.deleted == 2
    assert [(kept["shipping_mark"], kept["reason"]) for kept in result.kept] == [("PM1 X", "has goods receipts")]
    assert list(Customer.objects.values_list("shipping_mark", flat=True)) == ["PM1 X"]
    assert SmsMessage.objects.count() == 3  # the outbox keeps its history; the link to deleted customers is cleared
    assert SmsMessage.objects.filter(customer__isnull=False).count() == 1


# --- the transitions one by one (imports.jobs) -----------------------------------------------------------------------


def test_submit_refuses_before_creating_anything_and_queues_at_commit(
    staff_user, admin_user, tmp_path, django_capture_on_commit_callbacks
):
    stored = store_file(_csv(tmp_path, ["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""]))
    with pytest.raises(jobs.JobRefused) as refused:
        jobs.submit(stored, file_name="a.csv", user=staff_user, options={"send_welcome_sms": True})
    assert refused.value.http_status == 403 and not ImportJob.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        job = jobs.submit(stored, file_name="a.csv", user=admin_user, mode="upsert", dry_run=True)
    assert len(queued) == 1  # the run is queued once the job row is committed, not before
    assert (job.status, job.mode, job.dry_run, job.created_by) == (ImportStatus.QUEUED, "upsert", True, admin_user)


def test_claim_takes_a_job_once_and_counts_the_run(tmp_path):
    job = _job(tmp_path, 2)
    other = ImportJob.objects.get(pk=job.pk)  # as a second worker holds it
    assert jobs.claim(job) is True
    assert jobs.claim(other) is False
    job.refresh_from_db()
    assert (job.status, job.attempts, len(job.worker_token)) == (ImportStatus.RUNNING, 1, 32)
    assert other.worker_token == job.worker_token  # the loser sees the winner's lease, and runs nothing


def _ended_with_an_internal_error(job: ImportJob, checkpoint_row: int, started_at) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.FAILED,
        error_code="internal_error",
        error_message="boom",
        rows_read=3,
        created=2,
        failed=1,
        seconds=1.5,
        checkpoint_row=checkpoint_row,
        started_at=started_at,
        attempts=1,
    )
    job.row_errors.create(row_number=4, errors=[], values=[])


def test_a_claim_from_row_one_starts_from_zero(tmp_path):
    from django.utils import timezone

    job = _job(tmp_path, 2)
    long_ago = timezone.now() - dt.timedelta(days=1)
    _ended_with_an_internal_error(job, checkpoint_row=0, started_at=long_ago)
    assert jobs.claim(job)
    job.refresh_from_db()
    assert (job.rows_read, job.created, job.failed, job.seconds, job.error_code, job.error_message) == (
        0, 0, 0, 0.0, "", ""
    )  # fmt: skip
    assert job.started_at > long_ago and job.attempts == 2 and not job.row_errors.exists()


def test_a_claim_after_a_checkpoint_resumes_with_the_counts(tmp_path):
    from django.utils import timezone

    job = _job(tmp_path, 6)
    long_ago = timezone.now() - dt.timedelta(days=1)
    _ended_with_an_internal_error(job, checkpoint_row=4, started_at=long_ago)
    assert jobs.claim(job)
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created, job.failed, job.started_at) == (
        ImportStatus.RUNNING, 3, 2, 1, long_ago
    )  # fmt: skip
    assert job.row_errors.count() == 1


def test_finish_records_nothing_for_a_run_that_lost_its_lease(tmp_path):
    job = _job(tmp_path, 2)
    assert jobs.claim(job)
    wrote_at = job.claimed_at + dt.timedelta(seconds=1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=wrote_at)  # the run committed a batch, then went silent
    stale = ImportJob.objects.get(pk=job.pk)
    assert jobs.requeue(job.pk, cutoff=stale.heartbeat_at + dt.timedelta(seconds=1))  # the sweep took it back
    assert jobs.claim(ImportJob.objects.get(pk=job.pk))  # and another worker claimed it
    assert jobs.finish(stale, ImportStatus.SUCCEEDED) is False
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.RUNNING


def test_remap_of_a_job_that_crashed_its_workers_gives_it_new_attempts(admin_user, tmp_path, settings):
    job = _job(tmp_path, 2)
    assert jobs.claim(job)
    wrote_at = job.claimed_at + dt.timedelta(seconds=1)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=wrote_at)  # died writing, not reading
    cutoff = wrote_at + dt.timedelta(seconds=1)
    settings.IMPORT_MAX_ATTEMPTS = 1
    assert not jobs.requeue(job.pk, cutoff) and jobs.give_up(job.pk, 1, cutoff)
    job.refresh_from_db()
    assert (job.status, job.error_code) == (ImportStatus.FAILED, "worker_crashed")
    jobs.remap(job, admin_user, {"phone": "Phone"})
    job.refresh_from_db()
    assert (job.status, job.attempts, job.dry_run, job.options["columns"]) == ("queued", 0, True, {"phone": "Phone"})


@pytest.mark.parametrize(
    ("status", "rows_read", "total_rows", "percent"),
    [
        (ImportStatus.QUEUED, 0, None, 0.0),
        (ImportStatus.RUNNING, 10, None, None),
        (ImportStatus.RUNNING, 1, 3, 33.3),
        (ImportStatus.CANCELLED, 2, 3, 66.7),
        (ImportStatus.FAILED, 5, 3, 100.0),
        (ImportStatus.SUCCEEDED, 0, None, 100.0),
        (ImportStatus.PREVIEWED, 1, 2, 100.0),
        (ImportStatus.UNDONE, 0, 5, 100.0),
    ],
)
def test_percent_is_the_model_s(status, rows_read, total_rows, percent):
    job = ImportJob(status=status, rows_read=rows_read, created=rows_read, total_rows=total_rows)
    assert job.percent == percent


# --- the wizard's options go through the API's serializer (imports.options) ------------------------------------------


def test_the_wizard_refuses_a_bad_option_instead_of_guessing(client, admin_user, tmp_path):
    client.force_login(admin_user)
    path = _csv(tmp_path, ["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""])
    with open(path, "rb") as handle:
        response = client.post("/imports/new/", {"file": handle, "mode": "replace"})
    assert response.status_code == 200
    assert 'Mode: "replace" is not a valid choice.' in html.unescape(response.content.decode())
    assert not ImportJob.objects.exists()  # it used to start a `create` import instead
    with open(path, "rb") as handle:
        response = client.post("/imports/new/", {"file": handle, "mode": "upsert", "missing_mark": "generate"})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and (job.mode, job.dry_run, job.options) == (
        "upsert", True, {"missing_mark": "generate"}
    )  # fmt: skip


def test_the_wizard_s_remap_validates_the_columns(client, staff_user, staff_preview):
    client.force_login(staff_user)
    response = client.post(f"/imports/{staff_preview.pk}/", {"action": "remap", "field_phone": "P" * 300}, follow=True)
    assert "The column for 'phone' must be a header" in html.unescape(response.content.decode())
    staff_preview.refresh_from_db()
    assert staff_preview.status == ImportStatus.PREVIEWED and "columns" not in staff_preview.options
