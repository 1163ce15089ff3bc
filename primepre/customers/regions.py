"""Ghana's sixteen regions (ISO 3166-2:GH codes since the 2018 reorganisation) and the spellings staff use for them."""

from __future__ import annotations

from django.db import models

from .marks import mark_key


class Region(models.TextChoices):
    AHAFO = "AF", "Ahafo"
    ASHANTI = "AH", "Ashanti"
    BONO = "BO", "Bono"
    BONO_EAST = "BE", "Bono East"
    CENTRAL = "CP", "Central"
    EASTERN = "EP", "Eastern"
    GREATER_ACCRA = "AA", "Greater Accra"
    NORTH_EAST = "NE", "North East"
    NORTHERN = "NP", "Northern"
    OTI = "OT", "Oti"
    SAVANNAH = "SV", "Savannah"
    UPPER_EAST = "UE", "Upper East"
    UPPER_WEST = "UW", "Upper West"
    VOLTA = "TV", "Volta"
    WESTERN = "WP", "Western"
    WESTERN_NORTH = "WN", "Western North"


# Spellings seen in customer sheets, the regional capitals people write instead of the region, and pre-2018 names
# whose territory is unambiguous. Keys are folded with mark_key, so case, spaces and punctuation do not matter.
_ALIASES: dict[str, str] = {
    "accra": "AA",
    "gar": "AA",
    "gtaccra": "AA",
    "greateraccraregion": "AA",
    "tema": "AA",
    "kumasi": "AH",
    "ashantiregion": "AH",
    "asante": "AH",
    "ashanti": "AH",
    "goaso": "AF",
    "sunyani": "BO",
    "brongahafo": "BO",
    "brong": "BO",
    "techiman": "BE",
    "bonoeast": "BE",
    "capecoast": "CP",
    "centralregion": "CP",
    "koforidua": "EP",
    "easternregion": "EP",
    "nalerigu": "NE",
    "northeast": "NE",
    "northeastern": "NE",
    "tamale": "NP",
    "northernregion": "NP",
    "dambai": "OT",
    "damongo": "SV",
    "bolgatanga": "UE",
    "bolga": "UE",
    "uer": "UE",
    "wa": "UW",
    "uwr": "UW",
    "ho": "TV",
    "voltaregion": "TV",
    "takoradi": "WP",
    "sekonditakoradi": "WP",
    "westernregion": "WP",
    "sefwiwiawso": "WN",
    "westernnorth": "WN",
    "westnorth": "WN",
}


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for region in Region:
        lookup[mark_key(region.value)] = region.value
        lookup[mark_key(f"GH-{region.value}")] = region.value
        lookup[mark_key(region.label)] = region.value
        lookup[mark_key(f"{region.label} region")] = region.value
    lookup.update(_ALIASES)
    return lookup


_LOOKUP = _build_lookup()


def parse_region(raw: object) -> str | None:
    """The region code for a name, code or common spelling (`Greater Accra`, `GH-AA`, `accra`); None if unknown.

    An empty value is the empty string (no region), which is allowed.
    """
    key = mark_key(raw)
    if not key:
        return ""
    return _LOOKUP.get(key)
