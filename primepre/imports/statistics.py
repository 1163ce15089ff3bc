"""The planner's statistics of a table refreshed right after an import that wrote a large share of it.

PostgreSQL plans every list from the table's statistics, which autovacuum refreshes only on its next round (up to
`autovacuum_naptime`, a minute, later; longer while it is busy). Until then a table just filled by an import is
planned as the small table it was: a list filtered by region was read by a whole-table scan and sort instead of
walking the creation-date index to its first page. The rule is autovacuum's own (`50 + 0.1 × rows` changed, its
default thresholds), applied at once, and only to the columns the lists filter and sort on: sampling the whole row
(the search text, the names) costs several times as much and plans nothing. bench/README.md has the figures.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger("primepre.imports")

# autovacuum_analyze_threshold and autovacuum_analyze_scale_factor's defaults.
ANALYZE_THRESHOLD_ROWS = 50
ANALYZE_SCALE_FACTOR = 0.1
# A first estimate, until autovacuum's own round samples at the server's target (100: 30,000 rows): 10 samples 3,000
# rows, enough for a filter's most common values and a date's histogram, at a fifth of the time an import waits.
SAMPLE_STATISTICS_TARGET = 10


def needs_analyze(written: int, rows_before: float) -> bool:
    """Autovacuum's rule for a table of `rows_before` rows (negative: never analysed) after `written` rows changed."""
    if written <= 0:
        return False
    return rows_before < 0 or written > ANALYZE_THRESHOLD_ROWS + ANALYZE_SCALE_FACTOR * rows_before


def refresh_statistics(model: Any, columns: tuple[str, ...], written: int) -> bool:
    """ANALYZE `columns` of `model`'s table when `written` rows are a large enough share of it; True when it ran.

    PostgreSQL only (SQLite plans these lists from its indexes alone). Never raises: statistics are an optimisation,
    and the import they follow has already been recorded."""
    if connection.vendor != "postgresql" or not columns:
        return False
    table = model._meta.db_table
    names = [model._meta.get_field(name).column for name in columns]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
            found = cursor.fetchone()
            if found is None or not needs_analyze(written, float(found[0])):
                return False
            started = time.perf_counter()
            quote = connection.ops.quote_name
            with transaction.atomic():  # SET LOCAL ends with it
                cursor.execute(f"SET LOCAL default_statistics_target = {SAMPLE_STATISTICS_TARGET}")
                cursor.execute(f"ANALYZE {quote(table)} ({', '.join(quote(name) for name in names)})")
    except DatabaseError:
        logger.warning("[IMPORT-ANALYZE-FAIL] table=%s", table, exc_info=True)
        return False
    logger.info(
        "[IMPORT-ANALYZE] table=%s written=%s rows_before=%.0f ms=%.0f",
        table,
        written,
        float(found[0]),
        (time.perf_counter() - started) * 1000,
    )
    return True
