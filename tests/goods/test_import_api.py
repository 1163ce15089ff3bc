"""Goods sheets through the same API and wizard as customer sheets: who may import them, their options, their SMS,
undo (issue #16; the role rules of the security review hold for the second schema too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from primepre.goods.models import GoodsReceipt, ReceiptStatus
from primepre.goods.resolve import assign_mark
from primepre.imports.models import ImportJob
from primepre.sms.models import SmsKind, SmsMessage

from ..customers.factories import make_customer
from ..imports.helpers import write_csv

pytestmark = pytest.mark.django_db
URL = "/api/v1/imports/"
HEADER = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DESCRIPTION", "CTNS", "CBM", "SUPPLIER&TRACKING NO"]
ROWS = [
    ["PM4 KOFI", "2026-11-28", "shoes", 3, "0.5", "SF1"],
    ["PM4 KOFI", "2026-11-28", "bags", 2, "0.25", "SF2"],  # same customer, same day: one SMS
    ["PM4 KOFI", "2026-11-29", "bags", 1, "0.1", "SF3"],  # another day: another SMS
    ["PM5 AMA", "28/11/2026", "lamps", 1, "0,2", "SF4"],
    ["ZZ9 NOBODY", "28/11/2026", "lamps", 1, "0.2", "SF5"],  # unknown: nobody to tell yet
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SMS_BACKEND = "locmem"


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    make_customer(shipping_mark="PM4 KOFI", phone="+233241110001")
    make_customer(shipping_mark="PM5 AMA", phone="+233241110002")
    return write_csv(tmp_path / "goods.csv", HEADER, ROWS)


def _upload(client: APIClient, path: Path, django_capture_on_commit_callbacks, **options: object):
    with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, {"file": handle, "schema": "goods", **options}, format="multipart")


def test_warehouse_imports_goods_and_not_customers(warehouse_api, sheet, django_capture_on_commit_callbacks):
    response = _upload(warehouse_api, sheet, django_capture_on_commit_callbacks, warehouse="yw", default_method="air")
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get()
    assert (job.schema, job.status, job.created, job.failed) == ("goods", "succeeded", 5, 0)
    assert set(GoodsReceipt.objects.values_list("warehouse", "method")) == {("YW", "air")}
    assert GoodsReceipt.objects.filter(status=ReceiptStatus.UNIDENTIFIED).count() == 1
    assert warehouse_api.get(f"{URL}{job.pk}/").json()["schema"] == "goods"
    with open(sheet, "rb") as handle:
        refused = warehouse_api.post(URL, {"file": handle}, format="multipart")  # a customer sheet (the default)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


def test_staff_may_not_import_goods(staff_api, sheet, django_capture_on_commit_callbacks):
    response = _upload(staff_api, sheet, django_capture_on_commit_callbacks)
    assert response.status_code == 403 and "goods" in response.json()["message"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("options", "field"),
    [({"mode": "upsert"}, "mode"), ({"send_welcome_sms": "1"}, "send_welcome_sms"), ({"warehouse": "XX"}, "warehouse")],
)
def test_options_that_goods_sheets_do_not_take(admin_api, sheet, django_capture_on_commit_callbacks, options, field):
    response = _upload(admin_api, sheet, django_capture_on_commit_callbacks, **options)
    assert response.status_code == 400 and field in response.json()["fields"]
    assert not ImportJob.objects.exists()


def test_receipt_sms_needs_send_sms(warehouse_api, sheet, django_capture_on_commit_callbacks):
    response = _upload(warehouse_api, sheet, django_capture_on_commit_callbacks, send_receipt_sms="1")
    assert response.status_code == 403 and "send_sms" in response.json()["message"]
    assert not SmsMessage.objects.exists()


def test_one_receipt_sms_per_customer_per_day_and_later_on_resolve(
    admin_api, admin_user, sheet, django_capture_on_commit_callbacks
):
    assert _upload(admin_api, sheet, django_capture_on_commit_callbacks, send_receipt_sms="1").status_code == 202
    told = sorted(SmsMessage.objects.filter(kind=SmsKind.RECEIVED).values_list("idempotency_key", flat=True))
    assert len(told) == 3  # Kofi on the 28th and the 29th, Ama on the 28th; nobody for the unknown mark
    bodies = list(SmsMessage.objects.values_list("body", flat=True))
    assert any("we received 5 packages (0.750 CBM) for PM4 KOFI" in body for body in bodies), bodies
    nobody = make_customer(shipping_mark="ZZ9 NOBODY 2", phone="+233241110003")
    with django_capture_on_commit_callbacks(execute=True):
        assign_mark("zz9nobody", nobody, user=admin_user)
    assert SmsMessage.objects.filter(kind=SmsKind.RECEIVED).count() == 4  # told when the mark was resolved


def test_undo_of_a_goods_import_keeps_what_was_resolved_since(
    admin_api, admin_user, sheet, django_capture_on_commit_callbacks
):
    _upload(admin_api, sheet, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    owner = make_customer(shipping_mark="ZZ9 OWNER", phone="+233241110004")
    with django_capture_on_commit_callbacks(execute=True):
        assign_mark("zz9nobody", owner, user=admin_user)
    response = admin_api.post(f"{URL}{job.pk}/undo/")
    assert response.status_code == 200, response.json()
    assert response.json()["undo_result"]["deleted"] == 4
    assert list(GoodsReceipt.objects.values_list("shipping_mark", flat=True)) == ["ZZ9 NOBODY"]


def test_one_package_is_one_package(admin_api, sheet, tmp_path, django_capture_on_commit_callbacks):
    path = write_csv(tmp_path / "one.csv", HEADER, [["PM5 AMA", "2026-11-30", "lamp", 1, "0.2", "SF9"]])
    _upload(admin_api, path, django_capture_on_commit_callbacks, send_receipt_sms="1")
    assert "we received 1 package (0.200 CBM) for PM5 AMA" in SmsMessage.objects.get().body


def test_the_preview_counts_unknown_marks_and_the_sms_a_confirm_sends(
    admin_api, sheet, django_capture_on_commit_callbacks
):
    preview = _upload(admin_api, sheet, django_capture_on_commit_callbacks, preview="1", send_receipt_sms="1").json()
    job = ImportJob.objects.get(pk=preview["id"])
    assert job.status == "previewed"
    assert (job.tallies["unidentified"], job.tallies["receipt_sms"], len(job.tallies["sample"])) == (1, 3, 5)
    assert not SmsMessage.objects.exists() and not GoodsReceipt.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_api.post(f"{URL}{job.pk}/confirm/").status_code == 202
    job.refresh_from_db()
    assert (job.tallies["unidentified"], job.tallies["receipt_sms"]) == (1, 3)
    assert SmsMessage.objects.filter(kind=SmsKind.RECEIVED).count() == 3


def test_goods_rows_as_a_json_body(warehouse_api, django_capture_on_commit_callbacks):
    """#25: `{"rows": [...]}` with the schema and its options beside them, as for customers (`customers` is kept
    as that key's first name)."""
    rows = [dict(zip(HEADER, map(str, row), strict=True)) for row in ROWS]
    body = {"schema": "goods", "warehouse": "YW", "preview": True, "rows": rows}
    with django_capture_on_commit_callbacks(execute=True):
        response = warehouse_api.post(URL, body, format="json")
    assert response.status_code == 202, response.json()
    job = ImportJob.objects.get()
    assert (job.schema, job.file_name, job.status, job.created, job.options["warehouse"]) == (
        "goods", "goods.json", "previewed", 5, "YW"
    )  # fmt: skip
