"""A shipment's life in this issue: created open, closed (its list frozen), reopened with a reason, or cancelled while
empty. The milestones issue adds departed → arrived → … after `closed`.

Every transition locks the shipment row (SELECT … FOR UPDATE) and changes it with ONE conditional UPDATE whose filter
is the state it starts from, in one transaction with its audit record. Loading (`loading.py`) locks the same row, so a
close and a load of the same shipment never interleave: a load that comes second finds it closed (409); a close that
comes second counts the loaded line. An illegal transition is `ShipmentRefused` (409) naming the current state.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from .equipment import equipment
from .errors import ShipmentRefused
from .iso6346 import ContainerNumberError, clean_container_number
from .models import Mode, Shipment, ShipmentAction, ShipmentChange, ShipmentStatus

REFERENCE_ATTEMPTS = 5


def reference_prefix(origin: str, mode: str, year: int) -> str:
    return f"{origin}-{mode.upper()}-{year}-"


def _next_reference(origin: str, mode: str, year: int) -> str:
    prefix = reference_prefix(origin, mode, year)
    taken = Shipment.objects.filter(reference__startswith=prefix).values_list("reference", flat=True)
    numbers = [int(ref[len(prefix) :]) for ref in taken if ref[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


def create_shipment(user: Any, *, mode: str, equipment_code: str, origin_warehouse: str, **fields: Any) -> Shipment:
    """A new open shipment with the next reference of its origin, mode and year (`GZ-SEA-2026-041`). Two created at
    once may pick the same number: the unique reference refuses the second, which takes the next one."""
    if equipment(equipment_code).mode != mode:
        raise ShipmentRefused("equipment_mode", f"{equipment_code} is not {mode} equipment.", status=400)
    if fields.get("container_number"):
        fields["container_number"] = _container_number(fields["container_number"])
    year = timezone.localdate().year
    for _ in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                shipment = Shipment.objects.create(
                    reference=_next_reference(origin_warehouse, mode, year),
                    mode=mode,
                    equipment=equipment_code,
                    origin_warehouse=origin_warehouse,
                    created_by=user,
                    **fields,
                )
                record_change(shipment, ShipmentAction.CREATE, user)
                return shipment
        except IntegrityError:
            continue  # another shipment took that reference: try the next
    raise ShipmentRefused("busy", "Too many shipments were created at once; try again.")


def _container_number(raw: str) -> str:
    try:
        return clean_container_number(raw)
    except ContainerNumberError as exc:
        raise ShipmentRefused(exc.code, exc.message, status=400) from exc


def locked_shipment(shipment_id: int) -> Shipment:
    try:
        return Shipment.objects.select_for_update().get(pk=shipment_id)
    except Shipment.DoesNotExist:
        raise ShipmentRefused("not_found", f"No shipment {shipment_id}.", status=404) from None


def refuse_unless(shipment: Shipment, allowed: str, action: str) -> None:
    if shipment.status != allowed:
        raise ShipmentRefused(
            "wrong_state",
            f"{shipment.reference} is {shipment.get_status_display().lower()}: it cannot be {action}.",
            current=shipment.status,
        )


def _move(shipment: Shipment, start: str, end: str) -> None:
    """The one conditional UPDATE: matches only from `start` (the lock makes it certain; the filter keeps it true)."""
    moved = Shipment.objects.filter(pk=shipment.pk, status=start).update(status=end, updated_at=timezone.now())
    if not moved:  # pragma: no cover - the row lock held since `locked_shipment` makes this unreachable
        raise ShipmentRefused("wrong_state", f"{shipment.reference} changed meanwhile.")
    shipment.status = end


def close_shipment(shipment_id: int, user: Any, *, container_number: str = "", seal_number: str = "") -> Shipment:
    """Open → closed: the loading list is frozen. A sea shipment needs its container number (checked, ISO 6346)."""
    with transaction.atomic():
        shipment = locked_shipment(shipment_id)
        refuse_unless(shipment, ShipmentStatus.OPEN, "closed")
        number = _container_number(container_number) if container_number else shipment.container_number
        if shipment.mode == Mode.AIR and number:
            raise ShipmentRefused("air_has_no_container", "An air batch has no container number.", status=400)
        if shipment.mode == Mode.SEA and not number:
            raise ShipmentRefused("container_required", "Give the container number before closing.", status=400)
        if not shipment.lines.exists():
            raise ShipmentRefused("empty", f"{shipment.reference} has no lines: cancel it instead.")
        Shipment.objects.filter(pk=shipment.pk).update(
            container_number=number, seal_number=seal_number or shipment.seal_number
        )
        _move(shipment, ShipmentStatus.OPEN, ShipmentStatus.CLOSED)
        record_change(shipment, ShipmentAction.CLOSE, user, details={"container_number": number})
    shipment.refresh_from_db()
    return shipment


def reopen_shipment(shipment_id: int, user: Any, reason: str) -> Shipment:
    """Closed → open again, with a reason (recorded). Only before departure (the milestones issue's states)."""
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise ShipmentRefused("reason_required", "Say why the list is reopened.", status=400)
    with transaction.atomic():
        shipment = locked_shipment(shipment_id)
        refuse_unless(shipment, ShipmentStatus.CLOSED, "reopened")
        _move(shipment, ShipmentStatus.CLOSED, ShipmentStatus.OPEN)
        record_change(shipment, ShipmentAction.REOPEN, user, reason=reason)
    return shipment


def cancel_shipment(shipment_id: int, user: Any, reason: str = "") -> Shipment:
    """Open → cancelled, only while it has no lines (unload them first: their cartons go back to waiting)."""
    with transaction.atomic():
        shipment = locked_shipment(shipment_id)
        refuse_unless(shipment, ShipmentStatus.OPEN, "cancelled")
        if shipment.lines.exists():
            raise ShipmentRefused("has_lines", f"{shipment.reference} has lines: unload them before cancelling.")
        _move(shipment, ShipmentStatus.OPEN, ShipmentStatus.CANCELLED)
        record_change(shipment, ShipmentAction.CANCEL, user, reason=" ".join(reason.split())[:500])
    return shipment


def record_change(
    shipment: Shipment, action: str, user: Any, *, reason: str = "", details: dict[str, Any] | None = None
) -> ShipmentChange:
    who = user if getattr(user, "is_authenticated", False) else None
    return ShipmentChange.objects.create(
        shipment=shipment, action=action, reason=reason, details=details or {}, changed_by=who
    )
