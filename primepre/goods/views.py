"""Staff pages for goods: the list (search, filters, pages, CSV export of the current filter) and the unknown-mark
queue with its resolve actions. The rules are the API's: the same filter set, the same resolve functions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from primepre.common.csvsafe import guard
from primepre.common.csvstream import csv_lines
from primepre.common.refusals import page_requires, refusal
from primepre.customers.marks import mark_key as key_of
from primepre.customers.models import Customer
from primepre.customers.phonemask import loggable_query
from primepre.customers.phones import mask_phone, normalise_phone
from primepre.sms.models import SmsMessage

from . import receipt_actions
from .api import GoodsFilter
from .matching import customer_for_mark
from .models import GoodsReceipt, MarkAlias, Method, ReceiptStatus
from .notify import sms_key
from .queue import QUEUE_ORDERING_LABELS, QUEUE_ORDERINGS, unknown_marks, with_suggestions
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
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "goods/goods_list.html",
        {
            "page": page,
            "errors": filterset.errors,
            "query": query.urlencode(),
            "warehouses": list(warehouses().items()),
            "methods": Method.choices,
            "statuses": ReceiptStatus.choices,
            "selected_warehouses": request.GET.getlist("warehouse"),
            "selected_statuses": request.GET.getlist("status"),
        },
    )


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
    # The search may be a customer's phone, in any spelling: masked on the decoded values (customers/phonemask.py).
    logger.info("[GOODS-EXPORT] user=%s filters=%s", request.user.pk, loggable_query(request.GET))
    response = StreamingHttpResponse(iter_csv(queryset), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="goods-{stamp}.csv"'
    return response


@login_required
@page_requires("goods.view_goodsreceipt")
def unknown_mark_queue(request: HttpRequest) -> HttpResponse:
    ordering = request.GET.get("ordering", "first_received")
    ordering = ordering if ordering in QUEUE_ORDERINGS else "first_received"
    showing_left = request.GET.get("left") == "1"
    search = request.GET.get("search", "")[:100]
    marks = unknown_marks(ordering, left=showing_left, search=search)
    page = Paginator(marks, 25).get_page(request.GET.get("page"))
    can_see_customers = request.user.has_perm("customers.view_customer")
    rows = with_suggestions(page) if can_see_customers else list(page)
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
            "ordering": ordering,
            "orderings": list(QUEUE_ORDERING_LABELS.items()),
            "can_resolve": can_resolve,
            "can_create": request.user.has_perm("customers.add_customer"),
            "just_assigned": just_assigned,
            "showing_left": showing_left,
            "left_count": unknown_marks(left=True).count() if not showing_left else None,
        },
    )


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


def _assign(request: HttpRequest, mark_key: str) -> HttpResponse | None:
    """Assign in two steps: the form → a confirmation page; its button (`confirmed`) → the assignment. None when
    the assignment was made (the caller redirects with the undo offer)."""
    customer, note = _customer_from_form(request)
    if customer is None:
        messages.error(request, note)
        return None
    if request.POST.get("confirmed") != "1":
        return _confirm_assignment(request, mark_key, customer, note)
    result = assign_mark(mark_key, customer, request.user)
    messages.success(
        request,
        f"{result.receipts} receipt(s) now belong to {customer.shipping_mark} ({customer.full_name}); "
        f"{_sms_words(result.messages_queued, customer)} queued.",
    )
    return None


@login_required
@page_requires("goods.resolve_marks")
@require_POST
def resolve_mark(request: HttpRequest, mark_key: str) -> HttpResponse:
    """The queue's buttons: each one calls the same resolve function as the API."""
    action = request.POST.get("action")
    back = redirect(reverse("goods:unknown-marks") + (f"?{request.GET.urlencode()}" if request.GET else ""))
    try:
        if action == "assign":
            page = _assign(request, mark_key)
            if page is not None:
                return page
            if MarkAlias.objects.filter(mark_key=mark_key).exists():
                return redirect(reverse("goods:unknown-marks") + f"?assigned={quote(mark_key)}")
        elif action == "unassign":
            result = unassign_mark(mark_key, request.user)
            messages.success(
                request,
                f"Assignment undone: {result.receipts} receipt(s) are unidentified again and the mark no longer "
                "routes to that customer. SMS already sent are not recalled.",
            )
        elif action == "create":
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
            messages.success(request, f"Created {created.shipping_mark}; {result.receipts} receipt(s) are theirs.")
        elif action == "leave":
            result = leave_mark(mark_key, request.user)
            messages.success(
                request,
                f"Left {result.receipts} receipt(s) unidentified for now: the mark is out of the queue until another "
                "receipt with it arrives (“Marks left for later” lists it).",
            )
        else:
            messages.error(request, "Choose assign, create or leave.")
    except MarkNotQueued:
        messages.error(request, "No unidentified receipt has this mark (any more).")
    except MarkConflict as exc:
        messages.error(request, exc.message)
    except ValidationError as exc:
        messages.error(request, "The customer was not created: " + " ".join(exc.messages))
    return back


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
