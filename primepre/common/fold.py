"""The fold that makes two spellings of one label compare equal: shipping marks (`PM4 KOFI`, `pm4-kofi`, `PM4KOFI`)
and spreadsheet headers (`Shipping Mark`, `SHIPPING_MARK`, `shipping-mark`) alike.

`fold_key` keeps only letters and digits, case-folded, without accents and in Unicode compatibility form (full-width
letters fold to ASCII). It lives here because the import engine folds headers with it and the customers app folds
marks with it; neither should import the other for it (customers.marks names it `mark_key`).
"""

from __future__ import annotations

import re
import unicodedata

_NOT_ASCII_ALNUM = re.compile(r"[^0-9a-z]+")


def fold_key(value: object) -> str:
    """The comparison key of a label: only its letters and digits, case-folded and without accents.

    Idempotent (`fold_key(fold_key(v)) == fold_key(v)`) and total: any value gives a string, possibly empty.
    """
    if type(value) is str and value.isascii():
        # For ASCII, NFKC/NFKD change nothing and casefold is lower(): only the separators need removing.
        return _NOT_ASCII_ALNUM.sub("", value.lower())
    return fold_key_unicode(value)


def fold_key_unicode(value: object) -> str:
    """The general path of `fold_key` (any value, any script); the ASCII fast path is tested against it."""
    if value is None:
        return ""
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a value whose __str__ fails has no key
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    # NFKD splits accented letters into base + combining mark; dropping the marks folds `é` to `e`.
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch)[0] in "LN")
    # Recompose and fold once more so the key is a fixed point (casefold/NFKC can expand characters).
    return unicodedata.normalize("NFKC", kept).casefold()
