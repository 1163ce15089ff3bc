"""Text cells as people mean them: trimmed, inner whitespace collapsed, numeric cells shown as Excel shows them."""

from __future__ import annotations

import unicodedata


def tidy_text(raw: object) -> str:
    """`"  Kofi   Mensah "` → `"Kofi Mensah"`; `None` → `""`; `12.0` (a numeric cell) → `"12"`."""
    if type(raw) is not str:
        if raw is None:
            return ""
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        raw = str(raw)
    if not raw.isascii():
        raw = unicodedata.normalize("NFC", raw)
    # split() with no argument splits on every Unicode whitespace (NBSP included) and drops the ends.
    text = " ".join(raw.split())
    if not text.isprintable():
        # Control and format characters (NUL from a broken export, zero-width spaces, a stray BOM) are invisible in
        # a name and would make two equal-looking values differ; PostgreSQL refuses NUL outright.
        text = " ".join("".join(ch for ch in text if ch.isprintable() or ch == " ").split())
    return text
