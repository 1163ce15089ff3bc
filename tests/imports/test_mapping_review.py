"""The mapping step of the review, through the wizard's page and the API: one row per column with its first values and
the field it feeds, "don't import this column", another sheet, and choices refused (4xx) when they cannot apply."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from primepre.customers.models import Customer
from primepre.imports.models import ImportJob
from primepre.imports.schema import get_schema
from primepre.imports.suggest import suggest_columns

from .helpers import FILES
from .mapping_helpers import instructions_then_customers

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"
NUMBA = "Mark,First Name,Last Name,Numba\nPM1 AMA,Ama,Owusu,0241234567\nPM2 YAW,Yaw,Boateng,0201234567\n"


def _upload(wizard: Client, path: Path, **fields: str):
    with open(path, "rb") as handle:
        return wizard.post_and_run("/imports/new/", {"file": handle, **fields})  # type: ignore[attr-defined]


def _numba(tmp_path: Path, text: str = NUMBA) -> Path:
    path = tmp_path / "odd.csv"
    path.write_text(text)
    return path


def test_each_column_is_a_row_with_its_values_and_the_field_it_feeds(wizard: Client, tmp_path: Path) -> None:
    html = _upload(wizard, _numba(tmp_path)).content.decode()
    job = ImportJob.objects.get()
    assert job.status == "needs_mapping"
    mapping = html[html.index('id="mapping"') : html.index("</details>", html.index('id="mapping"'))]
    assert '<label for="column_3">Numba</label>' in mapping
    assert '<span class="sample">0241234567</span> · <span class="sample">0201234567</span>' in mapping
    assert '<option value="phone">Phone *</option>' in mapping  # required, not chosen
    assert '<option value="shipping_mark" selected>Shipping Mark *</option>' in mapping
    assert "Don't import this column" in mapping and "No column is chosen for Phone." in mapping
    assert "Name can take the place of First Name and Last Name" in mapping
    # The mapping comes before anything else of the review.
    assert html.index('id="mapping"') < html.index("All imports")


def test_a_column_mapped_by_hand_is_imported(wizard: Client, tmp_path: Path) -> None:
    _upload(wizard, _numba(tmp_path))
    job = ImportJob.objects.get()
    choices = {"column_0": "shipping_mark", "column_1": "first_name", "column_2": "last_name", "column_3": "phone"}
    page = wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **choices})  # type: ignore[attr-defined]
    job.refresh_from_db()
    assert (job.status, job.created, job.column_mapping["fields"]["phone"]["header"]) == ("previewed", 2, "Numba")
    assert "Columns changed; the preview is running again." in page.content.decode()
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})  # type: ignore[attr-defined]
    assert set(Customer.objects.values_list("phone", flat=True)) == {"+233241234567", "+233201234567"}


def test_don_t_import_this_column_leaves_the_field_out(wizard: Client, tmp_path: Path) -> None:
    path = _numba(tmp_path, "Mark,First Name,Last Name,Phone,Email\nPM1,Ama,Owusu,0241234567,not-an-email\n")
    _upload(wizard, path)
    job = ImportJob.objects.get()
    assert (job.status, job.failed) == ("previewed", 1)
    choices = {"column_0": "shipping_mark", "column_1": "first_name", "column_2": "last_name", "column_3": "phone"}
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **choices, "column_4": ""})  # type: ignore[attr-defined]
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == ("previewed", 1, 0)
    assert "email" not in job.column_mapping["fields"] and job.unknown_columns == ["Email"]


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"column_0": "phone", "column_3": "phone"}, "Phone is chosen for two columns (A and D): choose one."),
        ({"column_x": "phone"}, "column_x=&#x27;phone&#x27; is not a column and a field we import."),
        ({"column_3": "colour"}, "is not a column and a field we import."),
        ({"column_9": "phone"}, "Column 9 for Phone is outside the file: its columns are A to D"),
    ],
)
def test_choices_that_cannot_apply_are_said_and_change_nothing(
    wizard: Client, tmp_path: Path, choices: dict, message: str
) -> None:
    _upload(wizard, _numba(tmp_path))
    job = ImportJob.objects.get()
    page = wizard.post(f"/imports/{job.pk}/", {"action": "remap", **choices}, follow=True)
    assert message in page.content.decode()
    job.refresh_from_db()
    assert job.status == "needs_mapping" and "columns" not in job.options


def test_a_headerless_file_shows_its_positional_mapping_and_can_change_it(wizard: Client, tmp_path: Path) -> None:
    path = _numba(tmp_path, "PM11 KOJO,Kojo,Antwi,kojo@example.com,0241111111,Ashanti\n")
    html = _upload(wizard, path).content.decode()
    job = ImportJob.objects.get()
    assert (job.status, job.header_row, job.created) == ("previewed", None, 1)
    assert '<label for="column_4">Column E</label>' in html and '<label for="column_5">Column F</label>' in html
    assert '<option value="phone" selected>Phone *</option>' in html
    choices = {"column_0": "shipping_mark", "column_1": "first_name", "column_2": "last_name", "column_4": "phone"}
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **choices, "column_5": "region"})  # type: ignore[attr-defined]
    job.refresh_from_db()
    assert (job.status, job.header_row, job.created) == ("previewed", None, 1)
    assert set(job.column_mapping["fields"]) == {"shipping_mark", "first_name", "last_name", "phone", "region"}
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})  # type: ignore[attr-defined]
    assert Customer.objects.values_list("region", "email").get() == ("AH", None)


def test_the_review_lists_the_sheets_and_another_can_be_chosen(wizard: Client, tmp_path: Path) -> None:
    html = _upload(wizard, instructions_then_customers(tmp_path, "xlsx")).content.decode()
    job = ImportJob.objects.get()
    assert (job.status, job.sheet_name) == ("previewed", "Customers")
    assert '<option value="Customers" selected>Customers</option>' in html and ">Instructions</option>" in html
    assert "was picked by itself: it is the first whose columns we recognise" in html
    page = wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", "sheet": "Instructions"})  # type: ignore[attr-defined]
    job.refresh_from_db()
    assert (job.status, job.sheet_name, "sheet_auto" in job.options) == ("needs_mapping", "Instructions", False)
    assert "Sheet &#x27;Instructions&#x27; chosen" in page.content.decode()


# --- the API --------------------------------------------------------------------------------------------------------


@pytest.fixture
def previewed(staff_api: APIClient, django_capture_on_commit_callbacks, tmp_path: Path) -> ImportJob:
    with django_capture_on_commit_callbacks(execute=True), open(_numba(tmp_path), "rb") as handle:
        response = staff_api.post(URL, {"file": handle, "preview": "true"}, format="multipart")
    return ImportJob.objects.get(pk=response.json()["id"])


def _remap(client: APIClient, job: ImportJob, body: dict, capture):
    with capture(execute=True):
        return client.post(f"{URL}{job.pk}/remap/", body, format="json")


def test_the_api_remaps_a_job_waiting_for_its_columns(
    staff_api: APIClient, previewed: ImportJob, django_capture_on_commit_callbacks
) -> None:
    assert previewed.status == "needs_mapping"
    detail = staff_api.get(f"{URL}{previewed.pk}/").json()
    assert detail["column_mapping"]["samples"][3] == ["0241234567", "0201234567"]
    assert detail["links"]["remap"] == f"{URL}{previewed.pk}/remap/" and detail["saved_mapping"] is None
    response = _remap(staff_api, previewed, {"columns": {"phone": 3}}, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    job = staff_api.get(f"{URL}{previewed.pk}/").json()
    assert (job["status"], job["counts"]["created"], job["options"]["columns"]) == ("previewed", 2, {"phone": 3})
    # An empty body drops the choices: the columns are detected again, and Numba is not a header we know.
    assert _remap(staff_api, previewed, {}, django_capture_on_commit_callbacks).status_code == 202
    job = staff_api.get(f"{URL}{previewed.pk}/").json()
    assert (job["status"], "columns" in job["options"]) == ("needs_mapping", False)


@pytest.mark.parametrize(
    ("body", "code", "extra"),
    [
        ({"columns": {"phone": 99}}, "bad_mapping", {"columns": 4}),
        ({"columns": {"phone": "Mobile"}}, "bad_mapping", {"headers": ["Mark", "First Name", "Last Name", "Numba"]}),
        ({"columns": {"colour": 1}}, "bad_mapping", {}),
        ({"sheet": "Customers"}, "unknown_sheet", {"sheets": []}),  # a .csv has no sheets
        ({"columns": {"phone": 99_999}}, "validation_error", {}),
        ({"columns": "{not json"}, "validation_error", {}),
    ],
)
def test_the_api_refuses_choices_that_cannot_apply(
    staff_api: APIClient, previewed: ImportJob, django_capture_on_commit_callbacks, body: dict, code: str, extra: dict
) -> None:
    response = _remap(staff_api, previewed, body, django_capture_on_commit_callbacks)
    assert response.status_code == 400 and response.json()["code"] == code, response.json()
    assert extra.items() <= response.json().items()
    previewed.refresh_from_db()
    assert previewed.status == "needs_mapping"


def test_an_unknown_sheet_is_a_400_naming_the_sheets(admin_api: APIClient, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True), open(FILES / "multi_sheet.xlsx", "rb") as handle:
        job_id = admin_api.post(URL, {"file": handle, "preview": "true"}, format="multipart").json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    response = _remap(admin_api, job, {"sheet": "Clients"}, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert response.json() == {
        "code": "unknown_sheet",
        "message": "There is no sheet named 'Clients'. Sheets in this file: Notes, Customers, Other.",
        "sheets": ["Notes", "Customers", "Other"],
    }
    assert _remap(admin_api, job, {"sheet": "Other"}, django_capture_on_commit_callbacks).status_code == 202
    job.refresh_from_db()
    assert (job.status, job.sheet_name, job.created) == ("previewed", "Other", 1)


def test_only_the_owner_remaps_and_only_before_the_import_ran(
    staff_api: APIClient, previewed: ImportJob, django_user_model, django_capture_on_commit_callbacks
) -> None:
    from django.contrib.auth.models import Group

    other = django_user_model.objects.create_user(username="other", password="x-123456", is_staff=True)
    other.groups.add(Group.objects.get(name="Staff"))
    other_api = APIClient()
    other_api.force_authenticate(other)
    body = {"columns": {"phone": 3}}
    assert _remap(other_api, previewed, body, django_capture_on_commit_callbacks).status_code == 403
    _remap(staff_api, previewed, body, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_api.post(f"{URL}{previewed.pk}/confirm/").status_code == 202
    again = _remap(staff_api, previewed, {"columns": {"phone": 3}}, django_capture_on_commit_callbacks)
    assert (again.status_code, again.json()["code"]) == (409, "not_remappable")


# --- a required field no column feeds: the option that stands in for it, on the mapping step itself --------------

NO_MARK = "Client Name,Cell\nKwame Mensah,0241234567\nAma Owusu,0201234567\n"


def test_a_sheet_without_a_mark_column_is_imported_from_the_review(wizard: Client, tmp_path: Path) -> None:
    """Issue #24 item 2: only `Client Name` and `Cell`. The mapping step says what is missing *and* offers the option
    that fills it; ticking it previews, and the import goes in, without going back to the upload."""
    html = _upload(wizard, _numba(tmp_path, NO_MARK)).content.decode()
    job = ImportJob.objects.get()
    assert job.status == "needs_mapping"
    mapping = html[html.index('id="mapping"') : html.index("</details>", html.index('id="mapping"'))]
    assert "No column is chosen for Shipping Mark: choose one above, or tick “Make a shipping mark" in mapping
    assert 'name="fill_missing_mark"' in mapping and 'name="fill_shown_missing_mark"' in mapping
    # Pressing the button without choosing still ends where it started: the dead end is what the checkbox removes.
    choices = {"column_0": "full_name", "column_1": "phone", "fill_shown_missing_mark": "1"}
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **choices})  # type: ignore[attr-defined]
    job.refresh_from_db()
    assert job.status == "needs_mapping"
    page = wizard.post_and_run(  # type: ignore[attr-defined]
        f"/imports/{job.pk}/", {"action": "remap", **choices, "fill_missing_mark": "1"}
    )
    job.refresh_from_db()
    assert (job.status, job.created, job.options["missing_mark"]) == ("previewed", 2, "generate")
    assert "No column is chosen" not in page.content.decode()
    assert 'id="fill_missing_mark" name="fill_missing_mark" value="1" checked' in page.content.decode()
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})  # type: ignore[attr-defined]
    marks = dict(Customer.objects.values_list("phone", "shipping_mark"))
    assert set(marks) == {"+233241234567", "+233201234567"} and all(marks.values())


def test_the_api_fills_a_missing_mark_and_refuses_other_options(
    staff_api: APIClient, tmp_path: Path, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True), open(_numba(tmp_path, NO_MARK), "rb") as handle:
        job_id = staff_api.post(URL, {"file": handle, "preview": "true"}, format="multipart").json()["id"]
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == "needs_mapping"
    for fill in ({"send_welcome_sms": "true"}, {"missing_mark": "fail"}):
        response = _remap(staff_api, job, {"fill": fill}, django_capture_on_commit_callbacks)
        assert response.status_code == 400 and response.json()["code"] == "not_a_fill_option", response.json()
    response = _remap(staff_api, job, {"fill": {"missing_mark": "generate"}}, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.status, job.created) == ("previewed", 2)
    response = _remap(staff_api, job, {"fill": {"missing_mark": None}}, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert (response.status_code, job.status, "missing_mark" in job.options) == (202, "needs_mapping", False)


# --- headers it has never seen: suggested on the mapping step, never applied by themselves (issue #24 item 12) ----

UNSEEN = (
    "Customer Code,Contact Person Cell,Area,Full Names\n"
    "PM9 KWAKU,0241234567,Ashanti,Kwaku Mensah\n"
    "PM10 ESI,0201234567,Volta,Esi Owusu\n"
)


def test_headers_never_seen_are_suggested_not_applied(wizard: Client, tmp_path: Path) -> None:
    html = _upload(wizard, _numba(tmp_path, UNSEEN)).content.decode()
    job = ImportJob.objects.get()
    assert job.status == "needs_mapping"
    fields = job.column_mapping["fields"]
    assert "phone" not in fields and "region" not in fields and "shipping_mark" not in fields  # nothing applied
    assert 'id="suggested-0">Suggested: Shipping Mark' in html  # PM9 KWAKU-shaped values
    assert 'id="suggested-1">Suggested: Phone' in html  # the header holds "cell"
    assert 'id="suggested-2">Suggested: Region' in html  # "Area": a hint word
    assert 'id="suggested-3">Suggested: Name' in html  # "Full Names" holds "full name"
    # Kept and previewed, the suggestions import.
    choices = {"column_0": "shipping_mark", "column_1": "phone", "column_2": "region", "column_3": "full_name"}
    wizard.post_and_run(f"/imports/{job.pk}/", {"action": "remap", **choices})  # type: ignore[attr-defined]
    job.refresh_from_db()
    assert (job.status, job.created) == ("previewed", 2)


def test_a_suggestion_is_never_a_field_a_column_already_feeds() -> None:
    schema = get_schema("customers")
    stored = {
        "headers": ["Phone", "Contact Person Cell", "Notes"],
        "samples": [["0241234567"], ["0201234567"], ["nice", "customer"]],
        "fields": {"phone": {"index": 0, "header": "Phone"}},
    }
    assert suggest_columns(stored, schema) == {}  # phone is taken; notes look like nothing
