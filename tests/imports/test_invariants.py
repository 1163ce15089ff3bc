"""Invariants that a one-line change of the code guarding them once broke with every test still passing (issue #25's
mutation round): each test here fails with its mutation applied.

- `jobs.confirm` runs only a finished preview: a cancelled, failed, `needs_mapping` or still-running preview → 409
  `not_previewed`, nothing written (mutation: filter on `dry_run=True` alone);
- undo needs every undo permission of the schema: `change_customer` without `delete_customer` → 403 (mutation: drop
  `delete_customer` from the customers schema's `undo_permissions`);
- the zip-bomb guard compares bytes with bytes: a small zip unpacking past a lowered IMPORT_MAX_UNCOMPRESSED_BYTES is
  refused `file_too_large` (mutation: compare in MB).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from primepre.customers.models import Customer
from primepre.imports import jobs
from primepre.imports.errors import ImportFileError
from primepre.imports.models import ImportJob, ImportStatus
from primepre.imports.readers import detect_format
from primepre.imports.services import execute_job, store_file

from .helpers import FILES

pytestmark = pytest.mark.django_db


def _preview(user=None) -> ImportJob:
    job = jobs.create_job(store_file(FILES / "basic.xlsx"), file_name="basic.xlsx", dry_run=True, user=user)
    execute_job(job)
    job.refresh_from_db()
    assert (job.status, Customer.objects.count()) == (ImportStatus.PREVIEWED, 0)
    return job


@pytest.mark.parametrize(
    "state",
    [ImportStatus.CANCELLED, ImportStatus.FAILED, ImportStatus.NEEDS_MAPPING, ImportStatus.RUNNING],
)
def test_only_a_finished_preview_can_be_confirmed(state: str, django_capture_on_commit_callbacks) -> None:
    job = _preview()
    ImportJob.objects.filter(pk=job.pk).update(status=state)  # still a dry run
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(jobs.JobRefused) as refused:
        jobs.confirm(job, None)
    assert (refused.value.code, refused.value.http_status) == ("not_previewed", 409)
    job.refresh_from_db()
    assert (job.status, job.dry_run, Customer.objects.count()) == (state, True, 0)


def test_undo_needs_delete_as_well_as_change(django_user_model, django_capture_on_commit_callbacks) -> None:
    user = django_user_model.objects.create_user("changer", password=None)
    codenames = ("import_customers", "change_customer", "view_customer", "add_customer")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="customers", codename__in=codenames))
    user = django_user_model.objects.get(pk=user.pk)  # permissions are cached per instance
    job = jobs.create_job(store_file(FILES / "basic.xlsx"), file_name="basic.xlsx", user=user)
    execute_job(job)
    created = Customer.objects.count()
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.SUCCEEDED and created
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(f"/api/v1/imports/{job.pk}/undo/")
    assert response.status_code == 403, response.json()
    assert Customer.objects.count() == created and ImportJob.objects.get(pk=job.pk).status == ImportStatus.SUCCEEDED


def test_a_zip_that_unpacks_past_the_limit_is_refused_in_bytes(tmp_path: Path, settings) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 3_000_000)  # 3 MB of spaces: a few KB zipped
    assert path.stat().st_size < 50_000
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 2_000_000
    with pytest.raises(ImportFileError) as refused:
        detect_format(path)
    assert refused.value.code == "file_too_large"
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 4_000_000
    assert detect_format(path) == "xlsx"
