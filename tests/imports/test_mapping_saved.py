"""Saved mappings: columns a user corrected are remembered for that header row after the import succeeds, applied to
their next file with the same headers (said on the review and in the API, changeable), and frozen by the confirm."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from primepre.customers.models import Customer
from primepre.imports import services
from primepre.imports.columns import header_key
from primepre.imports.models import ImportJob, SavedMapping

from .helpers import run_import, write_csv

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"
ODD = ["Mark", "First Name", "Last Name", "Numba", "E-post"]
CHOICES = {"column_0": "shipping_mark", "column_1": "first_name", "column_2": "last_name", "column_3": "phone"}


def _upload(client: Client, path: Path):
    with open(path, "rb") as handle:
        return client.post_and_run("/imports/new/", {"file": handle})  # type: ignore[attr-defined]


def _odd(tmp_path: Path, name: str, *marks: str) -> Path:
    # Each mark's number gives its phone, so no two files share one.
    rows = [[mark, "Ama", "Owusu", f"02412345{int(mark.split()[0][2:]):02d}", ""] for mark in marks]
    return write_csv(tmp_path / name, ODD, rows)


def _first_import(wizard: Client, tmp_path: Path) -> ImportJob:
    """The Numba sheet mapped by hand (E-post left out) and imported."""
    _upload(wizard, _odd(tmp_path, "first.csv", "PM1 A", "PM2 B"))
    job = ImportJob.objects.get()
    assert job.status == "needs_mapping"
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **CHOICES, "column_4": ""})  # type: ignore[attr-defined]
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})  # type: ignore[attr-defined]
    job.refresh_from_db()
    assert (job.status, job.created) == ("succeeded", 2)
    return job


def test_a_corrected_mapping_is_remembered_once_the_import_succeeds(wizard: Client, tmp_path: Path, staff_user):
    first = _first_import(wizard, tmp_path)
    saved = SavedMapping.objects.get()
    assert (saved.user, saved.schema, saved.job, saved.header_key) == (staff_user, "customers", first, header_key(ODD))
    assert saved.columns == {"shipping_mark": 0, "first_name": 1, "last_name": 2, "phone": 3}


def test_the_next_file_with_the_same_headers_is_mapped_the_same_way(
    wizard: Client, tmp_path: Path, staff_api: APIClient
) -> None:
    first = _first_import(wizard, tmp_path)
    page = _upload(wizard, _odd(tmp_path, "second.csv", "PM3 C")).content.decode()
    second = ImportJob.objects.latest("pk")
    assert (second.status, second.created) == ("previewed", 1)  # no needs_mapping this time
    assert "Mapping from your import of" in page and f'href="/imports/{first.pk}/"' in page
    assert second.column_mapping["saved_mapping"]["job"] == first.pk
    assert staff_api.get(f"{URL}{second.pk}/").json()["saved_mapping"] == second.column_mapping["saved_mapping"]
    # Changeable: the review's choices replace it, and the job no longer says it came from the saved one.
    wizard.post_and_run(f"/imports/{second.pk}/", {"action": "remap", **CHOICES, "column_4": "email"})  # type: ignore[attr-defined]
    second.refresh_from_db()
    assert second.column_mapping["saved_mapping"] is None and "email" in second.column_mapping["fields"]


def test_the_confirm_imports_what_was_previewed_even_if_the_saved_mapping_changes(
    wizard: Client, tmp_path: Path
) -> None:
    first = _first_import(wizard, tmp_path)
    _upload(wizard, _odd(tmp_path, "second.csv", "PM3 C"))
    second = ImportJob.objects.latest("pk")
    SavedMapping.objects.update(columns={"shipping_mark": 0, "first_name": 1, "last_name": 2})  # no phone
    wizard.post_and_run(f"/imports/{second.pk}/", {"action": "confirm"})  # type: ignore[attr-defined]
    second.refresh_from_db()
    assert (second.status, second.created) == ("succeeded", 1)
    assert second.options["saved_mapping"]["job"] == first.pk and second.options["columns"]["phone"] == 3
    assert SavedMapping.objects.get().job == first  # applied as saved: nothing new to remember
    assert Customer.objects.filter(shipping_mark="PM3 C").exists()


def test_saved_mappings_are_per_user(wizard: Client, tmp_path: Path, django_user_model) -> None:
    _first_import(wizard, tmp_path)
    other = django_user_model.objects.create_user(username="yaa", password="x-123456", is_staff=True)
    other.groups.add(Group.objects.get(name="Staff"))
    job = run_import(_odd(tmp_path, "theirs.csv", "PM9 Z"), dry_run=True, user=other)
    assert (job.status, job.column_mapping["saved_mapping"]) == ("needs_mapping", None)


def test_a_preview_that_is_not_imported_remembers_nothing(wizard: Client, tmp_path: Path) -> None:
    _upload(wizard, _odd(tmp_path, "first.csv", "PM1 A"))
    job = ImportJob.objects.get()
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **CHOICES})  # type: ignore[attr-defined]
    assert ImportJob.objects.get().status == "previewed" and not SavedMapping.objects.exists()


def test_columns_given_with_an_api_upload_are_remembered_too(tmp_path: Path, staff_user) -> None:
    job = run_import(_odd(tmp_path, "api.csv", "PM1 A"), user=staff_user, columns={"phone": "Numba"})
    assert (job.status, job.created) == ("succeeded", 1)
    assert SavedMapping.objects.get().columns["phone"] == 3


def test_a_mapping_the_same_as_detected_or_of_a_headerless_file_is_not_saved(tmp_path: Path, staff_user) -> None:
    header = ["Mark", "First Name", "Last Name", "Phone"]
    plain = write_csv(tmp_path / "plain.csv", header, [["PM1", "A", "B", "0241234567"]])
    assert run_import(plain, user=staff_user, columns={"phone": "Phone"}).status == "succeeded"
    legacy = write_csv(tmp_path / "legacy.csv", None, [["PM2 K", "Kojo", "Antwi", "", "0241111111", "Ashanti"]])
    job = run_import(legacy, user=staff_user, columns={"region": 5})
    assert (job.status, job.header_row, job.created) == ("succeeded", None, 1)
    assert not SavedMapping.objects.exists()


def test_the_oldest_saved_mappings_go_first(tmp_path: Path, staff_user, monkeypatch) -> None:
    monkeypatch.setattr(services, "MAX_SAVED_MAPPINGS", 2)
    for index in range(3):
        header = ["Mark", "First Name", "Last Name", f"Numba {index}"]
        path = write_csv(tmp_path / f"{index}.csv", header, [[f"PM{index} A", "Ama", "Owusu", f"024123456{index}"]])
        assert run_import(path, user=staff_user, columns={"phone": 3}).status == "succeeded"
    assert sorted(saved.headers[3] for saved in SavedMapping.objects.all()) == ["Numba 1", "Numba 2"]


def test_a_deleted_source_import_leaves_the_mapping_without_its_link(wizard: Client, tmp_path: Path) -> None:
    first = _first_import(wizard, tmp_path)
    _upload(wizard, _odd(tmp_path, "second.csv", "PM3 C"))
    second = ImportJob.objects.latest("pk")
    ImportJob.objects.filter(pk=first.pk).delete()
    html = wizard.get(f"/imports/{second.pk}/").content.decode()
    assert "Mapping from your import of" in html and f'href="/imports/{first.pk}/"' not in html
