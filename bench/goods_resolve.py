"""How long resolving an unknown mark takes (issue #16: "resolving a mark with 1,000 receipts ≤ 100 ms"), and what
the queue's suggestions cost against a large directory.

    .venv/bin/python bench/goods_resolve.py [--receipts 1000] [--customers 100000] [--repeat 5]

PostgreSQL on this machine only (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres; any host
other than loopback is refused). A scratch database `primepre_bench_goods` is created, migrated, filled (customers,
`--receipts` unidentified receipts with one mark among 20 × as many other receipts) and dropped at the end. Each
repeat times `assign_mark` end to end and its one UPDATE alone, then puts the receipts back. Figures only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "primepre_bench_goods"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_CUSTOMERS, MAX_RECEIPTS = 200_000, 20_000


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _setup_django(url: str) -> None:
    env = {"DATABASE_URL": url, "SECRET_KEY": "bench-" + "g" * 40, "DEBUG": "0", "SMS_BACKEND": "disabled"}
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=os.environ, check=True, timeout=300)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _fill(customers: int, receipts: int) -> None:
    from primepre.customers.models import Customer
    from primepre.goods.models import GoodsReceipt, ReceiptStatus

    batch = [
        Customer(first_name="Kofi", last_name=f"Mensah{n}", phone=f"+23324{n:07d}", shipping_mark=f"PM{n} KOFI",
                 mark_key=f"pm{n}kofi")
        for n in range(customers)
    ]  # fmt: skip
    Customer.objects.bulk_create(batch, batch_size=5000)
    owners = list(Customer.objects.values_list("pk", flat=True)[:1000])
    day = dt.date(2026, 11, 28)

    def receipt(mark: str, customer_id: int | None, n: int) -> GoodsReceipt:
        status = ReceiptStatus.RECEIVED if customer_id else ReceiptStatus.UNIDENTIFIED
        return GoodsReceipt(
            customer_id=customer_id, shipping_mark=mark, mark_key=mark.lower().replace(" ", ""), warehouse="GZ",
            received_on=day - dt.timedelta(days=n % 30), cartons=1 + n % 5, cbm=Decimal("0.250"), status=status,
        )  # fmt: skip

    others = [receipt(f"PM{n % 1000} KOFI", owners[n % len(owners)], n) for n in range(receipts * 10)]
    others += [receipt(f"ZZ{n % 500} UNKNOWN", None, n) for n in range(receipts * 10)]
    GoodsReceipt.objects.bulk_create(others, batch_size=5000)
    GoodsReceipt.objects.bulk_create([receipt("PM4 KOFFI", None, n) for n in range(receipts)], batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(repeat: int, receipts: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from primepre.customers.models import Customer
    from primepre.goods.models import GoodsReceipt, MarkAlias, ReceiptStatus
    from primepre.goods.queue import suggest_customers, unknown_marks
    from primepre.goods.resolve import assign_mark

    customer = Customer.objects.get(mark_key="pm4kofi")
    total, update = [], []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            result = assign_mark("pm4koffi", customer)
            total.append(time.perf_counter() - started)
        assert result.receipts == receipts, result
        update += [float(q["time"]) for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
        MarkAlias.objects.filter(mark_key="pm4koffi").delete()
        GoodsReceipt.objects.filter(mark_key="pm4koffi").update(customer=None, status=ReceiptStatus.UNIDENTIFIED)
    print(f"resolve (assign) {receipts} receipts: median {statistics.median(total) * 1000:.1f} ms end to end "
          f"(min {min(total) * 1000:.1f}, max {max(total) * 1000:.1f}); the one UPDATE: median "
          f"{statistics.median(update) * 1000:.1f} ms; {repeat} runs")  # fmt: skip
    timings = []
    for typed in ["pm4koffi", "pm4k0fi", "pm77kofl", "zz9unknown"]:
        started = time.perf_counter()
        suggest_customers(typed)
        timings.append(time.perf_counter() - started)
    print(f"suggestions for one mark among {Customer.objects.count():,} customers: median "
          f"{statistics.median(timings) * 1000:.1f} ms (4 marks)")  # fmt: skip
    started = time.perf_counter()
    rows = list(unknown_marks()[:25])
    elapsed = (time.perf_counter() - started) * 1000
    print(f"queue page (25 of {unknown_marks().count()} marks, one grouped query): {elapsed:.1f} ms; "
          f"receipts in the table: {GoodsReceipt.objects.count():,}")  # fmt: skip
    assert rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if urlsplit(ADMIN_URL).hostname not in LOOPBACK:
        raise SystemExit(f"BENCH_POSTGRES_URL must point at this machine ({', '.join(sorted(LOOPBACK))}).")
    if not (1 <= args.receipts <= MAX_RECEIPTS and 1000 <= args.customers <= MAX_CUSTOMERS and 1 <= args.repeat <= 50):
        raise SystemExit(f"--receipts 1..{MAX_RECEIPTS}, --customers 1000..{MAX_CUSTOMERS}, --repeat 1..50")
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DB_NAME}")
    try:
        _setup_django(urlunsplit(urlsplit(ADMIN_URL)._replace(path=f"/{DB_NAME}")))
        started = time.perf_counter()
        _fill(args.customers, args.receipts)
        print(f"filled in {time.perf_counter() - started:.1f} s")
        _measure(args.repeat, args.receipts)
    finally:
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
