"""Fill to capacity: which waiting receipts would go into a shipment, oldest first, until its usable volume (or its
payload, whichever binds first) is reached. A plan only: the waiting goods page shows it and staff confirm it; nothing
here reads or writes the database (the caller passes the candidates, oldest first, as a lazy iterable, so a plan reads
no more receipts than it takes).

The receipt at the edge is loaded in part (as many whole cartons as fit: "25 of 40"), the rest waits for the next
shipment and shows there as carried over; the plan stops there rather than skipping to a smaller, younger receipt,
so the oldest goods always leave first. CBM and kg are each line's pro rata share, rounded as `loading` rounds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CBM_PLACES = Decimal("0.001")
KG_PLACES = Decimal("0.01")
ZERO = Decimal("0")
# One plan is one POST and one transaction; a box of tiny parcels would otherwise plan thousands of lines at once.
MAX_PLAN_LINES = 1000


@dataclass(frozen=True, slots=True)
class Candidate:
    """A receipt that waits: its whole figures and how many of its cartons are not on any list yet."""

    receipt_id: int
    cartons: int
    waiting: int
    cbm: Decimal
    weight_kg: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PlannedLine:
    receipt_id: int
    cartons: int
    waiting: int
    cbm: Decimal
    weight_kg: Decimal | None

    @property
    def partial(self) -> bool:
        """Fewer than all that wait: the rest is carried over to a later shipment."""
        return self.cartons < self.waiting


@dataclass(frozen=True, slots=True)
class Plan:
    lines: tuple[PlannedLine, ...]
    cbm: Decimal
    kg: Decimal
    full: bool  # it stopped because the next carton would not fit (False: the waiting goods ran out first)
    capped: bool  # it stopped at MAX_PLAN_LINES with room and goods left

    @property
    def cartons(self) -> int:
        return sum(line.cartons for line in self.lines)


def share(candidate: Candidate, cartons: int) -> tuple[Decimal, Decimal | None]:
    """`cartons` of a receipt's CBM and kg, pro rata, rounded half up as the loader rounds them."""
    part = Decimal(cartons) / Decimal(candidate.cartons)
    cbm = (candidate.cbm * part).quantize(CBM_PLACES, ROUND_HALF_UP)
    if candidate.weight_kg is None:
        return cbm, None
    return cbm, (candidate.weight_kg * part).quantize(KG_PLACES, ROUND_HALF_UP)


def _fits(candidate: Candidate, cartons: int, room_cbm: Decimal | None, room_kg: Decimal | None) -> bool:
    cbm, kg = share(candidate, cartons)
    return (room_cbm is None or cbm <= room_cbm) and (room_kg is None or (kg or ZERO) <= room_kg)


def cartons_that_fit(candidate: Candidate, room_cbm: Decimal | None, room_kg: Decimal | None) -> int:
    """How many of the waiting cartons fit the room left (None: no limit of that kind): all of them, some, or 0."""
    if _fits(candidate, candidate.waiting, room_cbm, room_kg):
        return candidate.waiting
    estimate = candidate.waiting
    for room, whole in ((room_cbm, candidate.cbm), (room_kg, candidate.weight_kg)):
        if room is not None and whole:  # a carton of this receipt has a size of this kind: it limits
            estimate = min(estimate, int(max(room, ZERO) * candidate.cartons / whole))
    # The estimate ignores rounding: step down while a rounded share still passes the room (a carton or two at most).
    while estimate > 0 and not _fits(candidate, estimate, room_cbm, room_kg):
        estimate -= 1
    return max(estimate, 0)


def plan_fill(
    candidates: Iterable[Candidate],
    room_cbm: Decimal | None,
    room_kg: Decimal | None,
    max_lines: int = MAX_PLAN_LINES,
) -> Plan:
    """Take candidates in the order given (oldest first) while they fit the room left by volume and by weight."""
    lines: list[PlannedLine] = []
    cbm, kg = ZERO, ZERO
    full = capped = False
    for candidate in candidates:
        if candidate.waiting < 1:
            continue
        if len(lines) >= max_lines:
            capped = True
            break
        left_cbm = None if room_cbm is None else room_cbm - cbm
        left_kg = None if room_kg is None else room_kg - kg
        cartons = cartons_that_fit(candidate, left_cbm, left_kg)
        if cartons < 1:
            full = True
            break
        line_cbm, line_kg = share(candidate, cartons)
        lines.append(PlannedLine(candidate.receipt_id, cartons, candidate.waiting, line_cbm, line_kg))
        cbm, kg = cbm + line_cbm, kg + (line_kg or ZERO)
        if cartons < candidate.waiting:
            full = True
            break
    return Plan(tuple(lines), cbm, kg, full, capped)
