"""Rows imported without their invalid optional cells (warnings), and the before → after of an upsert, recorded for
previews as for real runs (#13 section 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from primepre.customers.models import Customer, CustomerType
from primepre.imports.jobs import confirm, create_job
from primepre.imports.models import ImportChange
from primepre.imports.serializers import parse_options
from primepre.imports.services import execute_job, store_file
from primepre.imports.undo import undo_job

from ..customers.factories import make_customer
from .helpers import HEADER, assert_reconciles, errors_by_row, run_import, write_csv

pytestmark = pytest.mark.django_db

HEADER_TYPED = [*HEADER, "Customer Type"]
ROWS = [
    ["PM1 AMA", "Ama", "Owusu", "0241234567", "ama@", "Ashanti", "", ""],  # invalid email
    ["PM2 YAW", "Yaw", "Boateng", "0201234567", "yaw@example.com", "Narnia", "", ""],  # invalid region
    ["PM3 KOFI", "Kofi", "Mensah", "0551234567", "nope", "Atlantis", "K" * 300, "business"],  # three bad cells
    ["PM4 ESI", "Esi", "Addo", "0271234567", "bad", "", "", "alien"],  # invalid email and type
    ["PM5 EFUA", "Efua", "Asante", "not a phone", "bad", "", "", ""],  # a bad phone still fails the row
    ["PM6 AKU", "Aku", "Mensah", "0261234567", "aku@example.com", "Volta", "", ""],  # a good row
]


def _file(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "customers.csv", HEADER_TYPED, ROWS)


def test_by_default_an_invalid_optional_cell_fails_its_row(tmp_path: Path) -> None:
    job = run_import(_file(tmp_path))
    assert (job.created, job.failed) == (1, 5)
    assert job.row_warnings.count() == 0
    assert "warnings" not in job.tallies
    assert_reconciles(job)


def test_rows_import_without_their_invalid_optional_cells_when_asked(tmp_path: Path) -> None:
    job = run_import(_file(tmp_path), invalid_optional="import_without")
    assert (job.created, job.failed) == (5, 1)
    assert errors_by_row(job) == {6: {("phone", "invalid_phone"), ("email", "invalid_email")}}
    assert_reconciles(job)
    ama = Customer.objects.get(shipping_mark="PM1 AMA")
    assert (ama.email, ama.region) == (None, "AH")
    yaw = Customer.objects.get(shipping_mark="PM2 YAW")
    assert (yaw.email, yaw.region) == ("yaw@example.com", "")
    kofi = Customer.objects.get(shipping_mark="PM3 KOFI")
    assert (kofi.email, kofi.region, kofi.company_name) == (None, "", "")
    assert kofi.customer_type == CustomerType.BUSINESS  # the file said business; only the company was left out
    esi = Customer.objects.get(shipping_mark="PM4 ESI")
    assert esi.customer_type == CustomerType.INDIVIDUAL
    warnings = {w.row_number: w for w in job.row_warnings.all()}
    assert set(warnings) == {2, 3, 4, 5}
    assert [(cell["column"], cell["code"], cell["value"]) for cell in warnings[2].dropped] == [
        ("Email", "invalid_email", "ama@")
    ]
    assert {cell["field"] for cell in warnings[4].dropped} == {"email", "region", "company_name"}
    assert warnings[3].values[:4] == ["PM2 YAW", "Yaw", "Boateng", "0201234567"]
    assert job.tallies["warnings"] == 4
    assert job.tallies["dropped"] == {
        "invalid_email|Email": 3,
        "invalid_region|Region": 2,
        "too_long|Company": 1,
        "invalid_type|Customer Type": 1,
    }


def test_a_warned_row_that_then_fails_is_a_failure_only(tmp_path: Path) -> None:
    make_customer(phone="+233241234567", shipping_mark="OLD ONE")
    job = run_import(_file(tmp_path), invalid_optional="import_without")
    assert 2 in errors_by_row(job)  # the phone exists: the row fails, with no warning beside it
    assert not job.row_warnings.filter(row_number=2).exists()
    assert job.tallies["warnings"] == 3
    assert_reconciles(job)


def test_a_preview_lists_the_warnings_and_the_confirmed_run_lists_them_once(tmp_path: Path) -> None:
    stored = store_file(_file(tmp_path))
    job = create_job(
        stored, file_name="c.csv", mode="create", dry_run=True, options={"invalid_optional": "import_without"}
    )
    job = execute_job(job)
    assert job.row_warnings.count() == 4 and Customer.objects.count() == 0
    confirm(job, None)
    job = execute_job(job)
    assert job.row_warnings.count() == 4 and job.tallies["warnings"] == 4
    assert Customer.objects.count() == 5


def test_the_option_is_validated_and_both_schemas_take_it() -> None:
    assert parse_options({"invalid_optional": "import_without"})["options"] == {"invalid_optional": "import_without"}
    with pytest.raises(Exception, match="invalid_optional"):
        parse_options({"invalid_optional": "sometimes"})
    goods = parse_options({"schema": "goods", "invalid_optional": "import_without"})
    assert goods["options"]["invalid_optional"] == "import_without"


def _upsert_file(tmp_path: Path) -> Path:
    return write_csv(
        tmp_path / "upsert.csv",
        HEADER,
        [
            ["PM1 AMA", "Ama", "Owusu-Ansah", "0241234567", "ama@example.com", "Ashanti", ""],
            ["PM2 YAW", "Yaw", "Boateng", "0201234567", "", "", "Yaw Traders"],
            ["PM9 NEW", "New", "Person", "0571234567", "", "", ""],
        ],
    )


def _existing() -> tuple[Customer, Customer]:
    ama = make_customer(shipping_mark="PM1 AMA", first_name="Ama", last_name="Owusu", phone="+233241234567")
    yaw = make_customer(shipping_mark="PM2 YAW", first_name="Yaw", last_name="Boateng", phone="+233201234567")
    return ama, yaw


def test_an_upsert_preview_records_before_and_after_of_every_changed_field(tmp_path: Path) -> None:
    ama, yaw = _existing()
    job = run_import(_upsert_file(tmp_path), mode="upsert", dry_run=True)
    changes = {change.record_id: change for change in job.changes.all()}
    assert set(changes) == {ama.pk, yaw.pk}
    assert changes[ama.pk].after == {"last_name": "Owusu-Ansah", "email": "ama@example.com", "region": "AH"}
    assert {k: v for k, v in changes[ama.pk].before.items() if k != "updated_at"} == {
        "last_name": "Owusu",
        "email": ama.email,
        "region": ama.region,
    }
    assert changes[yaw.pk].after == {"company_name": "Yaw Traders"}
    assert all(change.after_updated_at is None for change in changes.values())
    ama.refresh_from_db()
    assert ama.last_name == "Owusu"  # a preview writes nothing


def test_a_confirmed_upsert_keeps_its_own_changes_for_the_result_and_undo(tmp_path: Path) -> None:
    ama, _ = _existing()
    stored = store_file(_upsert_file(tmp_path))
    job = execute_job(create_job(stored, file_name="u.csv", mode="upsert", dry_run=True, options={}))
    confirm(job, None)
    job = execute_job(job)
    assert job.changes.count() == 2  # the preview's planned changes gave way to the run's
    assert all(change.after_updated_at is not None for change in job.changes.all())
    assert ImportChange.objects.get(job=job, record_id=ama.pk).after["last_name"] == "Owusu-Ansah"
    undo_job(job, None)
    ama.refresh_from_db()
    assert ama.last_name == "Owusu"


# --- the review's pages -------------------------------------------------------------------------------------------


def test_the_review_offers_to_import_rows_without_their_bad_optional_cells(tmp_path: Path, wizard) -> None:
    with open(_file(tmp_path), "rb") as handle:
        page = wizard.post_and_run("/imports/new/", {"file": handle, "mode": "create"})
    html = page.content.decode()
    assert "<strong>4</strong> rows fail only on that." in html
    job = page.context["job"]
    page = wizard.post_and_run(
        f"/imports/{job.pk}/", {"action": "invalid_optional", "invalid_optional": "import_without"}
    )
    html = page.content.decode()
    job.refresh_from_db()
    assert (job.status, job.options["invalid_optional"], job.created, job.failed) == (
        "previewed",
        "import_without",
        5,
        1,
    )
    assert '<a href="#warnings"><strong>4</strong> rows</a> will go in without some invalid optional cells.' in html
    assert "<td>Email</td><td>ama@</td><td>&#x27;ama@&#x27; is not a valid email address.</td>" in html
    assert "<strong>3</strong> invalid email (Email)" in html
    assert "Import 5 new" in html
    # Confirmed but still queued (its task not run yet): nothing went in, and the page says so (#24 Low).
    wizard.post(f"/imports/{job.pk}/", {"action": "confirm"})
    job.refresh_from_db()
    queued = wizard.get(f"/imports/{job.pk}/").content.decode()
    assert (job.status, job.dry_run, job.tallies["warnings"]) == ("queued", False, 4)
    assert "will go in without some invalid optional cells" in queued and "went in" not in queued
    execute_job(job)
    page = wizard.get(f"/imports/{job.pk}/")
    assert "went in without some invalid optional cells" in page.content.decode()
    assert Customer.objects.count() == 5


def test_switching_back_to_fail_still_offers_the_choice(tmp_path: Path, wizard) -> None:
    with open(_file(tmp_path), "rb") as handle:
        job = wizard.post_and_run("/imports/new/", {"file": handle, "mode": "create"}).context["job"]
    url = f"/imports/{job.pk}/"
    wizard.post_and_run(url, {"action": "invalid_optional", "invalid_optional": "import_without"})
    page = wizard.post_and_run(url, {"action": "invalid_optional", "invalid_optional": "fail"})
    job.refresh_from_db()
    assert (job.options["invalid_optional"], job.created, job.failed, job.row_warnings.count()) == ("fail", 1, 5, 0)
    assert "<strong>4</strong> rows fail only on that." in page.content.decode()


def test_a_bad_choice_is_a_message_not_a_500(tmp_path: Path, wizard) -> None:
    with open(_file(tmp_path), "rb") as handle:
        job = wizard.post_and_run("/imports/new/", {"file": handle, "mode": "create"}).context["job"]
    page = wizard.post_and_run(f"/imports/{job.pk}/", {"action": "invalid_optional", "invalid_optional": "maybe"})
    assert page.status_code == 200 and "is not a valid choice" in page.content.decode()
    job.refresh_from_db()
    assert job.status == "previewed" and "invalid_optional" not in job.options


def test_an_upsert_review_shows_before_and_after_and_the_result_keeps_it(tmp_path: Path, wizard, staff_user) -> None:
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.add(Permission.objects.get(codename="change_customer"))
    ama, _ = _existing()
    with open(_upsert_file(tmp_path), "rb") as handle:
        page = wizard.post_and_run("/imports/new/", {"file": handle, "mode": "upsert"})
    html = page.content.decode()
    assert "What will change" in html
    assert (
        '<td>Last Name</td><td class="before"><del>Owusu</del></td><td class="after"><ins>Owusu-Ansah</ins></td>'
        in html
    )
    assert "<td>Region</td>" in html and "<ins>Ashanti</ins>" in html  # the region's name, not its code
    assert "<ins>Yaw Traders</ins>" in html
    job = page.context["job"]
    page = wizard.post_and_run(f"/imports/{job.pk}/", {"action": "confirm"})
    html = page.content.decode()
    assert "What changed" in html and "<ins>Owusu-Ansah</ins>" in html
    ama.refresh_from_db()
    assert ama.last_name == "Owusu-Ansah"


def test_changes_are_paged(tmp_path: Path, wizard, staff_user) -> None:
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.add(Permission.objects.get(codename="change_customer"))
    rows = []
    for number in range(30):
        phone = f"+2332412345{number:02d}"
        make_customer(shipping_mark=f"PM {number}", first_name="Old", last_name="Name", phone=phone)
        rows.append([f"PM {number}", "New", "Name", phone, "", "", ""])
    path = write_csv(tmp_path / "many.csv", HEADER, rows)
    with open(path, "rb") as handle:
        page = wizard.post_and_run("/imports/new/", {"file": handle, "mode": "upsert"})
    job = page.context["job"]
    assert len(page.context["change_rows"]) == 25 and "(30 records)" in page.content.decode()
    second = wizard.get(f"/imports/{job.pk}/", {"changes_page": 2})
    assert [row["row"] for row in second.context["change_rows"]] == list(range(27, 32))
    assert "changes_page=1" in second.content.decode()


# --- the API ------------------------------------------------------------------------------------------------------


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_lists_an_upserts_changes(tmp_path: Path, admin_user) -> None:
    ama, _ = _existing()
    upsert = run_import(_upsert_file(tmp_path), mode="upsert", dry_run=True, user=admin_user)
    body = _api(admin_user).get(f"/api/v1/imports/{upsert.pk}/changes/").json()
    assert body["count"] == 2
    first = body["results"][0]
    assert first["record"] == ama.pk and first["row_number"] == 2
    assert first["after"] == {"last_name": "Owusu-Ansah", "email": "ama@example.com", "region": "AH"}
    assert first["before"] == {"last_name": "Owusu", "email": ama.email, "region": ama.region}  # no updated_at


def test_the_api_lists_the_rows_imported_without_some_cells(tmp_path: Path, admin_user) -> None:
    warned = run_import(_file(tmp_path), invalid_optional="import_without", user=admin_user)
    client = _api(admin_user)
    body = client.get(f"/api/v1/imports/{warned.pk}/warnings/").json()
    assert body["count"] == 4
    assert body["results"][0]["row_number"] == 2
    assert body["results"][0]["dropped"][0] | {"message": ""} == {
        "column": "Email",
        "field": "email",
        "code": "invalid_email",
        "message": "",
        "value": "ama@",
    }
    links = client.get(f"/api/v1/imports/{warned.pk}/").json()["links"]
    assert links["warnings"].endswith(f"/imports/{warned.pk}/warnings/")
