"""Text cells as people mean them: trimmed, inner whitespace collapsed, numeric cells shown as Excel shows them."""

from __future__ import annotations

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def tidy_text(raw: object) -> str:
    """`"  Kofi   Mensah "` → `"Kofi Mensah"`; `None` → `""`; `12.0` (a numeric cell) → `"12"`."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = unicodedata.normalize("NFC", str(raw))
    return _WHITESPACE.sub(" ", text).strip()
