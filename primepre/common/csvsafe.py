"""The formula guard for every CSV we write, and its reverse for the files people upload again.

A spreadsheet opening a CSV runs a cell as a formula when it starts with `= + - @` (OWASP "CSV injection"); TAB and
CR at the start are treated the same way by some of them. Which character separates cells depends on the reader's
locale (`,` in Ghana's English Excel, `;` where the decimal mark is a comma, TAB or `|` in other tools). We write `,`
and quote what needs it, but a quote protects a cell only in the locale the file was written for: an Excel set to `;`
honours a quote only at the start of one of ITS fields, so `…,"x;=cmd|' /C calc'!A0;y",…` is split at the `;` and
`=cmd|…` is a field of its own. So:

- a cell gets a leading apostrophe when one of `= + - @` comes at its start or right after any of `, ; TAB |` or a
  line break (spaces between allowed: spreadsheets skip them), which makes the cell text in every locale;
- and inside the cell, every `; TAB | CR LF` followed by a formula start (spaces or quotes between allowed) gets an
  apostrophe right after it (`x;'=cmd|…`), so the field a `;`, TAB or `|` reader starts there is text too (`,` needs
  none: cells holding one are quoted, and a `,` splits only in the `,` locale, which honours our quotes).

The importer removes both again (`unguard`), so an error file can be fixed and uploaded as it is. As at the start of
a cell, an apostrophe that was already in the text in such a place (`x;'=1`) is read as a guard and dropped.
"""

from __future__ import annotations

import re
from typing import Any

GUARD = "'"
# The characters that start a formula, and those a start can hide behind (a cell boundary in some locale). Spaces
# between the two are allowed: spreadsheets skip them when they split a line.
_RISKY = re.compile(r"(?:^|[,;\t|\r\n])[ ]*[=+\-@]|^[\t\r]")
# Inside a cell: a separator of another locale (or a line break) after which a field would start a formula.
_INNER_RISKY = re.compile(r"([;\t|\r\n])(?=[ \"]*[=+\-@])")
_INNER_GUARD = re.compile(r"(?<=[;\t|\r\n])'(?=[ \"]*[=+\-@])")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # the cell itself starts a formula (the .xlsx quote prefix)


def needs_guard(text: str) -> bool:
    """True when some spreadsheet, in some separator locale, could read part of this cell as a formula."""
    return _RISKY.search(text) is not None


def guard(value: Any) -> Any:
    """A cell safe to write to CSV in any separator locale: risky text gets the apostrophe in front, and one after
    each inner separator a formula could start behind; numbers, dates and safe text are unchanged."""
    if not isinstance(value, str):
        return value
    if needs_guard(value):
        value = GUARD + value
    return _INNER_RISKY.sub(r"\1" + GUARD, value)


def unguard(text: str) -> str:
    """Undo `guard`: `'=1+1` → `=1+1`, `'x;'=1` → `x;=1`. Only an apostrophe `guard` could have written is removed, so
    a name that really starts with one (`'Nii`) is kept."""
    if GUARD not in text:
        return text
    text = _INNER_GUARD.sub("", text)
    if text[:1] == GUARD and needs_guard(text[1:]):
        return text[1:]
    return text
