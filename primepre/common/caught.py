"""Exceptions caught on a per-row path, let go of promptly.

A library exception caught for its answer (phonenumbers' "not a number", Django's "not an email") often sits in a
reference cycle: Django's ValidationError lists itself in `error_list`, and phonenumbers keeps the exception it
handles in a local of a frame its traceback holds. A cycle is freed only by the cyclic collector, and until then its
traceback's frames, and through them every caller's frame up the stack, keep their locals: during an import, the
whole batch being cleaned. `release` drops those frames, so only the small exception objects wait for the collector.
"""

from __future__ import annotations

import traceback


def release(exc: BaseException) -> None:
    """Clear the frames `exc` and the exceptions it was raised while handling hold (the running frames cannot be
    cleared and are left alone: they end as usual)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
            current.__traceback__ = None
        current = current.__context__
