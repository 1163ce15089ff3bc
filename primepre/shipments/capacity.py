"""How full a shipment is, by CBM and by kg, against its equipment's usable and nominal volume and its payload.

Over the usable volume is a warning (cartons may still fit); over the nominal volume or the payload is refused
unless someone with `shipments.close_shipment` overrides it with a reason (recorded). Whichever of volume and weight
binds first is named: mixed China–Ghana goods almost always fill by volume first; tiles and machinery by weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from .equipment import equipment
from .models import Shipment, ShipmentLine

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class Fill:
    cartons: int
    cbm: Decimal
    kg: Decimal
    usable_cbm: Decimal | None
    nominal_cbm: Decimal | None
    payload_kg: Decimal | None

    def _share(self, value: Decimal, of: Decimal | None) -> Decimal | None:
        return None if not of else (100 * value / of).quantize(Decimal("0.1"))

    @property
    def cbm_percent(self) -> Decimal | None:
        """Of the usable volume: what a loader aims at."""
        return self._share(self.cbm, self.usable_cbm)

    @property
    def kg_percent(self) -> Decimal | None:
        return self._share(self.kg, self.payload_kg)

    @property
    def binding(self) -> str:
        """ "volume" or "weight": whichever is nearer its limit ("" for an air batch, which has none)."""
        if self.cbm_percent is None or self.kg_percent is None:
            return ""
        return "weight" if self.kg_percent > self.cbm_percent else "volume"

    @property
    def over_usable(self) -> bool:
        return self.usable_cbm is not None and self.cbm > self.usable_cbm

    def beyond_limits(self) -> list[str]:
        """What a hard limit this fill passes, in words (empty: within them)."""
        beyond = []
        if self.nominal_cbm is not None and self.cbm > self.nominal_cbm:
            beyond.append(f"{self.cbm} CBM is more than the box's {self.nominal_cbm} CBM")
        if self.payload_kg is not None and self.kg > self.payload_kg:
            beyond.append(f"{self.kg} kg is more than its {self.payload_kg} kg payload")
        return beyond

    def plus(self, cartons: int, cbm: Decimal, kg: Decimal | None) -> Fill:
        return Fill(
            self.cartons + cartons, self.cbm + cbm, self.kg + (kg or ZERO),
            self.usable_cbm, self.nominal_cbm, self.payload_kg,
        )  # fmt: skip


def fill_of(shipment: Shipment) -> Fill:
    """The shipment's lines summed (one aggregate query) against its equipment."""
    totals = ShipmentLine.objects.filter(shipment=shipment).aggregate(
        cartons=Sum("cartons"), cbm=Sum("cbm"), kg=Sum("weight_kg")
    )
    box = equipment(shipment.equipment)
    cbm = Decimal(totals["cbm"] or ZERO).quantize(Decimal("0.001"))  # SQLite's SUM drops the places
    kg = Decimal(totals["kg"] or ZERO).quantize(Decimal("0.01"))
    return Fill(totals["cartons"] or 0, cbm, kg, box.usable_cbm, box.nominal_cbm, box.payload_kg)
