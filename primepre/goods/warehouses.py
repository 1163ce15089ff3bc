"""The China warehouses, from `GOODS_WAREHOUSES` (`GZ:Guangzhou,YW:Yiwu`): a receipt stores the short code."""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

WAREHOUSE_CODE_MAX = 8
_CODE = re.compile(r"^[A-Z0-9]{1,8}$")


@functools.lru_cache(maxsize=8)
def _parse(entries: tuple[str, ...]) -> dict[str, str]:
    result: dict[str, str] = {}
    for entry in entries:
        code, _, name = entry.partition(":")
        code, name = code.strip().upper(), name.strip() or code.strip()
        if not _CODE.match(code):
            raise ImproperlyConfigured(
                f"GOODS_WAREHOUSES entry {entry!r}: the code must be 1 to 8 letters or digits (GZ:Guangzhou)."
            )
        result[code] = name
    if not result:
        raise ImproperlyConfigured("GOODS_WAREHOUSES names no warehouse (e.g. GZ:Guangzhou,YW:Yiwu).")
    return result


def warehouses() -> dict[str, str]:
    """Code → name, in the order the setting lists them (the first is the default)."""
    return _parse(tuple(settings.GOODS_WAREHOUSES))


def default_warehouse() -> str:
    return next(iter(warehouses()))


def warehouse_name(code: str) -> str:
    return warehouses().get(code, code)
