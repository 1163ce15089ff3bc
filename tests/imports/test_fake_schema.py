"""#25's proof that the engine is generic: a third kind of sheet defined only in `tests/fakeschema` (two columns, an
option of its own, an upsert key) goes through the API, the wizard and the CLI, previewed, confirmed, upserted with its
before → after shown, undone and listed in history, while no engine file names it."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from primepre.imports.models import ImportJob

from ..fakeschema.models import Parcel
from .helpers import write_csv

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"
ENGINE = Path(__file__).resolve().parents[2] / "primepre" / "imports"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clerk(django_user_model):
    """A user with the parcel permissions only: nothing of customers or goods."""
    user = django_user_model.objects.create_user("pat.parcels", password="x" * 12)
    wanted = ["import_parcels", "change_parcel", "delete_parcel", "view_parcel"]
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="fakeschema", codename__in=wanted))
    return user


def _sheet(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    return write_csv(tmp_path / name, ["Parcel Code", "Name"], rows)


def _post(client, path: Path, **options):
    with open(path, "rb") as handle:
        return client.post_and_run(URL, {"file": handle, "schema": "parcels", **options})


def test_api_preview_confirm_upsert_with_before_and_after_then_undo(clerk, wizard_for, tmp_path: Path) -> None:
    client = wizard_for(clerk)
    _post(
        client,
        _sheet(tmp_path, "a.csv", [["p1", "shoes"], ["p2", "bags"], ["p1", "again"]]),
        preview="true",
        shout="true",
    )
    job = ImportJob.objects.get()
    assert (job.schema, job.status, job.created, job.failed, job.options) == (
        "parcels",
        "previewed",
        2,
        1,
        {"shout": True},
    )
    assert not Parcel.objects.exists()
    client.post_and_run(f"{URL}{job.pk}/confirm/", {})
    assert dict(Parcel.objects.values_list("code", "label")) == {"P1": "SHOES", "P2": "BAGS"}
    _post(client, _sheet(tmp_path, "b.csv", [["p1", "Boots"], ["p3", "lamps"]]), mode="upsert")
    upsert = ImportJob.objects.latest("pk")
    assert (upsert.created, upsert.updated) == (1, 1)
    changes = client.get(f"{URL}{upsert.pk}/changes/").json()["results"]
    assert changes == [{"row_number": 2, "record": Parcel.objects.get(code="P1").pk, "before": {"label": "SHOES"},
                        "after": {"label": "Boots"}}]  # fmt: skip
    page = client.get(f"/imports/{upsert.pk}/").content.decode()
    assert "What changed" in page and "<del>SHOES</del>" in page and "<ins>Boots</ins>" in page
    assert "Imported 1 new parcel and updated 1" in page
    client.post_and_run(f"{URL}{upsert.pk}/undo/", {})
    assert dict(Parcel.objects.values_list("code", "label")) == {"P1": "SHOES", "P2": "BAGS"}
    history = client.get("/imports/").content.decode()
    assert "Parcels" in history and f"/imports/{upsert.pk}/" in history


def test_the_wizard_offers_its_option_and_refuses_another_kind_s(clerk, wizard_for, tmp_path: Path) -> None:
    client = wizard_for(clerk)
    upload = client.get("/imports/new/").content.decode()
    assert "Import parcels" in upload and 'name="shout"' in upload and 'name="warehouse"' not in upload
    with open(_sheet(tmp_path, "a.csv", [["p1", "shoes"]]), "rb") as handle:
        page = client.post_and_run("/imports/new/", {"file": handle, "schema": "parcels", "shout": "1"})
    assert "Import 1 new" in page.content.decode()
    refused = _post(client, _sheet(tmp_path, "b.csv", [["p2", "x"]]), warehouse="GZ")
    assert refused.status_code == 400 and "Not an option of parcels sheets" in str(refused.json())


def test_the_cli_imports_it_with_its_flag(tmp_path: Path) -> None:
    out = StringIO()
    call_command("import_sheet", "--schema", "parcels", str(_sheet(tmp_path, "a.csv", [["p9", "tv"]])), "--shout",
                 "--json", stdout=out)  # fmt: skip
    assert Parcel.objects.get().label == "TV" and '"created": 1' in out.getvalue()


def test_no_engine_file_names_it() -> None:
    named = [
        str(path.relative_to(ENGINE))
        for path in ENGINE.rglob("*")
        if path.suffix in {".py", ".html", ".js"} and "parcel" in path.read_text().lower()
    ]
    assert not named
