"""Staff pages for goods: the list (search, filters, pages, CSV export of the current filter), the unknown-mark
queue (a table, one line per mark) and a page per mark with its resolve actions. The rules are the API's: the same
filter set, the same resolve functions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from primepre.common.csvsafe import guard
from primepre.common.csvstream import csv_lines
from primepre.common.phonemask import loggable_query, mask_phone
from primepre.common.refusals import page_requires, refusal
from primepre.customers.marks import mark_key as key_of
from primepre.customers.models import Customer
from primepre.customers.phones import normalise_phone
from primepre.sms.models import SmsMessage
from primepre.sms.services import country_not_allowed, sms_enabled

from . import receipt_actions
from .api import GoodsFilter
from .matching import customer_for_mark
from .models import GoodsReceipt, MarkAlias, Method, ReceiptStatus
from .notify import SMS_OPTION, sms_key
from .queue import QUEUE_ORDERING_LABELS, QUEUE_ORDERINGS, UnknownMark, queued_mark, unknown_marks, with_suggestions
from .resolve import (
    MarkConflict,
    MarkNotQueued,
    assign_mark,
    create_customer_for_mark,
    leave_mark,
    plan_assignment,
    unassign_mark,
    unidentified,
)
from .selectors import list_totals
from .warehouses import warehouse_name, warehouses

logger = logging.getLogger("primepre.goods")
EXPORT_HEADERS = [
    "Shipping Mark", "Customer Mark", "Customer", "Warehouse", "Date of Receipt", "Description", "CTNS", "CBM", "KG",
    "Specifications", "Supplier&Tracking No", "Method", "Status", "Notes",
]  # fmt: skip


def _filtered(request: HttpRequest) -> GoodsFilter:
    receipts = GoodsReceipt.objects.select_related("customer").defer("customer__search_text")
    return GoodsFilter(request.GET, queryset=receipts.order_by("-received_on", "-id"), request=request)


@login_required
@page_requires("goods.view_goodsreceipt")
def goods_list(request: HttpRequest) -> HttpResponse:
    filterset = _filtered(request)
    queryset = filterset.qs if filterset.is_valid() else GoodsReceipt.objects.none()
    totals = list_totals(queryset)
    paginator = Paginator(queryset, 50)
    paginator.count = totals.count  # the totals' query counted them already: no second COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    chosen_warehouses = request.GET.getlist("warehouse")
    chosen_statuses = request.GET.getlist("status")
    return render(
        request,
        "goods/goods_list.html",
        {
            "page": page,
            "totals": totals,
            "errors": filterset.errors,
            "query": query.urlencode(),
            "warehouses": list(warehouses().items()),
            "methods": Method.choices,
            "statuses": ReceiptStatus.choices,
            "selected_warehouses": chosen_warehouses,
            "selected_statuses": chosen_statuses,
            # What each closed dropdown names (pick.js keeps it in step as boxes are ticked).
            "warehouse_summary": _chosen_labels(warehouses().items(), chosen_warehouses, "Any warehouse"),
            "status_summary": _chosen_labels(ReceiptStatus.choices, chosen_statuses, "Any status"),
        },
    )


def _chosen_labels(choices: Any, chosen: list[str], none: str) -> str:
    return ", ".join(str(label) for code, label in choices if code in chosen) or none


def export_rows(queryset: Any) -> Iterator[list[Any]]:
    """Header, then one row per receipt, read in chunks (memory does not grow with the number of receipts)."""
    yield EXPORT_HEADERS
    for receipt in queryset.iterator(chunk_size=2000):
        sides = (receipt.length_cm, receipt.width_cm, receipt.height_cm)
        yield [
            receipt.shipping_mark,
            receipt.customer.shipping_mark if receipt.customer_id else "",
            receipt.customer.full_name if receipt.customer_id else "",
            warehouse_name(receipt.warehouse),
            receipt.received_on.isoformat(),
            receipt.description,
            receipt.cartons,
            receipt.cbm,
            "" if receipt.weight_kg is None else receipt.weight_kg,
            "*".join(f"{side.normalize():f}" for side in sides) if sides[0] is not None else "",
            receipt.tracking_number,
            receipt.get_method_display(),
            receipt.get_status_display(),
            receipt.notes,
        ]


def iter_csv(queryset: Any) -> Iterator[str]:
    # Marks, descriptions and notes are typed by anyone: every cell goes through the formula guard.
    return csv_lines([guard(value) for value in row] for row in export_rows(queryset))


@login_required
@page_requires("goods.view_goodsreceipt")
def goods_export(request: HttpRequest) -> HttpResponse:
    filterset = _filtered(request)
    queryset = filterset.qs if filterset.is_valid() else GoodsReceipt.objects.none()
    # The search may be a customer's phone, in any spelling: masked on the decoded values (common/phonemask.py).
    logger.info("[GOODS-EXPORT] user=%s filters=%s", request.user.pk, loggable_query(request.GET))
    response = StreamingHttpResponse(iter_csv(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="goods-{stamp}.csv"'
    return response


# The queue's own query (search, ordering, page, marks left for later): carried to a mark's page and back to the
# queue, so a clerk working down page 2 of a search returns to it.
QUEUE_PARAMS = ("search", "ordering", "left", "page")
# The actions of a mark still in the queue: when one fails, the clerk goes back to the mark's page to try again.
_MARK_ACTIONS = {"assign", "create", "leave"}


def _queue_query(params: QueryDict) -> str:
    query = QueryDict(mutable=True)
    for name in QUEUE_PARAMS:
        if value := params.get(name, "")[:100]:
            query[name] = value
    return query.urlencode()


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


@login_required
@page_requires("goods.view_goodsreceipt")
def unknown_mark_queue(request: HttpRequest) -> HttpResponse:
    """The queue as a compact table, one line per mark; each mark's page holds its suggestions and actions."""
    ordering = request.GET.get("ordering", "first_received")
    ordering = ordering if ordering in QUEUE_ORDERINGS else "first_received"
    showing_left = request.GET.get("left") == "1"
    search = request.GET.get("search", "")[:100]
    marks = unknown_marks(ordering, left=showing_left, search=search)
    page = Paginator(marks, 25).get_page(request.GET.get("page"))
    # Suggestions name customers: only for those who may see customers.
    can_see_customers = request.user.has_perm("customers.view_customer")
    rows = with_suggestions(page) if can_see_customers else [UnknownMark(**row) for row in page]
    can_resolve = request.user.has_perm("goods.resolve_marks")
    assigned = request.GET.get("assigned", "")[:100]
    aliases = MarkAlias.objects.select_related("customer")
    just_assigned = aliases.filter(mark_key=assigned).first() if can_resolve and assigned else None
    return render(
        request,
        "goods/unknown_marks.html",
        {
            "page": page,
            "rows": rows,
            "search": search,
            "ordering": ordering,
            "orderings": list(QUEUE_ORDERING_LABELS.items()),
            "can_resolve": can_resolve,
            "just_assigned": just_assigned,
            "showing_left": showing_left,
            "left_count": unknown_marks(left=True).count() if not showing_left else None,
            "back_query": _queue_query(request.GET),
        },
    )


@login_required
@page_requires("goods.view_goodsreceipt")
def unknown_mark_page(request: HttpRequest, mark_key: str) -> HttpResponse:
    """One mark: its receipts in sum, its suggestions and the actions (assign, create a customer, leave for later).
    A mark no longer in the queue gets a page that says so (404), with the customer it went to and the way back."""
    if (key := key_of(mark_key)) and key != mark_key:  # a mark typed into the address bar as it is written
        return redirect(_with_query(reverse("goods:unknown-mark", args=[key]), _queue_query(request.GET)))
    can_see_customers = request.user.has_perm("customers.view_customer")
    mark = queued_mark(mark_key, suggest=can_see_customers)
    context = {
        "mark": mark,
        "mark_key": mark_key,
        "query": _queue_query(request.GET),
        "can_resolve": request.user.has_perm("goods.resolve_marks"),
        "can_create": request.user.has_perm("customers.add_customer"),
    }
    if mark is not None:
        context["receipts_url"] = reverse("goods:list") + "?" + urlencode({"unidentified": "true", "search": mark_key})
        return render(request, "goods/unknown_mark.html", context)
    owner = customer_for_mark(mark_key) if can_see_customers else None
    context["owner"] = Customer.objects.filter(pk=owner).first() if owner else None
    return render(request, "goods/unknown_mark.html", context, status=404)


def _customer_from_form(request: HttpRequest) -> tuple[Customer | None, str]:
    """The customer the clerk means, and a note or an error. A typed mark or phone wins over a ticked suggestion (the
    confirmation says the suggestion was set aside); a typed value that matches no customer is an error, never a
    fall back to the suggestion."""
    typed = request.POST.get("customer_search", "").strip()[:100]
    ticked = request.POST.get("customer", "")
    if typed:
        customer = _typed_customer(typed)
        if customer is None:
            return None, f"No customer has the mark or phone {typed!r} exactly. Check it, or choose a suggestion."
        note = "The suggestion you ticked was set aside: the customer you typed is used." if ticked else ""
        return customer, note
    if ticked.isdigit():
        customer = Customer.objects.filter(pk=int(ticked)).first()
        return customer, "" if customer else "That customer no longer exists."
    return None, "Choose a suggested customer, or type a customer's exact mark or phone."


def _typed_customer(typed: str) -> Customer | None:
    owner = customer_for_mark(key_of(typed))
    if owner is not None:
        return Customer.objects.get(pk=owner)
    phone = normalise_phone(typed, settings.DEFAULT_PHONE_REGION)
    return Customer.objects.filter(phone=phone.e164).first() if phone.ok else None


def _sms_words(count: int, customer: Customer) -> str:
    if not count:
        return "no SMS"
    return f"{count} “goods received” SMS to {customer.full_name}"


def _receipts(count: int) -> str:
    return f"{count:,} receipt{pluralize(count)}"


def _sms_outcome(mark_key: str, customer: Customer, queued: int) -> str:
    """What the resolution queued, for its success notice: the texts and whom to, or why none (a clerk who expected
    one must not have to guess whether SMS is off or the customer was told already)."""
    if queued:
        return f"{queued} “goods received” SMS queued to {customer.full_name}"
    if not sms_enabled():
        return "no SMS: SMS is off"
    theirs = GoodsReceipt.objects.filter(mark_key=mark_key, customer=customer)
    if not theirs.filter(**{f"import_job__options__{SMS_OPTION}": True}).exists():
        return "no SMS: no import of these goods asked for receipt SMS"
    if refused := country_not_allowed(customer.phone):
        return f"no SMS: {customer.full_name}'s number may not be texted ({refused.rstrip('.')})"
    return f"no SMS: {customer.full_name} was already told about those days"


def _confirm_assignment(request: HttpRequest, mark_key: str, customer: Customer, note: str) -> HttpResponse:
    """The page a clerk confirms before a mark is given away: who gets it, what moves, what they will be texted."""
    queued = unidentified(mark_key)
    sample = queued.values_list("shipping_mark", flat=True).first()
    if sample is None:
        messages.error(request, "No unidentified receipt has this mark (any more).")
        return redirect("goods:unknown-marks")
    plan = plan_assignment(mark_key, customer)
    context = {
        "mark_key": mark_key,
        "shipping_mark": sample,
        "customer": customer,
        "masked_phone": mask_phone(customer.phone),
        "plan": plan,
        "sms_words": _sms_words(plan.sms, customer),
        "note": note,
        "query": request.GET.urlencode(),
    }
    return render(request, "goods/confirm_assign.html", context)


def _assign(request: HttpRequest, mark_key: str) -> HttpResponse | bool:
    """Assign in two steps: the form → a confirmation page; its button (`confirmed`) → the assignment (True)."""
    customer, note = _customer_from_form(request)
    if customer is None:
        messages.error(request, note)
        return False
    if request.POST.get("confirmed") != "1":
        return _confirm_assignment(request, mark_key, customer, note)
    result = assign_mark(mark_key, customer, request.user)
    belong = "belongs" if result.receipts == 1 else "belong"
    messages.success(
        request,
        f"{_receipts(result.receipts)} now {belong} to {customer.shipping_mark} ({customer.full_name}); "
        f"{_sms_outcome(mark_key, customer, result.messages_queued)}.",
    )
    return True


def _create(request: HttpRequest, mark_key: str) -> bool:
    if not request.user.has_perm("customers.add_customer"):
        raise PermissionDenied(refusal(request.user, "customers.add_customer"))
    result = create_customer_for_mark(
        mark_key,
        first_name=request.POST.get("first_name", "")[:100],
        last_name=request.POST.get("last_name", "")[:100],
        phone=request.POST.get("phone", "")[:64],
        user=request.user,
    )
    created = get_object_or_404(Customer, pk=result.customer_id)
    sms = _sms_outcome(mark_key, created, result.messages_queued)
    are = "is" if result.receipts == 1 else "are"
    messages.success(request, f"Created {created.shipping_mark}; {_receipts(result.receipts)} {are} theirs; {sms}.")
    return True


def _run_action(request: HttpRequest, mark_key: str, action: str | None) -> HttpResponse | bool:
    """One button: a page to show (the confirmation), True when it was done, False when a message says why not."""
    if action == "assign":
        return _assign(request, mark_key)
    if action == "create":
        return _create(request, mark_key)
    if action == "unassign":
        result = unassign_mark(mark_key, request.user)
        are = "is" if result.receipts == 1 else "are"
        messages.success(
            request,
            f"Assignment undone: {_receipts(result.receipts)} {are} unidentified again and the mark no longer "
            "routes to that customer. SMS already sent are not recalled.",
        )
        return True
    if action == "leave":
        result = leave_mark(mark_key, request.user)
        messages.success(
            request,
            f"Left {_receipts(result.receipts)} unidentified for now: the mark is out of the queue until another "
            "receipt with it arrives (“Marks left for later” lists it).",
        )
        return True
    messages.error(request, "Choose assign, create or leave.")
    return False


@login_required
@page_requires("goods.resolve_marks")
@require_POST
def resolve_mark(request: HttpRequest, mark_key: str) -> HttpResponse:
    """The buttons of a mark's page (and the undo offers): each one calls the same resolve function as the API. Done
    → the queue (after an assignment, with its undo offer); failed while the mark is still queued → its page."""
    action = request.POST.get("action")
    try:
        outcome = _run_action(request, mark_key, action)
    except MarkNotQueued:
        messages.error(request, "No unidentified receipt has this mark (any more).")
        outcome = False
    except MarkConflict as exc:
        messages.error(request, exc.message)
        outcome = False
    except ValidationError as exc:
        messages.error(request, "The customer was not created: " + " ".join(exc.messages))
        outcome = False
    if isinstance(outcome, HttpResponse):
        return outcome
    query = _queue_query(request.GET)
    if outcome and action == "assign":
        return redirect(reverse("goods:unknown-marks") + f"?assigned={quote(mark_key)}")
    if not outcome and action in _MARK_ACTIONS and unidentified(mark_key).exists():
        return redirect(_with_query(reverse("goods:unknown-mark", args=[mark_key]), query))
    return redirect(_with_query(reverse("goods:unknown-marks"), query))


# --- a page per receipt ----------------------------------------------------------------------------------------------


def _receipt_context(request: HttpRequest, receipt: GoodsReceipt) -> dict[str, Any]:
    """Every field, its customer, its import, its SMS and its history, and which actions the user may take."""
    texts = []
    if receipt.customer_id:
        key = sms_key(receipt.customer_id, receipt.received_on)
        texts = list(SmsMessage.objects.filter(idempotency_key=key).only("status", "body", "created_at", "sent_at"))
    return {
        "receipt": receipt,
        "warehouse_name": warehouse_name(receipt.warehouse),
        "history": receipt.changes.order_by("-changed_at", "-id")[:200],
        "texts": texts,
        "routed_by_alias": bool(receipt.customer_id and receipt.customer.mark_key != receipt.mark_key),
        "can_change": request.user.has_perm("goods.change_goodsreceipt"),
        "can_resolve": request.user.has_perm("goods.resolve_marks"),
        "methods": Method.choices,
        "warehouses": list(warehouses().items()),
        "is_open": receipt.status in receipt_actions.OPEN,
    }


@login_required
@page_requires("goods.view_goodsreceipt")
def receipt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    receipt = get_object_or_404(GoodsReceipt.objects.select_related("customer", "import_job"), pk=pk)
    if request.method == "POST":
        if not request.user.has_perm("goods.change_goodsreceipt"):
            raise PermissionDenied(refusal(request.user, "goods.change_goodsreceipt"))
        _receipt_action(request, receipt)
        return redirect("goods:receipt", pk=pk)
    return render(request, "goods/receipt.html", _receipt_context(request, receipt))


_STATUS_ACTIONS = {
    "hold": receipt_actions.hold_receipt,
    "release": receipt_actions.release_receipt,
    "cancel": receipt_actions.cancel_receipt,
}


def _receipt_action(request: HttpRequest, receipt: GoodsReceipt) -> None:
    """The page's buttons, each one `receipt_actions` function; what went wrong is a message, never a 500."""
    post, user = request.POST, request.user
    reason = post.get("reason", "")[:500]
    action = post.get("action")
    try:
        if action == "edit":
            values = {name: post[name].strip() for name in receipt_actions.EDITABLE if name in post}
            receipt_actions.edit_receipt(receipt.pk, values, user, reason)
        elif action in _STATUS_ACTIONS:
            _STATUS_ACTIONS[action](receipt.pk, user, reason)
        elif action == "reassign":
            customer = _typed_customer(post.get("customer_search", "").strip()[:100])
            if customer is None:
                messages.error(request, "No customer has that mark or phone exactly.")
                return
            receipt_actions.reassign_receipt(receipt.pk, customer, user, reason)
        else:
            messages.error(request, "Choose edit, hold, release, cancel or reassign.")
            return
        messages.success(request, "Saved; the change is in the receipt's history.")
    except receipt_actions.ReceiptActionRefused as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, "Not saved: " + " ".join(exc.messages))
