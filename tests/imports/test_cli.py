from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from primepre.customers.models import Customer
from primepre.imports.models import ImportJob

from .helpers import FILES, write_csv

pytestmark = pytest.mark.django_db


def test_cli_summary_and_error_file(tmp_path: Path) -> None:
    out = StringIO()
    call_command("import_customers", str(FILES / "basic.xlsx"), "--errors", str(tmp_path / "e.xlsx"), stdout=out)
    text = out.getvalue()
    lines = {line.split("  ", 1)[0]: line.split()[-1] for line in text.splitlines() if line.strip()}
    assert (lines["rows read"], lines["created"], lines["failed"]) == ("6", "4", "2")
    assert (tmp_path / "e.xlsx").exists()
    assert Customer.objects.count() == 4


def test_cli_json_dry_run_and_modes() -> None:
    out = StringIO()
    call_command("import_customers", str(FILES / "basic_utf8.csv"), "--dry-run", "--json", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary | {"seconds": 0, "rows_per_second": 0, "wall_seconds": 0, "job": 0} == {
        "job": 0,
        "status": "previewed",
        "read": 6,
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "failed": 2,
        "seconds": 0,
        "rows_per_second": 0,
        "wall_seconds": 0,
    }
    assert not Customer.objects.exists()
    call_command("import_customers", str(FILES / "basic_utf8.csv"), stdout=StringIO())
    out = StringIO()
    call_command("import_customers", str(FILES / "basic.xlsx"), "--mode", "upsert", "--json", stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1])["unchanged"] == 4


@pytest.mark.parametrize(
    ("name", "message"),
    [("truncated.xlsx", "damaged"), ("empty.xlsx", "no rows"), ("does-not-exist.csv", "No such file")],
)
def test_cli_unusable_file_exits_non_zero_with_a_message(name: str, message: str) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("import_customers", str(FILES / name), stdout=StringIO())
    assert message in str(caught.value)


def test_cli_unknown_sheet() -> None:
    with pytest.raises(CommandError, match="no sheet named 'Nope'"):
        call_command("import_customers", str(FILES / "multi_sheet.xlsx"), "--sheet", "Nope", stdout=StringIO())


def test_cli_with_a_user_is_held_to_that_user_s_permissions(staff_user, admin_user) -> None:
    """`--user` used to only label the job: a Staff user's name ran an upsert their role may not run."""
    args = ["import_customers", str(FILES / "basic.xlsx"), "--mode", "upsert"]
    with pytest.raises(CommandError, match=r"change_customer.*permission_denied"):
        call_command(*args, "--user", staff_user.username, stdout=StringIO())
    assert not ImportJob.objects.exists()
    call_command(*args, "--user", admin_user.username, stdout=StringIO())
    call_command(*args, stdout=StringIO())  # no --user: the operator, no role applies
    assert list(ImportJob.objects.values_list("created_by__username", flat=True)) == [None, admin_user.username]


def test_cli_options_are_validated_like_the_api_s() -> None:
    with pytest.raises(CommandError, match="--sheet: Ensure this field has no more than 255 characters"):
        call_command("import_customers", str(FILES / "basic.xlsx"), "--sheet", "S" * 256, stdout=StringIO())
    assert not ImportJob.objects.exists()


def test_cli_generate_marks_is_the_missing_mark_option() -> None:
    call_command("import_customers", str(FILES / "basic.xlsx"), "--generate-marks", "--dry-run", stdout=StringIO())
    assert ImportJob.objects.get().options == {"missing_mark": "generate"}


def test_import_sheet_takes_any_schema_and_its_own_flags(tmp_path: Path, settings) -> None:
    """#25: one command for every kind of sheet, each schema's options as flags made from their declarations."""
    settings.MEDIA_ROOT = tmp_path / "media"
    header = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DESCRIPTION", "CTNS", "SPECIFICATIONS", "CBM", "TRACKING"]
    rows = [["PM4 KOFI", "2026-11-28", "bags", 1, "50*40*30", "0.5", "T1"]]  # 0.060 by its dimensions
    path = write_csv(tmp_path / "goods.csv", header, rows)
    out = StringIO()
    call_command(
        "import_sheet", "--schema", "goods", str(path), "--warehouse", "yw", "--invalid-optional", "import_without",
        "--json", stdout=out,
    )  # fmt: skip
    job = ImportJob.objects.get()
    assert (job.schema, job.created, job.options["warehouse"], job.tallies["warnings"]) == ("goods", 1, "YW", 1)
    with pytest.raises(CommandError, match="--warehouse: Not an option of customers sheets"):
        call_command("import_sheet", "--schema", "customers", str(path), "--warehouse", "YW")
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import_sheet", "--schema", "goods", str(path), "--default-method", "boat")
