"""Shipping marks: stored as typed, compared by a folded key.

A mark is written by hand on parcels in a warehouse in China and read by staff in Ghana, so `PM4 KOFI`, `pm4-kofi`,
`PM4  Kofi` and `PM4KOFI` are one label. `mark_key` folds everything that does not survive a marker pen: Unicode
compatibility forms (full-width letters), case, accents, whitespace and punctuation.
"""

from __future__ import annotations

from primepre.common.fold import fold_key, fold_key_unicode

from .text import tidy_text

MARK_MAX_LENGTH = 100
MARK_KEY_MAX_LENGTH = 255
# A mark's comparison key is the common fold (primepre/common/fold.py): what does not survive a marker pen goes.
mark_key = fold_key
mark_key_unicode = fold_key_unicode


def clean_mark(raw: object) -> str:
    """The mark as the user typed it, trimmed, with inner whitespace collapsed to one space."""
    return tidy_text(raw)
