"""CPU seconds of each stage of an import's Python side, without a database write: reading, cleaning, in-file
dedupe, the insert records and their COPY text, the failing rows' records. Where the throughput issue's time goes.

    .venv/bin/python bench/stages.py bench/out/customers_100000_standard_s1_b0.1.csv [--repeat 3]

Each stage runs `--repeat` times on the previous stage's output; the best (least) process CPU time is printed, so a
busy neighbour moves the figures less than wall time (it still moves them: compare runs made together).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from itertools import chain
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "")


def best(stage: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.process_time()
        result = stage()
        times.append(time.process_time() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    import django

    django.setup()
    from primepre.imports.columns import detect_columns
    from primepre.imports.dedupe import InFileDedupe, KeyIndex
    from primepre.imports.ledger import row_error_records
    from primepre.imports.readers import open_rows
    from primepre.imports.schema import ImportContext, get_schema
    from primepre.imports.writer import Failure

    schema = get_schema("customers")
    context = ImportContext(job_id=1, user_id=None, mode="create", dry_run=False, region="GH")

    def read() -> tuple[Any, list]:
        table = open_rows(args.file)
        mapping, leftovers = detect_columns(table.rows, schema, region="GH")
        return mapping, list(chain(leftovers, table.rows))

    def clean() -> tuple[list, list]:
        good, failed = [], []
        for number, values in rows:
            row, errors = cleaner.clean(number, values)
            if row is None:
                failed.append(Failure(number, values, errors))
            else:
                good.append(row)
        return good, failed

    def dedupe() -> tuple[list, list]:
        index = KeyIndex([key.attr for key in schema.dedupe_keys])
        in_file, failed, kept = InFileDedupe(index, schema.dedupe_keys), list(failures), []
        for start in range(0, len(good), 2000):
            kept += in_file.filter(good[start : start + 2000], failed)
        index.close()
        return kept, failed

    figures = {}
    figures["read"], (mapping, rows) = best(read, args.repeat)
    cleaner = schema.cleaner(mapping.fields, context)
    figures["clean"], (good, failures) = best(clean, args.repeat)
    figures["dedupe"], (good, failures) = best(dedupe, args.repeat)
    writer = schema.writer(context)
    figures["records"], records = best(lambda: writer._records(good, "2026-01-01T00:00:00+00:00"), args.repeat)
    figures["copy text"], _ = best(lambda: writer.inserter.copy_text(records), args.repeat)
    figures["failing rows' records"], _ = best(lambda: row_error_records(1, failures, mapping), args.repeat)
    print(f"{args.file.name}: {len(rows):,} rows, {len(good):,} to insert, {len(failures):,} failing")
    for name, seconds in figures.items():
        print(f"  {name:<22} {seconds:6.3f} s CPU  ({seconds / max(len(rows), 1) * 1e6:5.2f} µs a row)")
    print(f"  {'all':<22} {sum(figures.values()):6.3f} s CPU")


if __name__ == "__main__":
    main()
