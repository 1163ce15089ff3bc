"""A value refused by a library exception on the per-row path leaves nothing of its caller behind for the cyclic
collector: during an import the caller's frames hold a whole batch of rows."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable

import pytest

from primepre.common.caught import release
from primepre.customers.import_schema import email_is_valid
from primepre.customers.phones import normalise_phone


class Batch:
    """Stands for what the caller's frame holds."""


def _caller_keeps(check: Callable[[], object]) -> weakref.ref:
    batch = Batch()
    check()
    return weakref.ref(batch)


@pytest.mark.parametrize(
    "check",
    [
        lambda: email_is_valid("not an email"),  # Django's ValidationError lists itself
        lambda: normalise_phone("0000000000"),  # phonenumbers keeps the exception it handles in its frame
    ],
    ids=["email", "phone"],
)
def test_a_refused_value_pins_no_frames(check: Callable[[], object]) -> None:
    gc.collect()
    gc.disable()
    try:
        assert not _caller_keeps(check)()
    finally:
        gc.enable()


def test_release_clears_the_frames_of_the_exception_and_its_context() -> None:
    def inner() -> None:
        try:
            raise KeyError("first")
        except KeyError as first:
            held = first  # the library habit: the handled exception in a local, a cycle through its own frame
            raise ValueError("second") from held

    try:
        inner()
    except ValueError as exc:
        context = exc.__context__
        release(exc)
        assert exc.__traceback__ is None
        assert context is not None and context.__traceback__ is None
