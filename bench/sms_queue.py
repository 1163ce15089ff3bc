"""How long queueing welcome SMS takes for a whole import (issue: "7,000 welcomes are queued in seconds").

    .venv/bin/python bench/sms_queue.py [--rows 7000]

Imports a generated file into a fresh SQLite database, then times `queue_welcome_messages` for every created
customer and prints how long the outbox takes to drain at SMS_RATE_PER_SECOND. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=7000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="primepre-sms-bench-") as temp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{temp}/bench.sqlite3",
            "VAR_DIR": temp,
            "MEDIA_ROOT": f"{temp}/media",
            "SECRET_KEY": "bench-" + "s" * 40,
            "DEBUG": "0",
            "SMS_BACKEND": "locmem",
        }
        source = Path(temp) / "customers.csv"
        run = [sys.executable, "bench/generate.py", "--rows", str(args.rows), "--format", "csv", "--out", str(source)]
        subprocess.run(run, cwd=ROOT, env=env, check=True, capture_output=True)  # noqa: S603 - our own scripts
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(  # noqa: S603 - our own manage.py
            [sys.executable, "manage.py", "import_customers", str(source), "--json"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings

        from primepre.customers.models import Customer
        from primepre.sms.services import queue_welcome_messages

        customers = Customer.objects.count()
        started = time.perf_counter()
        queued = queue_welcome_messages(Customer.objects.iterator(chunk_size=2000))
        seconds = time.perf_counter() - started
        print(f"customers created by the import: {customers:,}")
        print(f"welcome SMS queued: {queued:,} in {seconds:.2f} s ({queued / seconds:,.0f}/s)")
        rate = settings.SMS_RATE_PER_SECOND
        print(f"draining at SMS_RATE_PER_SECOND={rate:g}: {queued / rate / 60:.1f} minutes")


if __name__ == "__main__":
    main()
