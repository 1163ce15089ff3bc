"""The README's role table as a test: every routed URL × every kind of caller gets exactly the status it lists.

Callers: anonymous; a signed-in user with no role; the `Staff` user who owns the import jobs; an `Admin`; another
`Staff` user (ownership); a `Warehouse` user. A URL the project routes without a row here fails
`test_every_route_has_a_row`, so a new endpoint cannot arrive without its permissions being decided.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from primepre.accounts.roles import ADMIN_GROUP, STAFF_GROUP, WAREHOUSE_GROUP
from primepre.accounts.tokens import issue_token
from primepre.customers.models import Customer
from primepre.goods.models import GoodsReceipt
from primepre.imports.models import ImportJob
from primepre.shipments.lifecycle import create_shipment
from primepre.shipments.models import Shipment
from primepre.sms.models import SmsMessage, SmsStatus
from primepre.sms.views import checked_text

from .customers.factories import make_customer
from .goods.factories import make_receipt
from .imports.helpers import HEADER, run_import, write_csv

CALLERS = ("anonymous", "no_role", "staff_owner", "admin", "other_staff", "warehouse")
CSV_ROWS = [
    ["PM1 AMA", "Ama", "Owusu", "0241234567", "", "", ""],
    ["PM2 YAW", "Yaw", "Boateng", "0241234568", "", "", ""],
]


@dataclass
class World:
    customer: Customer
    preview: ImportJob  # a previewed job of the Staff owner
    done: ImportJob  # a finished job of the Staff owner
    failed_sms: SmsMessage
    upload: Path
    receipt: GoodsReceipt  # matched to a customer of its own
    unknown: GoodsReceipt  # unidentified: its mark is in the queue
    shipment: Shipment  # an open, empty 40HC from Guangzhou


@dataclass(frozen=True)
class Row:
    name: str  # the URL's name, as routed
    method: str
    path: Callable[[World], str]
    expect: tuple[int, int, int, int, int, int]  # in the order of CALLERS
    data: Callable[[World], Any] = field(default=lambda world: None)
    json: bool = False
    token: bool = False  # signed-in callers use an API token instead of the session


def _api(path: str) -> Callable[[World], str]:
    return lambda world: path.format(w=world)


def _upload(world: World) -> dict[str, Any]:
    upload = io.BytesIO(world.upload.read_bytes())
    upload.name = "customers.csv"
    return {"file": upload}


OK, CREATED, ACCEPTED, NO_CONTENT, FOUND = 200, 201, 202, 204, 302
UNAUTH, FORBIDDEN, NOT_ALLOWED = 401, 403, 405
# Warehouse (last) views customers, works on goods and imports goods sheets (so it reads the import history too).
CUSTOMER_READ = (UNAUTH, FORBIDDEN, OK, OK, OK, OK)
IMPORT_READ = (UNAUTH, FORBIDDEN, OK, OK, OK, OK)
API_ADMIN_ONLY = (UNAUTH, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN)
CUSTOMER_PAGE = (FOUND, FORBIDDEN, OK, OK, OK, OK)
IMPORT_PAGE = (FOUND, FORBIDDEN, OK, OK, OK, OK)
PAGE_ADMIN_ONLY = (FOUND, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN)
GOODS_API = (UNAUTH, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, OK)
GOODS_PAGE = (FOUND, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, OK)
SHIPMENT_PAGE = GOODS_PAGE  # Warehouse and Admin hold the shipment permissions; Staff none
SHIPMENT_ACTION = (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FOUND)  # done (or refused in a message) → 302
CUSTOMER = {"first_name": "Esi", "last_name": "Owusu", "phone": "0209999999", "shipping_mark": "PM9 ESI"}

ROWS: list[Row] = [
    # Open to everyone by design: health checks, the sign-in page, the API's index, Twilio's signed callback.
    Row("healthz", "get", _api("/healthz"), (OK,) * 6),
    Row("readyz", "get", _api("/readyz"), (OK,) * 6),
    Row("web:login", "get", _api("/login/"), (OK,) * 6),
    Row("web:logout", "post", _api("/logout/"), (FOUND,) * 6),
    Row("api-root", "get", _api("/api/v1/"), (OK,) * 6),
    Row("sms-twilio-status", "post", _api("/api/v1/sms/twilio/status/"), (FORBIDDEN,) * 6),  # unsigned
    Row("api-token", "post", _api("/api/v1/auth/token/"), (400,) * 6, lambda w: {"username": "x", "password": "y"}),
    Row("api-token", "delete", _api("/api/v1/auth/token/"), (401, 204, 204, 204, 204, 204), token=True),
    Row("api-token-revoke", "post", _api("/api/v1/auth/token/revoke/"), (401, 204, 204, 204, 204, 204), token=True),
    Row("api-token-revoke-all", "post", _api("/api/v1/auth/token/revoke-all/"), (401, OK, OK, OK, OK, OK), token=True),
    Row("api-schema", "get", _api("/api/schema/"), (UNAUTH, FORBIDDEN, OK, OK, OK, OK)),
    Row("api-docs", "get", _api("/api/docs/"), (FOUND, FORBIDDEN, OK, OK, OK, OK)),
    # Customers API: reads need view_customer; writes need add/change/delete (Admin).
    Row("customer-list", "get", _api("/api/v1/customers/"), CUSTOMER_READ),
    Row("customer-list", "post", _api("/api/v1/customers/"), (401, 403, 403, 201, 403, 403), lambda w: CUSTOMER, True),
    Row("customer-detail", "get", _api("/api/v1/customers/{w.customer.pk}/"), CUSTOMER_READ),
    Row(
        "customer-detail",
        "patch",
        _api("/api/v1/customers/{w.customer.pk}/"),
        API_ADMIN_ONLY,
        lambda w: {"company_name": "Changed"},
        True,
    ),
    Row("customer-detail", "put", _api("/api/v1/customers/{w.customer.pk}/"), API_ADMIN_ONLY, lambda w: CUSTOMER, True),
    Row("customer-detail", "delete", _api("/api/v1/customers/{w.customer.pk}/"), (401, 403, 403, 204, 403, 403)),
    # Imports API: everyone who may import reads every job; acting on one is for its owner or manage_all_imports.
    Row("import-list", "get", _api("/api/v1/imports/"), IMPORT_READ),
    Row("import-list", "post", _api("/api/v1/imports/"), (401, 403, 202, 202, 202, 403), _upload),
    Row("import-template", "get", _api("/api/v1/imports/template.xlsx"), IMPORT_READ),
    Row("import-detail", "get", _api("/api/v1/imports/{w.done.pk}/"), IMPORT_READ),
    Row("import-errors", "get", _api("/api/v1/imports/{w.done.pk}/errors/"), IMPORT_READ),
    Row("import-warnings", "get", _api("/api/v1/imports/{w.done.pk}/warnings/"), IMPORT_READ),
    Row("import-changes", "get", _api("/api/v1/imports/{w.done.pk}/changes/"), IMPORT_READ),
    Row("import-errors-xlsx", "get", _api("/api/v1/imports/{w.done.pk}/errors.xlsx"), IMPORT_READ),
    Row("import-errors-csv", "get", _api("/api/v1/imports/{w.done.pk}/errors.csv"), IMPORT_READ),
    Row("import-events", "get", _api("/api/v1/imports/{w.done.pk}/events/"), IMPORT_READ),
    Row("import-confirm", "post", _api("/api/v1/imports/{w.preview.pk}/confirm/"), (401, 403, 202, 202, 403, 403)),
    Row("import-cancel", "post", _api("/api/v1/imports/{w.preview.pk}/cancel/"), (401, 403, 200, 200, 403, 403)),
    Row("import-undo", "post", _api("/api/v1/imports/{w.done.pk}/undo/"), (401, 403, 403, 200, 403, 403)),
    Row(  # a new preview with other columns or another sheet: the owner's or manage_all_imports
        "import-remap",
        "post",
        _api("/api/v1/imports/{w.preview.pk}/remap/"),
        (401, 403, 202, 202, 403, 403),
        lambda w: {"columns": {"phone": "Phone", "email": None}},
        True,
    ),
    # SMS API: send_sms (Admin).
    Row("sms-list", "get", _api("/api/v1/sms/"), API_ADMIN_ONLY),
    Row("sms-status", "get", _api("/api/v1/sms/status/"), API_ADMIN_ONLY),
    Row(
        "sms-send",
        "post",
        _api("/api/v1/sms/send/"),
        (401, 403, 403, 202, 403, 403),
        lambda w: {"body": "Hello", "customer_ids": [w.customer.pk], "confirm_recipients": 1},
        True,
    ),
    Row("sms-retry", "post", _api("/api/v1/sms/{w.failed_sms.pk}/retry/"), API_ADMIN_ONLY),
    # Pages: anonymous callers are sent to the sign-in page.
    Row("web:dashboard", "get", _api("/"), (FOUND, OK, OK, OK, OK, OK)),
    Row("customers:list", "get", _api("/customers/"), CUSTOMER_PAGE),
    Row("customers:detail", "get", _api("/customers/{w.customer.pk}/"), CUSTOMER_PAGE),
    Row(  # a read view: changes go through the edit page
        "customers:detail",
        "post",
        _api("/customers/{w.customer.pk}/"),
        (FOUND, FORBIDDEN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED),
        lambda w: {**CUSTOMER, "customer_type": "individual"},
    ),
    Row("customers:edit", "get", _api("/customers/{w.customer.pk}/edit/"), PAGE_ADMIN_ONLY),
    Row(
        "customers:edit",
        "post",
        _api("/customers/{w.customer.pk}/edit/"),
        (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {**CUSTOMER, "customer_type": "individual"},
    ),
    Row("customers:export-csv", "get", _api("/customers/export.csv"), PAGE_ADMIN_ONLY),
    Row("customers:export-xlsx", "get", _api("/customers/export.xlsx"), PAGE_ADMIN_ONLY),
    Row("imports:history", "get", _api("/imports/"), IMPORT_PAGE),
    Row("imports:upload", "get", _api("/imports/new/"), IMPORT_PAGE),
    Row("imports:upload", "post", _api("/imports/new/"), (FOUND, FORBIDDEN, FOUND, FOUND, FOUND, FORBIDDEN), _upload),
    Row("imports:detail", "get", _api("/imports/{w.done.pk}/"), IMPORT_PAGE),
    Row(
        "imports:detail",
        "post",
        _api("/imports/{w.preview.pk}/"),
        (FOUND, FORBIDDEN, FOUND, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"action": "confirm"},
    ),
    Row(
        "imports:detail",
        "post",
        _api("/imports/{w.preview.pk}/"),
        (FOUND, FORBIDDEN, FOUND, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"action": "remap", "field_phone": "Phone"},
    ),
    Row(  # preview again as an update: the owner's or manage_all_imports, and it changes customers (change_customer)
        "imports:detail",
        "post",
        _api("/imports/{w.preview.pk}/"),
        (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"action": "as_update"},
    ),
    Row(  # preview again importing rows without their invalid optional cells: the owner's or manage_all_imports
        "imports:detail",
        "post",
        _api("/imports/{w.preview.pk}/"),
        (FOUND, FORBIDDEN, FOUND, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"action": "invalid_optional", "invalid_optional": "import_without"},
    ),
    Row(
        "imports:detail",
        "post",
        _api("/imports/{w.preview.pk}/"),
        (FOUND, FORBIDDEN, FOUND, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"action": "cancel"},
    ),
    Row(
        "imports:detail",
        "post",
        _api("/imports/{w.done.pk}/"),
        (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"action": "undo"},
    ),
    Row("sms:overview", "get", _api("/sms/"), PAGE_ADMIN_ONLY),
    Row("sms:outbox", "get", _api("/sms/outbox/"), PAGE_ADMIN_ONLY),
    Row("sms:send", "get", _api("/sms/send/"), PAGE_ADMIN_ONLY),
    Row(
        "sms:send",
        "post",
        lambda w: f"/sms/send/?{urlencode({'search': w.customer.phone})}",
        (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"body": "Hello", "confirm_recipients": "1", "checked_text": checked_text("Hello")},
    ),
    Row(  # a test to the caller's own phone: send_sms; the Admin here has no phone, so the page says how to set one
        "sms:send",
        "post",
        lambda w: f"/sms/send/?{urlencode({'search': w.customer.phone})}",
        (FOUND, FORBIDDEN, FORBIDDEN, OK, FORBIDDEN, FORBIDDEN),
        lambda w: {"body": "Hello", "test_send": "1", "test_nonce": "0123456789abcdef"},
    ),
    # Each signed-in user's own account page (their phone for test texts): everyone signed in, nobody else's.
    Row("web:account", "get", _api("/account/"), (FOUND, OK, OK, OK, OK, OK)),
    Row("web:account", "post", _api("/account/"), (FOUND,) * 6, lambda w: {"phone": "024 123 4567"}),
    Row("web:favicon", "get", _api("/favicon.ico"), (FOUND,) * 6),  # to the static icon, for anyone
    # Goods received: Warehouse and Admin (view, change, import goods, resolve marks); Staff has no goods role.
    Row("goods-list", "get", _api("/api/v1/goods/"), GOODS_API),
    Row("goods-list", "post", _api("/api/v1/goods/"), (401, 405, 405, 405, 405, 405), lambda w: {}, True),
    Row("goods-detail", "get", _api("/api/v1/goods/{w.receipt.pk}/"), GOODS_API),
    Row(
        "goods-detail",
        "patch",
        _api("/api/v1/goods/{w.receipt.pk}/"),
        GOODS_API,
        lambda w: {"notes": "checked"},
        True,
    ),
    Row("goods-detail", "delete", _api("/api/v1/goods/{w.receipt.pk}/"), (401, 405, 405, 405, 405, 405)),
    Row("goods-unknown-mark-list", "get", _api("/api/v1/goods/unknown-marks/"), GOODS_API),
    Row(
        "goods-unknown-mark-resolve",
        "post",
        _api("/api/v1/goods/unknown-marks/{w.unknown.mark_key}/resolve/"),
        GOODS_API,
        lambda w: {"action": "assign", "customer": w.customer.pk},
        True,
    ),
    Row(
        "goods-unknown-mark-resolve",
        "post",
        _api("/api/v1/goods/unknown-marks/{w.unknown.mark_key}/resolve/"),
        (401, 403, 403, 200, 403, 403),  # creating a customer needs add_customer, which Warehouse lacks
        lambda w: {"action": "create", "first_name": "Kofi", "last_name": "Boat", "phone": "0207777777"},
        True,
    ),
    Row("goods:list", "get", _api("/goods/"), GOODS_PAGE),
    Row("goods:export-csv", "get", _api("/goods/export.csv"), GOODS_PAGE),
    Row("goods:receipt", "get", _api("/goods/{w.receipt.pk}/"), GOODS_PAGE),
    Row(
        "goods:receipt",
        "post",
        _api("/goods/{w.receipt.pk}/"),
        (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FOUND),
        lambda w: {"action": "hold", "reason": "the role matrix"},
    ),
    Row("goods:unknown-marks", "get", _api("/goods/unknown-marks/"), GOODS_PAGE),
    Row("goods:unknown-mark", "get", _api("/goods/unknown-marks/{w.unknown.mark_key}/"), GOODS_PAGE),
    Row(
        "goods:resolve",
        "post",
        _api("/goods/unknown-marks/{w.unknown.mark_key}/resolve/"),
        (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FOUND),
        lambda w: {"action": "assign", "customer": w.customer.pk, "confirmed": "1"},
    ),
    # Shipment pages: Warehouse and Admin see, create, load and unload shipments and cancel an empty one; closing and
    # reopening (and capacity overrides) need close_shipment (Admin).
    Row("shipments:list", "get", _api("/shipments/"), SHIPMENT_PAGE),
    Row(
        "shipments:create",
        "post",
        _api("/shipments/new/"),
        SHIPMENT_ACTION,
        lambda w: {"mode": "sea", "equipment": "40HC", "origin_warehouse": "GZ"},
    ),
    Row("shipments:detail", "get", _api("/shipments/{w.shipment.pk}/"), SHIPMENT_PAGE),
    Row(
        "shipments:detail", "post", _api("/shipments/{w.shipment.pk}/"), SHIPMENT_ACTION, lambda w: {"action": "cancel"}
    ),
    Row(
        "shipments:detail",
        "post",
        _api("/shipments/{w.shipment.pk}/"),
        (FOUND, FORBIDDEN, FORBIDDEN, FOUND, FORBIDDEN, FORBIDDEN),
        lambda w: {"action": "close", "container_number": "CSQU3054383"},
    ),
    Row("shipments:waiting", "get", _api("/shipments/waiting/"), SHIPMENT_PAGE),
    Row(
        "shipments:load",
        "post",
        _api("/shipments/waiting/load/"),
        SHIPMENT_ACTION,
        lambda w: {"shipment": w.shipment.pk, "action": "selected", "receipt": w.receipt.pk},
    ),
    # Shipments API: reads, creating, loading and cancelling an empty one are Warehouse's and Admin's; closing and
    # reopening are close_shipment's (Admin). World: an open, empty 40HC and a matched receipt of its own.
    Row("shipment-list", "get", _api("/api/v1/shipments/"), GOODS_API),
    Row(
        "shipment-list",
        "post",
        _api("/api/v1/shipments/"),
        (401, 403, 403, 201, 403, 201),
        lambda w: {"equipment": "40HC", "origin_warehouse": "GZ"},
        True,
    ),
    Row("shipment-detail", "get", _api("/api/v1/shipments/{w.shipment.pk}/"), GOODS_API),
    Row(
        "shipment-detail",
        "patch",
        _api("/api/v1/shipments/{w.shipment.pk}/"),
        GOODS_API,
        lambda w: {"notes": "x"},
        True,
    ),
    Row(
        "shipment-lines",
        "post",
        _api("/api/v1/shipments/{w.shipment.pk}/lines/"),
        (401, 403, 403, 200, 403, 200),
        lambda w: {"receipts": [{"receipt": w.receipt.pk, "cartons": 1}]},
        True,
    ),
    Row(
        "shipment-line",
        "delete",
        _api("/api/v1/shipments/{w.shipment.pk}/lines/999999/"),
        (401, 403, 403, 404, 403, 404),
    ),
    Row(  # Admin may close: refused as empty (409); Warehouse may not (403)
        "shipment-close",
        "post",
        _api("/api/v1/shipments/{w.shipment.pk}/close/"),
        (401, 403, 403, 409, 403, 403),
        lambda w: {"container_number": "CSQU3054383"},
        True,
    ),
    Row(
        "shipment-reopen",
        "post",
        _api("/api/v1/shipments/{w.shipment.pk}/reopen/"),
        (401, 403, 403, 409, 403, 403),
        lambda w: {"reason": "a late carton"},
        True,
    ),
    Row(
        "shipment-cancel",
        "post",
        _api("/api/v1/shipments/{w.shipment.pk}/cancel/"),
        (401, 403, 403, 200, 403, 200),
        lambda w: {"reason": "never filled"},
        True,
    ),
    Row("shipment-loading-list-xlsx", "get", _api("/api/v1/shipments/{w.shipment.pk}/loading-list.xlsx"), GOODS_API),
    Row("shipment-loading-list-csv", "get", _api("/api/v1/shipments/{w.shipment.pk}/loading-list.csv"), GOODS_API),
    Row("consignment-list", "get", _api("/api/v1/consignments/"), GOODS_API),
    Row("consignment-detail", "get", _api("/api/v1/consignments/999999/"), (401, 403, 403, 404, 403, 404)),
    # Django admin: staff accounts (is_staff) sign in; each model page checks the model permission.
    Row("admin:index", "get", _api("/admin/"), (FOUND, FOUND, OK, OK, OK, OK)),
    Row(
        "admin:customers_customer_changelist", "get", _api("/admin/customers/customer/"), (FOUND, FOUND, OK, OK, OK, OK)
    ),
    Row(
        "admin:customers_customer_add", "get", _api("/admin/customers/customer/add/"), (FOUND, FOUND, 403, OK, 403, 403)
    ),
]


def _routed_names() -> set[str]:
    """Every named route outside the Django admin (whose model pages are sampled above)."""
    names: set[str] = set()

    def walk(resolver: URLResolver, namespace: str | None) -> None:
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace or namespace
                if inner != "admin":
                    walk(pattern, inner)
            elif isinstance(pattern, URLPattern):
                names.add(f"{namespace}:{pattern.name}" if namespace else str(pattern.name))

    walk(get_resolver(), None)
    return names


def test_every_row_names_every_caller() -> None:
    assert [row for row in ROWS if len(row.expect) != len(CALLERS)] == []


def test_every_route_has_a_row() -> None:
    missing = _routed_names() - {row.name for row in ROWS}
    assert not missing, f"routes with no row in the role matrix: {sorted(missing)}"


def _user(django_user_model: Any, name: str, group: str | None, is_staff: bool = True) -> Any:
    user = django_user_model.objects.create_user(username=name, password=os.urandom(8).hex(), is_staff=is_staff)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def world(db, django_user_model, tmp_path, settings, django_capture_on_commit_callbacks) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    users = {
        "anonymous": None,
        "no_role": _user(django_user_model, "norole", None, is_staff=False),
        "staff_owner": _user(django_user_model, "owner", STAFF_GROUP),
        "admin": _user(django_user_model, "boss", ADMIN_GROUP),
        "other_staff": _user(django_user_model, "other", STAFF_GROUP),
        "warehouse": _user(django_user_model, "guangzhou", WAREHOUSE_GROUP),
    }
    upload = write_csv(tmp_path / "customers.csv", HEADER, CSV_ROWS)
    preview = run_import(upload, dry_run=True, user=users["staff_owner"])
    done = run_import(write_csv(tmp_path / "done.csv", HEADER, [CSV_ROWS[1]]), user=users["staff_owner"])
    failed = SmsMessage.objects.create(
        phone="+233241234567", kind="text", body="x", encoding="GSM-7", segments=1, status=SmsStatus.FAILED,
        idempotency_key="matrix",
    )  # fmt: skip
    customer = make_customer()
    owner = make_customer()  # goods PROTECT their customer: `customer` itself stays deletable
    receipt = make_receipt(customer=owner, shipping_mark=owner.shipping_mark)
    unknown = make_receipt(shipping_mark="ZZ9 NOBODY")
    shipment = create_shipment(None, mode="sea", equipment_code="40HC", origin_warehouse="GZ")
    return {"users": users, "world": World(customer, preview, done, failed, upload, receipt, unknown, shipment)}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method}-{row.name}")
def test_role_matrix(row: Row, caller: str, world: dict[str, Any], django_capture_on_commit_callbacks) -> None:
    client = Client()
    user = world["users"][caller]
    if user is not None and row.token:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {issue_token(user)[1]}"
    elif user is not None:
        client.force_login(user)
    data = row.data(world["world"])
    kwargs: dict[str, Any] = {"content_type": "application/json"} if row.json else {}
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, row.method)(row.path(world["world"]), data, **kwargs)
    expected = row.expect[CALLERS.index(caller)]
    assert response.status_code == expected, (
        f"{row.method.upper()} {row.path(world['world'])} as {caller}: {response.status_code}, expected {expected}"
    )
