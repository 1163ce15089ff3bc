"""`{% load goods_tags %}{% customer_goods customer %}`: the customer's goods on their page, with totals and pending
unknown marks that look like theirs; nothing for a user without `goods.view_goodsreceipt`."""

from __future__ import annotations

from typing import Any

from django import template

from primepre.customers.models import Customer

from ..selectors import CUSTOMER_RECEIPTS_SHOWN, goods_for_customer, pending_marks_like

register = template.Library()


@register.inclusion_tag("goods/_customer_goods.html", takes_context=True)
def customer_goods(context: template.Context, customer: Customer) -> dict[str, Any]:
    user = context.get("user") or getattr(context.get("request"), "user", None)
    if user is None or not user.has_perm("goods.view_goodsreceipt"):
        return {"hidden": True}
    goods = goods_for_customer(customer)
    receipts = list(goods.receipts[: CUSTOMER_RECEIPTS_SHOWN + 1])
    return {
        "customer": customer,
        "goods": goods,
        "receipts": receipts[:CUSTOMER_RECEIPTS_SHOWN],
        "more": len(receipts) > CUSTOMER_RECEIPTS_SHOWN,
        "pending_marks": pending_marks_like(customer),
        "can_resolve": user.has_perm("goods.resolve_marks"),
    }
