"""`cell_text`'s inline path for plain ASCII cells gives exactly what its general path (`tidy_text` + the formula
guard) gives."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from primepre.common.csvsafe import unguard
from primepre.customers.import_schema import cell_text
from primepre.customers.text import tidy_text


def _reference(raw: object) -> str:
    text = tidy_text(raw)
    if text[:1] == "'" and isinstance(raw, str):
        text = tidy_text(unguard(raw.strip()))
    return text


ASCII_CELLS = st.text(alphabet=st.characters(max_codepoint=127), max_size=30)
TRICKY = st.sampled_from(["", " ", "'", "'=1+1", "  'x", "a\tb", "a\x00b", "\x7f", "O'Brien", " '@SUM(A1)", "\r\n"])


@settings(max_examples=3000, deadline=None)
@given(st.one_of(ASCII_CELLS, TRICKY, st.text(max_size=20), st.integers(), st.floats(allow_nan=False), st.none()))
def test_the_inline_path_is_tidy_text(raw: object) -> None:
    assert cell_text(raw) == _reference(raw)
