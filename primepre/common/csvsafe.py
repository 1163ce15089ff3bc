"""The formula guard for every CSV we write, and its reverse for the files people upload again.

A spreadsheet opening a CSV runs a cell as a formula when it starts with `= + - @` (OWASP "CSV injection"); TAB and
CR at the start are treated the same way by some of them. Which character separates cells depends on the reader's
locale (`,` in Ghana's English Excel, `;` where the decimal mark is a comma, TAB or `|` in other tools), and a quoted
cell such as `"x;=1+1"` is split at the `;` by an Excel whose separator is `;`. So a cell is guarded when one of
`= + - @` comes at its start or right after any of `, ; TAB |` or a line break: the guard is a leading apostrophe,
which makes the whole cell text in every locale. The importer removes it again (`unguard`), so an error file can be
fixed and uploaded as it is.
"""

from __future__ import annotations

import re
from typing import Any

GUARD = "'"
# The characters that start a formula, and those a start can hide behind (a cell boundary in some locale). Spaces
# between the two are allowed: spreadsheets skip them when they split a line.
_RISKY = re.compile(r"(?:^|[,;\t|\r\n])[ ]*[=+\-@]|^[\t\r]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # the cell itself starts a formula (the .xlsx quote prefix)


def needs_guard(text: str) -> bool:
    """True when some spreadsheet, in some separator locale, could read part of this cell as a formula."""
    return _RISKY.search(text) is not None


def guard(value: Any) -> Any:
    """A cell safe to write to CSV: risky text gets the apostrophe; numbers, dates and safe text are unchanged."""
    if isinstance(value, str) and needs_guard(value):
        return GUARD + value
    return value


def unguard(text: str) -> str:
    """Undo `guard`: `'=1+1` → `=1+1`. Only an apostrophe `guard` could have written is removed, so a name that
    really starts with one (`'Nii`) is kept."""
    if text[:1] == GUARD and needs_guard(text[1:]):
        return text[1:]
    return text
