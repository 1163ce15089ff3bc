"""Fill to capacity (#26): oldest first until the usable volume or the payload is reached, the receipt at the edge in
part, never past the room; a plan only (no database here)."""

from __future__ import annotations

from decimal import Decimal

from primepre.shipments.planning import Candidate, cartons_that_fit, plan_fill, share


def _candidate(receipt_id: int, cartons: int, cbm: str, kg: str | None = None, waiting: int | None = None) -> Candidate:
    weight = None if kg is None else Decimal(kg)
    return Candidate(receipt_id, cartons, cartons if waiting is None else waiting, Decimal(cbm), weight)


def test_oldest_first_until_the_usable_volume_with_the_edge_receipt_in_part() -> None:
    plan = plan_fill(
        [_candidate(1, 10, "30"), _candidate(2, 10, "30"), _candidate(3, 10, "10"), _candidate(4, 1, "0.1")],
        room_cbm=Decimal("64"),
        room_kg=None,
    )
    assert [(line.receipt_id, line.cartons, line.cbm, line.partial) for line in plan.lines] == [
        (1, 10, Decimal("30.000"), False),
        (2, 10, Decimal("30.000"), False),
        (3, 4, Decimal("4.000"), True),  # 4 of 10 fit; the other 6 are carried over
    ]  # receipt 4 is younger: a plan never skips past the edge to fill gaps with younger goods
    assert (plan.cbm, plan.cartons, plan.full, plan.capped) == (Decimal("64.000"), 24, True, False)


def test_weight_binds_first_for_heavy_goods() -> None:
    tiles = _candidate(1, 100, "5", kg="30000")  # 300 kg a carton, 0.05 CBM
    plan = plan_fill([tiles], room_cbm=Decimal("64"), room_kg=Decimal("26500"))
    assert [(line.cartons, line.weight_kg) for line in plan.lines] == [(88, Decimal("26400.00"))]
    assert plan.full


def test_everything_fits_when_the_goods_run_out_first() -> None:
    plan = plan_fill([_candidate(1, 4, "1.5", waiting=3), _candidate(2, 2, "0.5")], Decimal("64"), Decimal("26500"))
    assert [(line.receipt_id, line.cartons, line.cbm, line.partial) for line in plan.lines] == [
        (1, 3, Decimal("1.125"), False),  # the 3 cartons still waiting of a receipt loaded in part before
        (2, 2, Decimal("0.500"), False),
    ]
    assert not plan.full and not plan.capped


def test_nothing_fits_a_full_box_and_a_plan_stops_at_its_line_limit() -> None:
    assert plan_fill([_candidate(1, 1, "2")], Decimal("1.5"), None).lines == ()
    many = (_candidate(n, 1, "0.01") for n in range(1, 10_000))
    capped = plan_fill(many, Decimal("64"), None, max_lines=5)
    assert (len(capped.lines), capped.capped, capped.full) == (5, True, False)


def test_rounding_never_passes_the_room() -> None:
    odd = _candidate(1, 3, "1")  # a carton is 0.333… CBM; two round to 0.667
    assert share(odd, 2) == (Decimal("0.667"), None)
    assert cartons_that_fit(odd, Decimal("0.666"), None) == 1
    assert cartons_that_fit(odd, Decimal("0.667"), None) == 2
    weightless = _candidate(2, 5, "0")  # no volume: only the payload could limit it
    assert cartons_that_fit(weightless, Decimal("0"), None) == 5
