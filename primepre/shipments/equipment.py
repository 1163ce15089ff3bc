"""Equipment and its capacity: what a container or an air batch holds (`../shared/domain/shipping.md` §4).

Nominal volume is the box's inside; usable volume is what loose cartons fill in practice (about 85% of nominal); the
payload is the most cargo by weight. Where sources differ, the table takes the lower payload. `SHIPMENT_EQUIPMENT`
(settings) may override a figure per code, e.g. `{"40HC": {"usable_cbm": "66"}}`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Equipment:
    code: str
    mode: str  # sea | air
    label: str
    nominal_cbm: Decimal | None  # None: an air batch has no box
    usable_cbm: Decimal | None
    payload_kg: Decimal | None


DEFAULTS = (
    # 33.2 CBM (5.90×2.35×2.39 m), 26 usable (colorcraft), 21,640 kg (all-forward; others say up to 28,030).
    Equipment("20GP", "sea", "20 ft general purpose", Decimal("33.2"), Decimal("26"), Decimal("21640")),
    # 67.7 CBM, 56 usable (colorcraft), 24,000 kg (colorcraft; all-forward says 26,500).
    Equipment("40GP", "sea", "40 ft general purpose", Decimal("67.7"), Decimal("56"), Decimal("24000")),
    # 76.2 CBM (12.03×2.35×2.69 m), about 64 usable, about 26,500 kg (the figures; cnctnr 26,480).
    Equipment("40HC", "sea", "40 ft high cube", Decimal("76.2"), Decimal("64"), Decimal("26500")),
    Equipment("AIR", "air", "Air batch", None, None, None),
)
FIGURES = ("nominal_cbm", "usable_cbm", "payload_kg")


@functools.lru_cache(maxsize=1)
def _table(overrides: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]) -> dict[str, Equipment]:
    table = {item.code: item for item in DEFAULTS}
    for code, figures in overrides:
        if code not in table or any(name not in FIGURES for name, _ in figures):
            raise ImproperlyConfigured(f"SHIPMENT_EQUIPMENT: {code!r} or one of its figures is not known ({FIGURES}).")
        try:
            table[code] = replace(table[code], **{name: Decimal(str(value)) for name, value in figures})
        except ArithmeticError as exc:
            raise ImproperlyConfigured(f"SHIPMENT_EQUIPMENT[{code!r}]: a figure is not a number.") from exc
    return table


def equipment_table() -> dict[str, Equipment]:
    overrides = getattr(settings, "SHIPMENT_EQUIPMENT", {}) or {}
    frozen = tuple(sorted((code, tuple(sorted(figures.items()))) for code, figures in overrides.items()))
    return _table(frozen)


def equipment(code: str) -> Equipment:
    return equipment_table()[code]


EQUIPMENT_CHOICES = [(item.code, item.label) for item in DEFAULTS]
