"""The import engine's behaviour: validation, dedupe, modes, dry run, resume, generated marks, big batches."""

from __future__ import annotations

from pathlib import Path

import pytest

from primepre.customers.models import Customer
from primepre.imports.jobs import create_job
from primepre.imports.models import ImportChange
from primepre.imports.services import execute_job, store_file

from ..customers.factories import make_customer
from .helpers import HEADER, assert_reconciles, errors_by_row, run_import, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def _row(mark: str, first: str, last: str, phone: object, email: str = "", region: str = "", company: str = "") -> list:
    return [mark, first, last, phone, email, region, company]


def test_excel_mangled_phones_from_numeric_cells(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "mangled.xlsx",
        HEADER,
        [
            _row("PM1 A", "Ama", "Owusu", 241234567),  # the leading zero Excel dropped
            _row("PM2 B", "Yaw", "Boateng", 233201234567),  # the plus Excel dropped
            _row("PM3 C", "Kofi", "Mensah", "2.33551234567E+11"),  # scientific notation as text
            _row("PM4 D", "Esi", "Addo", "2.33241E+11"),  # already rounded by Excel: refused
            _row("PM5 E", "Efua", "Asante", "024\u00a0765\u00a04321"),  # non-breaking spaces
        ],
    )
    job = run_import(path)
    assert set(Customer.objects.values_list("phone", flat=True)) == {
        "+233241234567",
        "+233201234567",
        "+233551234567",
        "+233247654321",
    }
    assert errors_by_row(job) == {5: {("phone", "phone_rounded")}}
    assert_reconciles(job)


def test_every_error_of_a_row_is_reported_with_its_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", HEADER, [_row("", "", "X" * 101, "12", "a@", "Mars", "C" * 201)])
    job = run_import(path)
    assert errors_by_row(job) == {
        2: {
            ("shipping_mark", "required"),
            ("first_name", "required"),
            ("last_name", "too_long"),
            ("phone", "invalid_phone"),
            ("email", "invalid_email"),
            ("region", "invalid_region"),
            ("company_name", "too_long"),
        }
    }
    columns = {error["field"]: error["column"] for error in job.row_errors.get().errors}
    assert columns["company_name"] == "Company" and columns["phone"] == "Phone"


def test_duplicates_inside_the_file_point_at_the_first_row(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "dupes.csv",
        HEADER,
        [
            _row("PM1 KOFI", "Kofi", "Mensah", "0241234567", "kofi@example.com"),
            _row("PM2 AMA", "Ama", "Owusu", "+233 24 123 4567"),  # same phone as row 2, other format
            _row("pm1-kofi", "Kofi", "Other", "0201111111"),  # same mark as row 2, other spelling
            _row("PM3 YAW", "Yaw", "Boateng", "0202222222", "KOFI@example.com"),  # same email, other case
            _row("PM4 ESI", "Esi", "Addo", "0203333333"),
        ],
    )
    job = run_import(path)
    assert (job.created, job.failed) == (2, 3)
    errors = {error.row_number: error.errors[0] for error in job.row_errors.all()}
    assert {row: (e["code"], e["column"]) for row, e in errors.items()} == {
        3: ("duplicate_in_file", "Phone"),
        4: ("duplicate_in_file", "Shipping Mark"),
        5: ("duplicate_in_file", "Email"),
    }
    assert all("row 2" in error["message"] for error in errors.values())


def test_create_mode_refuses_existing_customers_and_touches_nothing(tmp_path: Path) -> None:
    kofi = make_customer(phone="+233241234567", shipping_mark="PM1 KOFI", first_name="Kofi", last_name="Mensah")
    before = kofi.updated_at
    path = write_csv(
        tmp_path / "again.csv",
        HEADER,
        [
            _row("PM1 KOFI", "Kofi", "Changed", "0241234567"),
            _row("PM9 NEW", "New", "Person", "0209999999"),
        ],
    )
    job = run_import(path)
    assert (job.created, job.failed) == (1, 1)
    assert errors_by_row(job) == {2: {("phone", "exists"), ("shipping_mark", "exists")}}
    assert "PM1 KOFI (Kofi Mensah)" in job.row_errors.get().errors[0]["message"]
    kofi.refresh_from_db()
    assert (kofi.last_name, kofi.updated_at) == ("Mensah", before)


def test_upsert_updates_only_changed_fields_and_counts_unchanged(tmp_path: Path) -> None:
    kofi = make_customer(
        phone="+233241234567", shipping_mark="PM1 KOFI", first_name="Kofi", last_name="Mensah", email="k@example.com"
    )
    ama = make_customer(phone="+233201111111", shipping_mark="PM2 AMA", first_name="Ama", last_name="Owusu")
    yaw = make_customer(phone="+233202222222", shipping_mark="PM3 YAW", first_name="Yaw", last_name="Boateng")
    path = write_csv(
        tmp_path / "upsert.csv",
        HEADER,
        [
            _row("PM1 KOFI", "Kofi", "Mensah-Jnr", "0241234567", "", "Ashanti"),  # matched by phone; email blank
            _row("pm2 ama", "Ama", "Owusu", "0201111111"),  # same customer, mark spelled differently: unchanged
            _row("PM3 YAW", "Yaw", "Boateng", "0557777777"),  # matched by mark: new phone
            _row("PM4 NEW", "New", "Customer", "0558888888"),  # created
        ],
    )
    job = run_import(path, mode="upsert")
    assert (job.created, job.updated, job.unchanged, job.failed) == (1, 2, 1, 0)
    kofi.refresh_from_db()
    assert (kofi.last_name, kofi.region, kofi.email) == ("Mensah-Jnr", "AH", "k@example.com")  # blank kept
    ama.refresh_from_db()
    assert ama.shipping_mark == "PM2 AMA"  # an equal key is not a change
    yaw.refresh_from_db()
    assert yaw.phone == "+233557777777"
    changes = {change.record_id: change.before for change in ImportChange.objects.filter(job=job)}
    assert changes[kofi.pk]["last_name"] == "Mensah" and changes[kofi.pk]["region"] == ""
    assert set(changes[kofi.pk]) == {"last_name", "region", "updated_at"}
    assert changes[yaw.pk]["phone"] == "+233202222222"
    assert_reconciles(job)


def test_upsert_conflicts_and_emails_of_other_customers(tmp_path: Path) -> None:
    make_customer(phone="+233241234567", shipping_mark="PM1 KOFI", email="kofi@example.com")
    make_customer(phone="+233201111111", shipping_mark="PM2 AMA")
    path = write_csv(
        tmp_path / "conflict.csv",
        HEADER,
        [
            _row("PM2 AMA", "Kofi", "Mensah", "0241234567"),  # phone → Kofi, mark → Ama
            _row("PM9 NEW", "New", "One", "0209999999", "kofi@example.com"),  # new customer with Kofi's email
        ],
    )
    job = run_import(path, mode="upsert")
    assert errors_by_row(job) == {2: {("phone", "conflict")}, 3: {("email", "exists")}}
    assert Customer.objects.count() == 2


def test_dry_run_classifies_everything_and_writes_no_customers(tmp_path: Path) -> None:
    make_customer(phone="+233241234567", shipping_mark="PM1 KOFI", first_name="Kofi", last_name="Mensah")
    rows = [
        _row("PM1 KOFI", "Kofi", "Mensah", "0241234567"),
        _row("PM1 KOFI", "Kofi", "Changed", "0241234567"),
        _row("PM5 NEW", "New", "Person", "0205555555"),
        _row("PM6 BAD", "Bad", "Phone", "123"),
    ]
    path = write_csv(tmp_path / "preview.csv", HEADER, rows)
    preview = run_import(path, mode="upsert", dry_run=True)
    assert preview.status == "previewed"
    counts = (preview.created, preview.updated, preview.unchanged, preview.failed)
    assert counts == (1, 0, 1, 2)
    assert Customer.objects.count() == 1
    assert Customer.objects.get().last_name == "Mensah"
    real = run_import(path, mode="upsert")
    assert (real.created, real.updated, real.unchanged, real.failed) == counts
    assert Customer.objects.count() == 2


def test_a_file_where_every_row_fails(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "allbad.csv", HEADER, [_row("", "", "", "x")] * 5)
    job = run_import(path)
    assert (job.status, job.rows_read, job.failed) == ("succeeded", 5, 5)
    assert_reconciles(job)


@pytest.mark.parametrize(
    "header",
    [
        ["Shipping Mark", "First Name", "Last Name", "Phone Number", "Email Address", "Region", "Company"],
        ["MARK", "firstname", "SURNAME", "Tel", "e-mail", "region", "Company Name"],
        ["Client Mark", "Given Name", "Family Name", "Mobile", "Mail", "Region Name", "Business"],
        ["shipping_mark", "first_name", "last_name", "phone", "email", "region", "company_name"],
        ["Shipping Mark ", " First  Name", "Last-Name", "Contact", "Email", "Region", "Organisation"],
        ["Customer Mark", "Forename", "Lastname", "WhatsApp Number", "E-Mail Address", "State", "Firm"],
    ],
)
def test_header_aliases(tmp_path: Path, header: list[str]) -> None:
    path = write_csv(
        tmp_path / "aliases.csv", header, [_row("PM1 A", "Ama", "Owusu", "0241234567", "a@b.co", "Volta", "X")]
    )
    job = run_import(path)
    assert (job.status, job.created, job.unknown_columns) == ("succeeded", 1, [])
    customer = Customer.objects.get()
    assert (customer.email, customer.region, customer.company_name) == ("a@b.co", "TV", "X")


def test_a_single_name_column_is_split(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "fullname.csv",
        ["Mark", "Full Name", "Mobile", "Notes"],
        [["PM1", "Kofi Mensah Jnr", "0241234567", "VIP"], ["PM2", "Madonna", "0201234567", ""]],
    )
    job = run_import(path)
    assert job.unknown_columns == ["Notes"]
    assert Customer.objects.values_list("first_name", "last_name").get() == ("Kofi", "Mensah Jnr")
    assert errors_by_row(job) == {3: {("last_name", "required")}}
    assert job.row_errors.get().errors[0]["column"] == "Full Name"


def test_missing_required_columns_is_one_file_error_listing_what_was_found(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "nophone.csv", ["Mark", "First Name", "Last Name", "Town"], [["PM1", "A", "B", "Accra"]]
    )
    job = run_import(path)
    assert (job.status, job.error_code) == ("needs_mapping", "missing_columns")
    assert "Phone" in job.error_message and "Mark, First Name, Last Name, Town" in job.error_message


def test_missing_marks_are_an_error_or_generated(tmp_path: Path) -> None:
    make_customer(shipping_mark="PM KOFI", phone="+233209999999")
    rows = [
        _row("", "Kofi", "Mensah", "0241234567"),
        _row("", "Kofi", "Owusu", "0241234568"),
        _row("", "Ama", "B", "0241234569"),
    ]
    path = write_csv(tmp_path / "nomarks.csv", HEADER, rows)
    refused = run_import(path)
    assert errors_by_row(refused) == {row: {("shipping_mark", "required")} for row in (2, 3, 4)}
    generated = run_import(path, missing_mark="generate")
    assert generated.created == 3
    marks = set(Customer.objects.exclude(phone="+233209999999").values_list("shipping_mark", flat=True))
    assert marks == {"PM KOFI 2", "PM KOFI 3", "PM AMA"}


def test_batches_larger_than_sqlites_parameter_limit(tmp_path: Path) -> None:
    rows = [_row(f"PM{n}", "Ama", f"Owusu{n}", f"020{n:07d}") for n in range(1, 5001)]
    path = write_csv(tmp_path / "big.csv", HEADER, rows)
    job = run_import(path, batch_size=5000)
    assert (job.created, job.failed) == (5000, 0)


def test_the_dedupe_index_spilled_to_disk_gives_the_same_answers(tmp_path: Path, settings) -> None:
    settings.IMPORT_DEDUPE_MEMORY_ROWS = 10
    rows = [_row(f"PM{n}", "Ama", "Owusu", f"020{n:07d}") for n in range(1, 60)]
    rows += [_row("PM1", "Dup", "Mark", "0559999999"), _row("PM999", "Dup", "Phone", "0200000005")]
    path = write_csv(tmp_path / "spill.csv", HEADER, rows)
    job = run_import(path, batch_size=7)
    assert (job.created, job.failed) == (59, 2)
    assert errors_by_row(job) == {61: {("shipping_mark", "duplicate_in_file")}, 62: {("phone", "duplicate_in_file")}}


def test_resume_after_a_crash_continues_after_the_checkpoint(tmp_path: Path) -> None:
    rows = [_row(f"PM{n}", "Ama", f"Owusu{n}", f"020{n:07d}") for n in range(1, 21)]
    rows.append(_row("PM1", "Again", "Dup", "0551111111"))  # duplicate of a row committed before the crash
    path = write_csv(tmp_path / "resume.csv", HEADER, rows)
    job = create_job(store_file(path), file_name="resume.csv")

    class Crash(Exception):
        pass

    def crash_after_two_batches(progress) -> None:
        if progress.rows_read >= 10:
            raise Crash()

    with pytest.raises(Crash):
        execute_job(job, batch_size=5, on_progress=crash_after_two_batches)
    job.refresh_from_db()
    assert (job.rows_read, job.created, job.checkpoint_row) == (10, 10, 11)
    execute_job(job, batch_size=5)
    job.refresh_from_db()
    assert (job.status, job.rows_read, job.created, job.failed) == ("succeeded", 21, 20, 1)
    assert errors_by_row(job) == {22: {("shipping_mark", "duplicate_in_file")}}
    assert Customer.objects.count() == 20
    assert_reconciles(job)


def test_formula_like_cells_and_report_columns_survive_a_round_trip(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "formula.csv", HEADER, [_row("=HYPERLINK(1)", "Ama", "", "0241234567")])
    job = run_import(path)
    assert job.failed == 1
    assert job.row_errors.get().values[0] == "=HYPERLINK(1)"


def test_imported_timestamps_are_stored_like_the_orms(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "one.csv", HEADER, [_row("PM1", "Ama", "Owusu", "0241234567")])
    job = run_import(path)
    imported = Customer.objects.get()
    make_customer(first_name="Later")
    assert imported.created_at == imported.updated_at  # untouched since the import: undo may delete it
    assert imported.import_job_id == job.pk
    assert Customer.objects.filter(created_at__lte=imported.created_at).get() == imported
    assert list(Customer.objects.order_by("created_at").values_list("first_name", flat=True)) == ["Ama", "Later"]


def test_backslashes_and_odd_text_survive_the_bulk_write(tmp_path: Path) -> None:
    rows = [
        _row("PM\\N", "A\\N", "B\\\\C", "0241234567", "", "", "C:\\temp"),
        _row("PM2", "Ama", "Owusu", "0241234568", "", "", "\\N"),
        _row("PM3", "Ṭhé", "Ñame", "0241234569", "x@y.co", "", "Tab\there"),
    ]
    path = write_csv(tmp_path / "odd.csv", HEADER, rows)
    job = run_import(path)
    assert (job.created, job.failed) == (3, 0)
    assert set(Customer.objects.values_list("shipping_mark", "first_name", "last_name", "email", "company_name")) == {
        ("PM\\N", "A\\N", "B\\\\C", None, "C:\\temp"),
        ("PM2", "Ama", "Owusu", None, "\\N"),
        ("PM3", "Ṭhé", "Ñame", "x@y.co", "Tab here"),
    }


def test_every_alias_maps_to_its_field() -> None:
    from primepre.imports.columns import match_header
    from primepre.imports.schema import get_schema

    schema = get_schema("customers")
    for spec in schema.fields:
        for alias in spec.aliases:
            for spelling in (alias, alias.upper(), alias.title().replace(" ", "_"), f" {alias}. "):
                fields, unknown = match_header((spelling,), schema.aliases)
                assert (fields, unknown) == ({spec.name: 0}, []), spelling


def test_the_connection_is_given_back_as_it_was(tmp_path: Path) -> None:
    """An import tunes its connection for bulk writes (async commits on PostgreSQL, a bigger page cache and rarer
    checkpoints on SQLite); the worker's connection serves other tasks afterwards, with its own settings."""
    from django.db import connection

    setting = "SHOW synchronous_commit" if connection.vendor == "postgresql" else "PRAGMA cache_size"
    with connection.cursor() as cursor:
        cursor.execute(setting)
        before = cursor.fetchone()[0]
    existing = make_customer(phone="+233201234567", shipping_mark="PM1")
    rows = [
        _row("PM1", "Ama", "Owusu", "0201234567"),
        *(_row(f"PM{n}", "Kofi", "Mensah", f"024{n:07d}") for n in range(2, 9)),
    ]
    job = run_import(write_csv(tmp_path / "mixed.csv", HEADER, rows), batch_size=3)
    assert (job.created, job.failed) == (7, 1)  # the first batch's optimistic insert was refused, then matched
    assert errors_by_row(job) == {2: {("phone", "exists"), ("shipping_mark", "exists")}}
    assert Customer.objects.get(pk=existing.pk).first_name == existing.first_name
    with connection.cursor() as cursor:
        cursor.execute(setting)
        assert cursor.fetchone()[0] == before


def test_nul_and_invisible_characters_neither_crash_nor_reach_the_database(tmp_path: Path) -> None:
    """A broken export's NUL bytes: PostgreSQL refuses them in text and in jsonb, so they must not get that far."""
    import json

    path = tmp_path / "nul.json"
    customers = [
        {"first_name": "Ko\u0000fi", "last_name": "Mensah\u200b", "phone": "0241234567", "shipping_mark": "PM1"},
        {"first_name": "Ama", "last_name": "O\u0000", "phone": "not a phone", "shipping_mark": "PM2"},
    ]
    path.write_text(json.dumps(customers))
    job = run_import(path)
    assert_reconciles(job)
    assert (job.created, job.failed) == (1, 1)
    assert Customer.objects.get().full_name == "Kofi Mensah"
    stored = job.row_errors.get()
    assert stored.values[1] == "O\ufffd" and stored.errors[0]["code"] == "invalid_phone"
