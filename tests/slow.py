"""The `slow` marker, put on the tests that start servers, browsers or worker processes, read 100,000+ rows, or take
more than about two seconds: `make test-fast` (`pytest -m "not slow"`) skips them, `make test` runs everything.

Listed here, in one place, rather than in each module, so the list is what a reader checks when the fast run gets
slow (`pytest -m "not slow" --durations=20` names the next candidates). Loaded as a plugin by pyproject.toml's
`addopts`; an entry that names a file or test that no longer exists stops the run, so the list cannot rot quietly.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# path, or path::test (every parametrisation of it), and why it is slow.
SLOW = {
    "tests/browser": "a live server, a worker process and Chromium",
    "tests/test_production.py": "gunicorn and worker processes, as production starts them",
    "tests/test_slow_clients.py": "the real server under slow clients and open streams, seconds of traffic",
    "tests/test_client_address.py": "two real servers, sign-in failures with forged headers",
    "tests/test_connection_limits.py": "real servers under a thousand idle connections",
    "tests/imports/test_worker.py": "worker processes, one killed mid-job on a 120,000-row file",
    "tests/imports/test_http_end_to_end.py": "a live server and a worker process, a 7,000-row file over HTTP",
    "tests/imports/test_xlsx_stream.py::test_hundred_thousand_rows_match_calamine": "100,000 rows, read twice",
    "tests/imports/test_xlsx_stream.py::test_memory_stays_flat_with_a_million_unique_shared_strings": (
        "1,000,000 shared strings"
    ),
    "tests/imports/test_schema.py::test_email_is_valid_is_djangos_validate_email": "a property test, seconds long",
    "tests/test_api_schema.py::test_the_server_answers_as_its_schema_says": "schemathesis, every operation and phase",
    "tests/customers/test_phones.py::test_fast_path_agrees_with_the_full_parse": "a property test, seconds long",
    "tests/customers/test_phones.py::test_precompiled_validity_is_phonenumbers_is_valid_number": (
        "a property test, 4,000 examples, seconds long"
    ),
}


def _missing(entry: str) -> bool:
    path, _, test = entry.partition("::")
    target = ROOT / path
    if not target.exists():
        return True
    return bool(test) and re.search(rf"^\s*def {re.escape(test)}\(", target.read_text(), re.MULTILINE) is None


def pytest_configure(config: pytest.Config) -> None:
    stale = [entry for entry in SLOW if _missing(entry)]
    if stale:
        raise pytest.UsageError(f"tests/slow.py lists tests that do not exist (moved or renamed?): {stale}")


def _is_slow(nodeid: str) -> bool:
    base = nodeid.split("[", 1)[0]
    return any(base == entry or base.startswith((f"{entry}/", f"{entry}::")) for entry in SLOW)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _is_slow(item.nodeid):
            item.add_marker(pytest.mark.slow)
