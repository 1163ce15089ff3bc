"""Staff pages for shipments (#26): the list (and "New shipment"), a shipment's page (its fill, its lines grouped by
mark, its actions, consignments and history), and the waiting goods page, from which receipts are loaded into an open
shipment: the ticked ones (in part when fewer cartons are typed), all of a mark, or a fill-to-capacity plan that is
shown, and confirmed, before anything loads.

The rules are the domain's (`lifecycle`, `loading`): every refusal there is a `ShipmentRefused`, shown here as a
message (never a 500). Loading several receipts is one transaction: one refusal loads none of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import wraps
from itertools import groupby
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, ExpressionWrapper, F, FloatField, IntegerField, Min, Q, QuerySet, Sum, Window
from django.db.models.functions import Cast, RowNumber
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from primepre.common.refusals import roles_of
from primepre.customers.models import Customer
from primepre.goods.api import GoodsFilter
from primepre.goods.models import GoodsReceipt, Method, ReceiptStatus
from primepre.goods.warehouses import warehouse_name, warehouses

from .capacity import Fill, fill_of
from .equipment import equipment
from .errors import ShipmentRefused
from .forms import NewShipmentForm
from .lifecycle import cancel_shipment, close_shipment, create_shipment, reopen_shipment
from .loading import load_receipts, unload_line
from .models import Consignment, Shipment, ShipmentLine, ShipmentStatus
from .planning import MAX_PLAN_LINES, Candidate, Plan, PlannedLine, plan_fill, share

VIEW, ADD, CHANGE, CLOSE = (
    "shipments.view_shipment", "shipments.add_shipment", "shipments.change_shipment", "shipments.close_shipment",
)  # fmt: skip
# What each permission lets someone do, as the refusal page says it ("Your role (Staff) cannot see shipments.").
DOING = {
    VIEW: "see shipments",
    ADD: "create shipments",
    CHANGE: "load, unload or cancel shipments",
    CLOSE: "close or reopen shipments",
}
SHIPMENTS_PER_PAGE = 50
MARKS_PER_PAGE = 40  # a shipment's lines are paged by mark, so a mark's subtotal is never split across two pages
WAITING_MARKS_PER_PAGE = 20
# Each receipt shown is two form fields (its tick, its cartons): 20 marks × 20 receipts stays far below Django's
# 1,000-field limit on one POST. A mark with more loads whole through its "Load all" button.
RECEIPTS_SHOWN_PER_MARK = 20
MAX_PICKS = 500
WAITING_FILTERS = ("search", "received_after", "received_before", "warehouse", "method")
THREE = Decimal("0.001")
TWO = Decimal("0.01")


def _refusal(user: Any, permission: str) -> str:
    return f"Your role ({roles_of(user)}) cannot {DOING[permission]}."


def _requires(permission: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """`common.refusals.page_requires`, in the words of shipments."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied(_refusal(request.user, permission))
            return view(request, *args, **kwargs)

        return guarded

    return decorate


def _id(raw: str) -> int | None:
    """A primary key from a form: digits that fit the database's bigint (a longer number would be a 500), else None."""
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


def _decimal(value: Any, places: Decimal) -> Decimal:
    # SQLite's SUM of a decimal column comes back as a float (or an int): through str, never binary noise.
    return Decimal(str(value or 0)).quantize(places)


def _with_fills(shipments: list[Shipment]) -> list[Shipment]:
    """Each shipment's `fill` and `line_count`, from ONE grouped query for them all (not one per shipment)."""
    totals = {
        row["shipment"]: row
        for row in ShipmentLine.objects.filter(shipment__in=[s.pk for s in shipments])
        .order_by()
        .values("shipment")
        .annotate(lines=Count("id"), cartons=Sum("cartons"), cbm=Sum("cbm"), kg=Sum("weight_kg"))
    }
    for shipment in shipments:
        row, box = totals.get(shipment.pk, {}), equipment(shipment.equipment)
        shipment.line_count = row.get("lines", 0)  # type: ignore[attr-defined]
        shipment.fill = Fill(  # type: ignore[attr-defined]
            row.get("cartons") or 0, _decimal(row.get("cbm"), THREE), _decimal(row.get("kg"), TWO),
            box.usable_cbm, box.nominal_cbm, box.payload_kg,
        )  # fmt: skip
    return shipments


# --- the list, and a new shipment -------------------------------------------------------------------------------------


def _list_context(request: HttpRequest, form: NewShipmentForm) -> dict[str, Any]:
    status = request.GET.get("status", "")
    shipments = Shipment.objects.order_by("-created_at", "-id")
    if status in ShipmentStatus.values:
        shipments = shipments.filter(status=status)
    page = Paginator(shipments, SHIPMENTS_PER_PAGE).get_page(request.GET.get("page"))
    return {
        "page": page,
        "shipments": _with_fills(list(page)),
        "status": status,
        "statuses": ShipmentStatus.choices,
        "form": form,
        "can_add": request.user.has_perm(ADD),
        "warehouses": warehouses(),
    }


@login_required
@_requires(VIEW)
def shipment_list(request: HttpRequest) -> HttpResponse:
    return render(request, "shipments/list.html", _list_context(request, NewShipmentForm()))


@login_required
@_requires(ADD)
@require_POST
def shipment_create(request: HttpRequest) -> HttpResponse:
    form = NewShipmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The shipment was not created: see what the form says.")
        return render(request, "shipments/list.html", _list_context(request, form), status=400)
    data = form.cleaned_data
    try:
        shipment = create_shipment(
            request.user, mode=data["mode"], equipment_code=data["equipment"],
            origin_warehouse=data["origin_warehouse"], etd=data["etd"], eta=data["eta"],
        )  # fmt: skip
    except ShipmentRefused as exc:
        messages.error(request, f"The shipment was not created: {exc.message}")
        return redirect("shipments:list")
    box = equipment(shipment.equipment)
    messages.success(request, f"Created {shipment.reference} ({box.label}): load it from the waiting goods.")
    return redirect("shipments:detail", pk=shipment.pk)


# --- a shipment's page ------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class MarkGroup:
    """One mark's lines on a loading list, with its subtotal (exact: summed here, not by SQLite's float SUM)."""

    mark: str
    lines: list[ShipmentLine]
    cartons: int = 0
    cbm: Decimal = Decimal("0.000")
    kg: Decimal = Decimal("0.00")
    any_kg: bool = False


def _group_by_mark(lines: list[ShipmentLine]) -> list[MarkGroup]:
    groups = []
    for _, members in groupby(lines, key=lambda line: line.receipt.mark_key):
        group = MarkGroup(mark="", lines=list(members))
        group.mark = group.lines[0].receipt.shipping_mark
        for line in group.lines:
            group.cartons += line.cartons
            group.cbm += line.cbm
            group.kg += line.weight_kg or 0
            group.any_kg = group.any_kg or line.weight_kg is not None
        groups.append(group)
    return groups


def _mark_carry_over(shipment: Shipment, lines: list[ShipmentLine]) -> None:
    """Each line's `carried_from` (the earlier shipments that took other cartons of its receipt: the rest was carried
    over to this one), `partial` (fewer cartons than the receipt's) and `waiting` (its cartons on no list yet)."""
    earlier: dict[int, list[tuple[Any, str]]] = defaultdict(list)
    for other in (
        ShipmentLine.objects.filter(receipt_id__in={line.receipt_id for line in lines})
        .exclude(shipment=shipment)
        .values("receipt_id", "loaded_at", "shipment__reference")
    ):
        earlier[other["receipt_id"]].append((other["loaded_at"], other["shipment__reference"]))
    for line in lines:
        froms = sorted(ref for when, ref in earlier[line.receipt_id] if when < line.loaded_at)
        line.carried_from = ", ".join(froms)  # type: ignore[attr-defined]
        line.partial = line.cartons < line.receipt.cartons  # type: ignore[attr-defined]
        line.waiting = line.receipt.cartons - line.receipt.cartons_loaded  # type: ignore[attr-defined]


def _line_groups(shipment: Shipment, page_number: str | None) -> tuple[Page, list[MarkGroup]]:
    """The page's marks (in mark order) and all their lines, oldest receipt first within a mark."""
    marks = (
        ShipmentLine.objects.filter(shipment=shipment)
        .order_by("receipt__mark_key")
        .values_list("receipt__mark_key", flat=True)
        .distinct()
    )
    page = Paginator(marks, MARKS_PER_PAGE).get_page(page_number)
    lines = list(
        ShipmentLine.objects.filter(shipment=shipment, receipt__mark_key__in=list(page))
        .select_related("receipt", "consignment__customer")
        .order_by("receipt__mark_key", "receipt__received_on", "receipt_id")
    )
    _mark_carry_over(shipment, lines)
    return page, _group_by_mark(lines)


def _consignments(shipment: Shipment) -> list[Consignment]:
    return list(
        Consignment.objects.filter(shipment=shipment)
        .select_related("customer")
        .annotate(
            line_count=Count("lines"), cartons=Sum("lines__cartons"), cbm=Sum("lines__cbm"), kg=Sum("lines__weight_kg")
        )
        .order_by("customer__shipping_mark")
    )


def change_words(details: dict[str, Any]) -> str:
    """A history record's details in words: `25 cartons · container CSQU3054383`. The receipt is linked apart."""
    words = []
    if isinstance(details.get("cartons"), int):
        words.append(f"{details['cartons']:,} carton{pluralize(details['cartons'])}")
    if details.get("container_number"):
        words.append(f"container {details['container_number']}")
    if details.get("job"):
        words.append(f"from import #{details['job']}")
    if isinstance(details.get("beyond"), list):
        words.append("; ".join(str(item) for item in details["beyond"]))
    return " · ".join(words)


def _history(shipment: Shipment) -> list[Any]:
    changes = list(shipment.changes.select_related("changed_by").order_by("-changed_at", "-id")[:200])
    for change in changes:
        change.words = change_words(change.details)  # type: ignore[attr-defined]
        receipt = change.details.get("receipt")
        change.receipt_id = receipt if isinstance(receipt, int) else None  # type: ignore[attr-defined]
    return changes


def _detail_context(request: HttpRequest, shipment: Shipment) -> dict[str, Any]:
    user, fill = request.user, fill_of(shipment)
    page, groups = _line_groups(shipment, request.GET.get("page"))
    is_open = shipment.status == ShipmentStatus.OPEN
    return {
        "shipment": shipment,
        "box": equipment(shipment.equipment),
        "fill": fill,
        "origin_name": warehouse_name(shipment.origin_warehouse),
        "page": page,
        "groups": groups,
        "consignments": _consignments(shipment),
        "history": _history(shipment),
        "is_open": is_open,
        "can_unload": is_open and user.has_perm(CHANGE),
        "can_close": is_open and user.has_perm(CLOSE),
        "can_reopen": shipment.status == ShipmentStatus.CLOSED and user.has_perm(CLOSE),
        "can_cancel": is_open and fill.cartons == 0 and user.has_perm(CHANGE),
        "can_load": is_open and user.has_perm(CHANGE),
    }


@login_required
@_requires(VIEW)
def shipment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    shipment = get_object_or_404(Shipment.objects.select_related("created_by"), pk=pk)
    if request.method == "POST":
        _shipment_action(request, shipment)
        return redirect("shipments:detail", pk=pk)
    return render(request, "shipments/detail.html", _detail_context(request, shipment))


def _unload(request: HttpRequest, shipment: Shipment) -> str:
    line = ShipmentLine.objects.filter(pk=_id(request.POST.get("line", "")) or 0, shipment=shipment)
    found = line.select_related("receipt").first()
    if found is None:
        raise ShipmentRefused("not_found", "That line is not on this shipment's list (any more).", status=404)
    unload_line(found.pk, request.user)
    receipt = found.receipt
    return (
        f"Unloaded receipt {receipt.pk} ({receipt.shipping_mark}, received {receipt.received_on:%Y-%m-%d}): its "
        f"{found.cartons:,} carton{pluralize(found.cartons)} wait again."
    )


def _close(request: HttpRequest, shipment: Shipment) -> str:
    closed = close_shipment(
        shipment.pk,
        request.user,
        container_number=request.POST.get("container_number", "")[:40],
        seal_number=" ".join(request.POST.get("seal_number", "").split())[:30],
    )
    inside = f" in container {closed.container_number}" if closed.container_number else ""
    return f"Closed {closed.reference}{inside}: its loading list is frozen (reopen it, with a reason, to change it)."


def _reopen(request: HttpRequest, shipment: Shipment) -> str:
    reopen_shipment(shipment.pk, request.user, request.POST.get("reason", "")[:500])
    return f"Reopened {shipment.reference}: lines may be loaded and unloaded again; the reason is in its history."


def _cancel(request: HttpRequest, shipment: Shipment) -> str:
    cancel_shipment(shipment.pk, request.user, request.POST.get("reason", "")[:500])
    return f"Cancelled {shipment.reference}."


# Each button of the shipment page: the permission it needs and what it does (the success notice it returns).
ACTIONS: dict[str, tuple[str, Callable[[HttpRequest, Shipment], str]]] = {
    "unload": (CHANGE, _unload),
    "close": (CLOSE, _close),
    "reopen": (CLOSE, _reopen),
    "cancel": (CHANGE, _cancel),
}


def _shipment_action(request: HttpRequest, shipment: Shipment) -> None:
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        messages.error(request, "Choose unload, close, reopen or cancel.")
        return
    permission, run = ACTIONS[action]
    if not request.user.has_perm(permission):
        raise PermissionDenied(_refusal(request.user, permission))
    try:
        messages.success(request, run(request, shipment))
    except ShipmentRefused as exc:
        messages.error(request, exc.message)


# --- the waiting goods page -------------------------------------------------------------------------------------------

WAITING = ExpressionWrapper(F("cartons") - F("cartons_loaded"), output_field=IntegerField())


def _waiting_share(name: str) -> ExpressionWrapper:
    """The waiting cartons' share of a receipt's CBM or kg, in SQL (a float: SQLite would divide integers)."""
    return ExpressionWrapper(
        Cast(name, FloatField()) * WAITING / Cast("cartons", FloatField()), output_field=FloatField()
    )


def _waiting_filters(params: QueryDict) -> QueryDict:
    kept = QueryDict(mutable=True)
    for name in WAITING_FILTERS:
        if values := [value[:200] for value in params.getlist(name) if value]:
            kept.setlist(name, values)
    return kept


def waiting_receipts(params: QueryDict) -> tuple[QuerySet, GoodsFilter]:
    """Matched receipts with cartons on no list yet, under the goods list's own filters (warehouse, method, dates,
    the search by mark, tracking number or customer)."""
    base = GoodsReceipt.objects.filter(status=ReceiptStatus.RECEIVED, cartons_loaded__lt=F("cartons"))
    filterset = GoodsFilter(_waiting_filters(params), queryset=base)
    return (filterset.qs if filterset.is_valid() else base.none()), filterset


@dataclass(slots=True)
class WaitingGroup:
    """One mark of one customer at one warehouse: its totals over every waiting receipt, its oldest receipts."""

    warehouse: str
    mark_key: str
    customer: Customer | None
    mark: str
    receipts: int
    cartons: int
    cbm: Decimal
    kg: Decimal | None
    oldest: Any
    rows: list[GoodsReceipt] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.warehouse}|{self.mark_key}|{self.customer.pk if self.customer else ''}"

    @property
    def not_shown(self) -> int:
        return self.receipts - len(self.rows)


def _sums() -> dict[str, Any]:
    """What a group of waiting receipts adds up to: receipts, cartons waiting, their CBM and kg, the oldest day."""
    return {
        "receipts": Count("id"),
        # Named apart from the columns: an annotation called `cartons` would stand for the column in F("cartons").
        "waiting_cartons": Sum(WAITING),
        "waiting_cbm": Sum(_waiting_share("cbm")),
        "waiting_kg": Sum(_waiting_share("weight_kg")),
        "oldest": Min("received_on"),
    }


def _group_rows(receipts: QuerySet) -> QuerySet:
    """One row per mark of a customer at a warehouse; per warehouse, the mark whose goods wait longest first."""
    return (
        receipts.order_by()
        .values("warehouse", "mark_key", "customer_id")
        .annotate(**_sums(), mark=Min("shipping_mark"))
        .order_by("warehouse", "oldest", "mark_key", "customer_id")
    )


def _group_receipts(receipts: QuerySet, rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], list[GoodsReceipt]]:
    """The oldest RECEIPTS_SHOWN_PER_MARK receipts of each group on the page, in one query (a window per group)."""
    if not rows:
        return {}
    match = Q()
    for row in rows:
        match |= Q(warehouse=row["warehouse"], mark_key=row["mark_key"], customer_id=row["customer_id"])
    group = [F("warehouse"), F("mark_key"), F("customer_id")]
    ranked = receipts.filter(match).annotate(
        rank=Window(RowNumber(), partition_by=group, order_by=[F("received_on").asc(), F("id").asc()])
    )
    found: dict[tuple[str, str, int], list[GoodsReceipt]] = defaultdict(list)
    for receipt in ranked.filter(rank__lte=RECEIPTS_SHOWN_PER_MARK).order_by("received_on", "id"):
        candidate = _candidate(receipt)
        receipt.waiting = candidate.waiting  # type: ignore[attr-defined]
        receipt.waiting_cbm, receipt.waiting_kg = share(candidate, candidate.waiting)  # type: ignore[attr-defined]
        found[(receipt.warehouse, receipt.mark_key, receipt.customer_id)].append(receipt)
    return found


def _waiting_groups(receipts: QuerySet, page_number: str | None) -> tuple[Page, list[WaitingGroup]]:
    page = Paginator(_group_rows(receipts), WAITING_MARKS_PER_PAGE).get_page(page_number)
    rows = list(page)
    customers = Customer.objects.only("shipping_mark", "first_name", "last_name").in_bulk(
        {row["customer_id"] for row in rows}
    )
    shown = _group_receipts(receipts, rows)
    groups = []
    for row in rows:
        group = (row["warehouse"], row["mark_key"], row["customer_id"])
        kg = None if row["waiting_kg"] is None else _decimal(row["waiting_kg"], TWO)
        customer, cartons = customers.get(row["customer_id"]), row["waiting_cartons"] or 0
        cbm = _decimal(row["waiting_cbm"], THREE)
        groups.append(WaitingGroup(*group[:2], customer, row["mark"], row["receipts"], cartons, cbm, kg, row["oldest"]))
        groups[-1].rows = shown[group]
    return page, groups


def _by_warehouse(groups: list[WaitingGroup]) -> list[tuple[str, str, list[WaitingGroup]]]:
    return [(code, warehouse_name(code), list(members)) for code, members in groupby(groups, key=lambda g: g.warehouse)]


def _open_shipments(chosen: str) -> tuple[list[Shipment], Shipment | None]:
    """The open shipments (newest first) with their fills; the one chosen by `?shipment=`, else the newest."""
    shipments = _with_fills(list(Shipment.objects.filter(status=ShipmentStatus.OPEN).order_by("-created_at", "-id")))
    picked = next((s for s in shipments if str(s.pk) == chosen), None)
    return shipments, picked or (shipments[0] if shipments else None)


def _waiting_totals(receipts: QuerySet) -> dict[str, Any]:
    totals = receipts.aggregate(**_sums())
    return {
        "receipts": totals["receipts"],
        "cartons": totals["waiting_cartons"] or 0,
        "cbm": _decimal(totals["waiting_cbm"], THREE),
        "kg": _decimal(totals["waiting_kg"], TWO),
        "oldest": totals["oldest"],
    }


@login_required
@_requires(VIEW)
def waiting_goods(request: HttpRequest) -> HttpResponse:
    receipts, filterset = waiting_receipts(request.GET)
    page, groups = _waiting_groups(receipts, request.GET.get("page"))
    shipments, chosen = _open_shipments(request.GET.get("shipment", ""))
    query = _waiting_filters(request.GET)
    if page.number > 1:
        query["page"] = str(page.number)
    context = {
        "page": page,
        "sections": _by_warehouse(groups),
        "totals": _waiting_totals(receipts),
        "marks": page.paginator.count,
        "errors": filterset.errors,
        "filters": request.GET,
        "warehouses": list(warehouses().items()),
        "methods": Method.choices,
        "shipments": shipments,
        "chosen": chosen,
        "query": query.urlencode(),
        "can_load": request.user.has_perm(CHANGE),
    }
    return render(request, "shipments/waiting.html", context)


# --- loading from the waiting goods page ------------------------------------------------------------------------------


def _count(receipt: str, typed: str) -> int | None:
    """The cartons typed for a receipt: blank is all that wait (None)."""
    typed = typed.strip()
    if not typed:
        return None
    if not typed.isdigit() or len(typed) > 9 or int(typed) < 1:
        raise ShipmentRefused(
            "bad_cartons", f"Receipt {receipt}: “{typed[:20]}” is not a number of cartons (1 or more).", status=400
        )
    return int(typed)


def _ticked(post: QueryDict) -> list[tuple[int, int | None]]:
    """The ticked receipts, each with its cartons (`cartons-<id>`; blank: all that wait)."""
    picks = []
    for raw in post.getlist("receipt"):
        if (receipt := _id(raw)) is not None:
            picks.append((receipt, _count(raw, post.get(f"cartons-{raw}", ""))))
    return picks


def _planned_picks(post: QueryDict) -> list[tuple[int, int | None]]:
    """A confirmed plan's lines, `12:25,13:40`, in one field (a plan may be longer than a page)."""
    picks = []
    for item in post.get("plan", "").split(","):
        raw, _, cartons = item.partition(":")
        if (receipt := _id(raw)) is not None:
            picks.append((receipt, _count(raw.strip(), cartons)))
    return picks


def _mark_picks(params: QueryDict, key: str) -> list[tuple[int, int | None]]:
    """All waiting cartons of one group of the page (`warehouse|mark_key|customer`), oldest first."""
    warehouse, _, rest = key.partition("|")
    mark_key, _, customer = rest.partition("|")
    if _id(customer) is None:
        raise ShipmentRefused("bad_mark", "That mark is not on the waiting goods page (any more).", status=400)
    receipts, _ = waiting_receipts(params)
    group = receipts.filter(warehouse=warehouse[:8], mark_key=mark_key[:100], customer_id=_id(customer))
    return [(pk, None) for pk in group.order_by("received_on", "id").values_list("pk", flat=True)[:MAX_PICKS]]


def _unique(picks: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    seen: dict[int, int | None] = {}
    for receipt, cartons in picks:
        seen.setdefault(receipt, cartons)
    return list(seen.items())


def _back(request: HttpRequest, shipment: Shipment | None) -> str:
    """The waiting goods page as it was (filters, page), with the shipment still chosen."""
    query = _waiting_filters(request.GET)
    if request.GET.get("page", "").isdigit():
        query["page"] = request.GET["page"]
    if shipment is not None:
        query["shipment"] = str(shipment.pk)
    return f"{reverse('shipments:waiting')}?{query.urlencode()}"


def _chosen_shipment(request: HttpRequest) -> Shipment:
    chosen = _id(request.POST.get("shipment", ""))
    shipment = Shipment.objects.filter(pk=chosen).first() if chosen is not None else None
    if shipment is None:
        raise ShipmentRefused("no_shipment", "Choose the open shipment to load into (or create one).", status=400)
    if shipment.status != ShipmentStatus.OPEN:
        raise ShipmentRefused(
            "wrong_state", f"{shipment.reference} is {shipment.get_status_display().lower()}: it cannot be loaded."
        )
    return shipment


@login_required
@_requires(CHANGE)
@require_POST
def load(request: HttpRequest) -> HttpResponse:
    """The waiting page's buttons: load the ticked receipts, all of a mark, plan a fill, or confirm a plan."""
    shipment = None
    try:
        shipment = _chosen_shipment(request)
        action = request.POST.get("action", "")
        if request.POST.get("mark"):
            picks = _mark_picks(request.GET, request.POST["mark"])
        elif action == "fill":
            return _fill_plan(request, shipment)
        elif action == "confirm":
            picks = _planned_picks(request.POST)
        else:
            picks = _ticked(request.POST)
    except ShipmentRefused as exc:
        messages.error(request, exc.message)
        return redirect(_back(request, shipment))
    return _load_picks(request, shipment, _unique(picks))


def _load_picks(request: HttpRequest, shipment: Shipment, picks: list[tuple[int, int | None]]) -> HttpResponse:
    """Every pick in ONE transaction: a refusal rolls all back, and the message names the receipt and why."""
    if not picks:
        messages.error(request, "Tick the receipts to load (or load all of a mark, or plan a fill to capacity).")
        return redirect(_back(request, shipment))
    if len(picks) > MAX_PICKS:
        messages.error(request, f"Load at most {MAX_PICKS:,} receipts at once; nothing was loaded.")
        return redirect(_back(request, shipment))
    before = fill_of(shipment)
    reason = request.POST.get("override_reason", "")[:500]
    try:
        load_receipts(shipment.pk, picks, request.user, override_reason=reason)  # one transaction, a few statements
    except ShipmentRefused as exc:
        return _load_refused(request, shipment, picks, exc.details.get("receipt", picks[0][0]), exc)
    messages.success(request, _loaded_words(shipment, picks, before))
    return redirect(_back(request, shipment))


def _receipt_words(receipt_id: int) -> str:
    receipt = GoodsReceipt.objects.filter(pk=receipt_id).values("shipping_mark", "received_on").first()
    if receipt is None:
        return f"receipt {receipt_id}"
    return f"receipt {receipt_id} ({receipt['shipping_mark']}, received {receipt['received_on']:%Y-%m-%d})"


def _load_refused(
    request: HttpRequest, shipment: Shipment, picks: list[tuple[int, int | None]], at: int, exc: ShipmentRefused
) -> HttpResponse:
    """Nothing was loaded. Past the box's limits, someone who may close shipments is offered the override (a reason,
    recorded); anyone else is told who can."""
    said = f"Nothing was loaded: at {_receipt_words(at)}, {exc.message}"
    if exc.code == "over_capacity" and request.user.has_perm(CLOSE):
        context = _plan_context(request, shipment, _planned(picks), refusal=said)
        return render(request, "shipments/plan.html", context, status=409)
    messages.error(request, said)
    return redirect(_back(request, shipment))


def _loaded_words(shipment: Shipment, picks: list[tuple[int, int | None]], before: Fill) -> str:
    after = fill_of(shipment)
    cartons, cbm = after.cartons - before.cartons, after.cbm - before.cbm
    ids = [receipt for receipt, _ in picks]
    partial = GoodsReceipt.objects.filter(pk__in=ids, cartons_loaded__lt=F("cartons")).count()
    rest = f"; {partial} in part (the rest waits for a later shipment)" if partial else ""
    share_of = f", {after.cbm_percent} % of its usable volume" if after.cbm_percent is not None else ""
    return (
        f"Loaded {len(ids):,} receipt{pluralize(len(ids))} ({cartons:,} carton{pluralize(cartons)}, {cbm} CBM) into "
        f"{shipment.reference}{rest}. It now holds {after.cbm} CBM{share_of}."
    )


# --- fill to capacity: a plan to confirm ------------------------------------------------------------------------------


def _planned(picks: list[tuple[int, int | None]]) -> list[PlannedLine]:
    """Picks as plan lines (the cartons given, or all that wait), with their pro rata CBM and kg."""
    receipts = GoodsReceipt.objects.in_bulk([receipt for receipt, _ in picks])
    lines = []
    for receipt_id, cartons in picks:
        if (receipt := receipts.get(receipt_id)) is None:
            continue
        candidate = _candidate(receipt)
        taken = candidate.waiting if cartons is None else cartons
        lines.append(PlannedLine(receipt_id, taken, candidate.waiting, *share(candidate, max(taken, 0))))
    return lines


def _candidate(receipt: GoodsReceipt) -> Candidate:
    waiting = receipt.cartons - receipt.cartons_loaded
    return Candidate(receipt.pk, receipt.cartons, waiting, receipt.cbm, receipt.weight_kg)


def _fill_plan(request: HttpRequest, shipment: Shipment) -> HttpResponse:
    """The oldest waiting goods of the shipment's origin and mode (under the page's filters) that fit its usable
    volume and payload: shown as a plan, loaded only when confirmed."""
    fill = fill_of(shipment)
    if fill.usable_cbm is None:
        messages.error(request, f"{shipment.reference} is an air batch: it has no volume to fill. Tick the receipts.")
        return redirect(_back(request, shipment))
    room_cbm = fill.usable_cbm - fill.cbm
    room_kg = None if fill.payload_kg is None else fill.payload_kg - fill.kg
    if room_cbm <= 0 or (room_kg is not None and room_kg <= 0):
        full = f"{fill.cbm} CBM of {fill.usable_cbm:.3f} usable, {fill.kg} kg of {fill.payload_kg} kg payload"
        messages.error(request, f"{shipment.reference} is already full: {full}.")
        return redirect(_back(request, shipment))
    receipts, _ = waiting_receipts(request.GET)
    oldest = receipts.filter(warehouse=shipment.origin_warehouse, method=shipment.mode).order_by("received_on", "id")
    plan = plan_fill(map(_candidate, oldest[: MAX_PLAN_LINES + 1]), room_cbm, room_kg)
    if not plan.lines:
        where = warehouse_name(shipment.origin_warehouse)
        said = f"Nothing to plan: no waiting {shipment.mode} goods at {where} (under these filters) fit"
        messages.error(request, f"{said} {shipment.reference}.")
        return redirect(_back(request, shipment))
    return render(request, "shipments/plan.html", _plan_context(request, shipment, list(plan.lines), plan=plan))


def _plan_context(
    request: HttpRequest, shipment: Shipment, lines: list[PlannedLine], plan: Plan | None = None, refusal: str = ""
) -> dict[str, Any]:
    receipts = GoodsReceipt.objects.select_related("customer").in_bulk([line.receipt_id for line in lines])
    cartons = sum(line.cartons for line in lines)
    cbm = sum((line.cbm for line in lines), Decimal("0.000"))
    kg = sum((line.weight_kg or 0 for line in lines), Decimal("0.00"))
    return {
        "shipment": shipment,
        "rows": [(line, receipts[line.receipt_id]) for line in lines if line.receipt_id in receipts],
        "plan": plan,
        "cartons": cartons,
        "cbm": cbm,
        "kg": kg,
        "partial": sum(1 for line in lines if line.partial),
        "after": fill_of(shipment).plus(cartons, cbm, kg),
        "encoded": ",".join(f"{line.receipt_id}:{line.cartons}" for line in lines),
        "refusal": refusal,
        "back": _back(request, shipment),
        "query": _waiting_filters(request.GET).urlencode(),
        "max_lines": MAX_PLAN_LINES,
    }
