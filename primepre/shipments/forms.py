"""The shipments list's "New shipment" form. The rules (reference, equipment of the mode) are `lifecycle`'s; the form
says a mismatch at its field before the refusal would."""

from __future__ import annotations

from typing import Any

from django import forms

from primepre.goods.warehouses import warehouses

from .equipment import EQUIPMENT_CHOICES, equipment
from .models import Mode


def _warehouse_choices() -> list[tuple[str, str]]:
    return [(code, f"{name} ({code})") for code, name in warehouses().items()]


class NewShipmentForm(forms.Form):
    mode = forms.ChoiceField(choices=Mode.choices, initial=Mode.SEA)
    equipment = forms.ChoiceField(choices=EQUIPMENT_CHOICES, initial="40HC")
    origin_warehouse = forms.ChoiceField(label="Origin warehouse", choices=_warehouse_choices)
    etd = forms.DateField(
        label="ETD (planned departure)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    eta = forms.DateField(label="ETA (planned arrival)", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        mode, code = data.get("mode"), data.get("equipment")
        if mode and code and equipment(code).mode != mode:
            fitting = "a sea container" if mode == Mode.SEA else "Air batch"
            self.add_error("equipment", f"{code} is not {Mode(mode).label.lower()} equipment: choose {fitting}.")
        etd, eta = data.get("etd"), data.get("eta")
        if etd and eta and eta < etd:
            self.add_error("eta", "The planned arrival is before the planned departure.")
        return data
