from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from primepre.customers.models import Customer

from .helpers import FILES

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
