"""`{% load shipment_tags %}{% consignments_of customer as consignments %}`: the customer's consignments (one per
shipment they have goods in), newest shipment first, each with its cartons, CBM and kg, in one grouped query."""

from __future__ import annotations

from django import template
from django.db.models import Count, Sum

from primepre.customers.models import Customer

from ..models import Consignment

register = template.Library()
SHOWN = 50  # a customer of ten years has a few hundred; the page shows the latest


@register.simple_tag
def consignments_of(customer: Customer) -> list[Consignment]:
    return list(
        Consignment.objects.filter(customer=customer)
        .select_related("shipment")
        .annotate(
            line_count=Count("lines"), cartons=Sum("lines__cartons"), cbm=Sum("lines__cbm"), kg=Sum("lines__weight_kg")
        )
        .order_by("-shipment__created_at", "-shipment_id")[:SHOWN]
    )
