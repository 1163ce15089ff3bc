"""Shipping marks: stored as typed, compared by a folded key.

A mark is written by hand on parcels in a warehouse in China and read by staff in Ghana, so `PM4 KOFI`, `pm4-kofi`,
`PM4  Kofi` and `PM4KOFI` are one label. `mark_key` folds everything that does not survive a marker pen: Unicode
compatibility forms (full-width letters), case, accents, whitespace and punctuation.
"""

from __future__ import annotations

import re
import unicodedata

from .text import tidy_text

MARK_MAX_LENGTH = 100
MARK_KEY_MAX_LENGTH = 255
_NOT_ASCII_ALNUM = re.compile(r"[^0-9a-z]+")


def clean_mark(raw: object) -> str:
    """The mark as the user typed it, trimmed, with inner whitespace collapsed to one space."""
    return tidy_text(raw)


def mark_key(mark: object) -> str:
    """The comparison key of a mark: only its letters and digits, case-folded and without accents.

    Idempotent (`mark_key(mark_key(m)) == mark_key(m)`) and total: any value gives a string, possibly empty.
    """
    if type(mark) is str and mark.isascii():
        # For ASCII, NFKC/NFKD change nothing and casefold is lower(): only the separators need removing.
        return _NOT_ASCII_ALNUM.sub("", mark.lower())
    return mark_key_unicode(mark)


def mark_key_unicode(mark: object) -> str:
    """The general path of `mark_key` (any value, any script); the ASCII fast path is tested against it."""
    if mark is None:
        return ""
    try:
        text = str(mark)
    except Exception:  # noqa: BLE001 - a value whose __str__ fails has no key
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    # NFKD splits accented letters into base + combining mark; dropping the marks folds `é` to `e`.
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] in "LN")
    # Recompose and fold once more so the key is a fixed point (casefold/NFKC can expand characters).
    return unicodedata.normalize("NFKC", kept).casefold()
