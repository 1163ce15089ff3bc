"""The import wizard's pages through Django's test client (the task runs when the request's transaction commits,
as a worker would run it)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from primepre.customers.models import Customer
from primepre.imports import jobs
from primepre.imports.models import ImportJob

from .helpers import FILES

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(wizard):
    return wizard


def test_upload_preview_confirm_undo(browser: Client, admin_user) -> None:
    assert b"at most <strong>50 MB</strong>" in browser.get("/imports/new/").content
    with open(FILES / "basic.xlsx", "rb") as handle:
        page = browser.post_and_run("/imports/new/", {"file": handle, "mode": "create"})
    job = ImportJob.objects.get()
    assert page.request["PATH_INFO"] == f"/imports/{job.pk}/"
    html = page.content.decode()
    assert "preview, nothing written yet" in html
    assert re.search(r'data-count="created">4<', html) and re.search(r'data-count="failed">2<', html)
    assert not Customer.objects.exists()
    # The failing cells are marked, with the reason beside them.
    assert '<td class="bad" title="Last name is missing."></td>' in html
    assert "Phone</strong>: Too short to be a phone number." in html
    done = browser.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})
    assert "Succeeded" in done.content.decode()
    assert Customer.objects.count() == 4
    assert f"/customers/?import_job={job.pk}" in done.content.decode()
    listed = browser.get("/customers/", {"import_job": job.pk})
    assert listed.context["page"].paginator.count == 4
    # Staff may import but not delete customers: the undo button is not offered and the action is refused.
    assert 'value="undo"' not in done.content.decode()
    assert browser.post(f"/imports/{job.pk}/", {"action": "undo"}).status_code == 403
    assert Customer.objects.count() == 4
    admin = Client()
    admin.force_login(admin_user)
    undone = admin.post(f"/imports/{job.pk}/", {"action": "undo"}, follow=True)
    assert "4 customers removed" in undone.content.decode()
    assert not Customer.objects.exists()


def test_changing_an_unrecognised_column(browser: Client, tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("Mark,First Name,Last Name,Numba\nPM1,Ama,Owusu,0241234567\n")
    page = browser.post_and_run("/imports/new/", {"file": open(odd, "rb")})
    job = ImportJob.objects.get()
    assert job.status == "needs_mapping" and job.error_code == "missing_columns"
    html = page.content.decode()
    # Not a dead end: the review opens on the mapping, with the file's columns to choose from.
    assert "Which column is which?" in html and "could not be imported" not in html
    assert '<details open id="mapping">' in html and '<label for="column_3">Numba</label>' in html
    assert 'value="remap"' in html
    fields = {"field_shipping_mark": "Mark", "field_first_name": "First Name", "field_last_name": "Last Name"}
    again = browser.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **fields, "field_phone": "Numba"})
    job.refresh_from_db()
    assert (job.status, job.created) == ("previewed", 1)
    assert "Numba" in again.content.decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "not a spreadsheet"),
        (b"PK\x03\x04broken", "damaged"),
    ],
)
def test_file_level_problems_are_said_clearly(browser: Client, tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "customers.xlsx"
    bad.write_bytes(content)
    page = browser.post_and_run("/imports/new/", {"file": open(bad, "rb")})
    assert message in page.content.decode()
    assert not ImportJob.objects.exists()


def test_too_large_files_are_refused_with_the_limit(browser: Client, settings, tmp_path: Path) -> None:
    settings.IMPORT_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 3_000_000)
    page = browser.post_and_run("/imports/new/", {"file": open(big, "rb")})
    assert "larger than the 2 MB limit" in page.content.decode()


def test_history_lists_jobs_with_filters(browser: Client) -> None:
    with open(FILES / "basic.xlsx", "rb") as handle:
        browser.post_and_run("/imports/new/", {"file": handle})
    page = browser.get("/imports/", {"status": "previewed"})
    assert "basic.xlsx" in page.content.decode()
    assert "basic.xlsx" not in browser.get("/imports/", {"status": "succeeded"}).content.decode()


def test_history_tells_previews_from_imports_and_previews_expire(browser: Client, settings) -> None:
    """Issue #24 item 9: a preview never confirmed says "would create", can be filtered, and expires."""
    with open(FILES / "basic.xlsx", "rb") as handle:
        browser.post_and_run("/imports/new/", {"file": handle})
    job = ImportJob.objects.get()
    assert (job.status, job.dry_run) == ("previewed", True) and job.created
    html = browser.get("/imports/").content.decode()
    assert f'<span class="would">would create</span> {job.created}' in html and "preview, nothing written" in html
    assert "basic.xlsx" in browser.get("/imports/", {"run": "previews"}).content.decode()
    assert "basic.xlsx" not in browser.get("/imports/", {"run": "imports"}).content.decode()
    settings.IMPORT_PREVIEW_EXPIRY_DAYS = 7
    assert jobs.expire_previews(now=timezone.now() + dt.timedelta(days=6)) == 0
    assert jobs.expire_previews(now=timezone.now() + dt.timedelta(days=8)) == 1
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("cancelled", "preview_expired")
    assert "Preview expired" in browser.get("/imports/").content.decode()
    confirm = browser.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"}).content.decode()
    assert "only a previewed import can be confirmed" in confirm and not Customer.objects.exists()


def test_none_removes_a_field_from_the_mapping(browser: Client, tmp_path: Path) -> None:
    sheet = tmp_path / "with_email.csv"
    sheet.write_text("Mark,First Name,Last Name,Phone,Email\nPM1,Ama,Owusu,0241234567,not-an-email\n")
    browser.post_and_run("/imports/new/", {"file": open(sheet, "rb")})
    job = ImportJob.objects.get()
    assert (job.status, job.failed) == ("previewed", 1)  # the bad email fails the row
    fields = {"field_shipping_mark": "Mark", "field_first_name": "First Name", "field_last_name": "Last Name"}
    browser.post_and_run(
        f"/imports/{job.pk}/", {"action": "remap", **fields, "field_phone": "Phone", "field_email": ""}
    )
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == ("previewed", 1, 0)
    assert "email" not in job.column_mapping["fields"]


def test_a_queued_job_waits_instead_of_showing_the_preview_s_counts(browser: Client) -> None:
    with open(FILES / "basic.xlsx", "rb") as handle:
        browser.post_and_run("/imports/new/", {"file": handle})
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(status="queued", dry_run=False)  # confirmed, no worker yet
    html = browser.get(f"/imports/{job.pk}/").content.decode()
    assert "Waiting for a worker to start…" in html and 'value="0"' in html
    assert "&quot;needs_mapping&quot;: &quot;Needs its columns chosen&quot;" in html  # labels for the live status


def test_failures_are_summarised_by_kind_and_filter_the_rows(browser: Client, tmp_path: Path) -> None:
    sheet = tmp_path / "mixed.csv"
    sheet.write_text(
        "Mark,First Name,Last Name,Phone,Email\n"
        "PM1,Ama,Owusu,12,\nPM2,Yaw,Boat,13,\nPM3,Esi,Mensah,0241234567,not-an-email\nPM4,Kofi,Asare,0241234568,\n"
    )
    page = browser.post_and_run("/imports/new/", {"file": open(sheet, "rb")}).content.decode()
    job = ImportJob.objects.get()
    assert job.tallies["errors"] == {"invalid_phone|Phone": 2, "invalid_email|Email": 1}
    assert "<strong>2</strong> invalid phone (Phone)" in page and "<strong>1</strong> invalid email (Email)" in page
    only_email = browser.get(f"/imports/{job.pk}/", {"error": "invalid_email|Email"})
    assert [row["row"] for row in only_email.context["rows"]] == [4]


def test_a_file_already_imported_cannot_be_confirmed_and_says_why(browser: Client, tmp_path: Path) -> None:
    from ..customers.factories import make_customer

    make_customer(shipping_mark="PM1", phone="+233241234567")
    sheet = tmp_path / "again.csv"
    sheet.write_text("Mark,First Name,Last Name,Phone\nPM1,Ama,Owusu,0241234567\n")
    page = browser.post_and_run("/imports/new/", {"file": open(sheet, "rb")}).content.decode()
    job = ImportJob.objects.get()
    assert job.tallies["already_exist"] == 1 and job.created == 0
    assert 'id="already-exist"' in page and 'id="nothing-to-write"' in page and 'id="confirm"' not in page


def test_preview_as_an_update_instead(browser: Client, admin_user, tmp_path: Path, django_capture_on_commit_callbacks):
    from ..customers.factories import make_customer

    make_customer(shipping_mark="PM1", phone="+233241234567", last_name="Old")
    sheet = tmp_path / "again.csv"
    sheet.write_text("Mark,First Name,Last Name,Phone\nPM1,Ama,New,0241234567\n")
    admin = Client()
    admin.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True), open(sheet, "rb") as handle:
        admin.post("/imports/new/", {"file": handle})
    job = ImportJob.objects.get()
    assert 'id="as-update"' in admin.get(f"/imports/{job.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(f"/imports/{job.pk}/", {"action": "as_update"})
    job.refresh_from_db()
    assert (job.mode, job.status, job.updated, job.failed) == ("upsert", "previewed", 1, 0)
    assert browser.post(f"/imports/{job.pk}/", {"action": "as_update"}).status_code == 403  # not the owner


def test_a_file_uploaded_twice_says_so(browser: Client) -> None:
    with open(FILES / "basic.xlsx", "rb") as handle:
        browser.post_and_run("/imports/new/", {"file": handle})
    with open(FILES / "basic.xlsx", "rb") as handle:
        again = browser.post_and_run("/imports/new/", {"file": handle}).content.decode()
    first, _second = ImportJob.objects.order_by("pk")
    assert 'id="same-file"' in again and f"import #{first.pk}</a>" in again
    assert 'id="same-file"' not in browser.get(f"/imports/{first.pk}/").content.decode()


def test_the_result_opens_with_its_outcome_and_an_undo_lists_what_it_kept(browser: Client, admin_user) -> None:
    with open(FILES / "basic.xlsx", "rb") as handle:
        browser.post_and_run("/imports/new/", {"file": handle})
    job = ImportJob.objects.get()
    done = browser.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"}).content.decode()
    sentence = done.split('id="outcome-sentence">')[1].split("</p>")[0]
    assert sentence == "Imported 4 new customers; 2 rows failed (below, and in the error file)."
    assert done.index('id="outcome"') < done.index('id="failing"')  # before the failing rows, not under them
    edited = Customer.objects.order_by("pk").first()
    edited.company_name = "Edited since"
    edited.save()
    admin = Client()
    admin.force_login(admin_user)
    undone = admin.post(f"/imports/{job.pk}/", {"action": "undo"}, follow=True).content.decode()
    assert "3 removed, 0 restored, 1 left as they were." in undone
    assert 'id="imported-records"' not in undone and f"{edited.shipping_mark}</a>: edited since the import" in undone


def test_the_preview_shows_rows_as_they_will_be_stored(browser: Client, tmp_path: Path) -> None:
    sheet = tmp_path / "names.csv"
    sheet.write_text("Mark,Name,Phone,Region\nPM1 AMA,Ama Owusu,024 123 4567,Ashanti\n")
    page = browser.post_and_run("/imports/new/", {"file": open(sheet, "rb")}).content.decode()
    job = ImportJob.objects.get()
    assert job.tallies["sample"] == [
        {"Shipping Mark": "PM1 AMA", "First Name": "Ama", "Last Name": "Owusu", "Phone": "+233241234567",
         "Email": "", "Region": "Ashanti", "Company": "", "Customer Type": "Individual"}
    ]  # fmt: skip
    assert 'id="sample"' in page and "<td>+233241234567</td>" in page
