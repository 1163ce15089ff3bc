"""`{% load sms_tags %}{% customer_sms customer %}`: the texts sent to a customer, on their page; nothing for a user
without `customers.send_sms` (the outbox is theirs: the same permission as its page)."""

from __future__ import annotations

from typing import Any

from django import template

from primepre.customers.models import Customer

from ..models import SmsMessage

register = template.Library()
CUSTOMER_MESSAGES_SHOWN = 5


@register.inclusion_tag("sms/_customer_sms.html", takes_context=True)
def customer_sms(context: template.Context, customer: Customer) -> dict[str, Any]:
    user = context.get("user") or getattr(context.get("request"), "user", None)
    if user is None or not user.has_perm("customers.send_sms"):
        return {"hidden": True}
    latest = list(
        SmsMessage.objects.filter(customer=customer).order_by("-created_at", "-id")[: CUSTOMER_MESSAGES_SHOWN + 1]
    )
    return {
        "customer": customer,
        "messages_sent": latest[:CUSTOMER_MESSAGES_SHOWN],
        "more": len(latest) > CUSTOMER_MESSAGES_SHOWN,  # then the outbox, filtered to them, lists every one
    }
