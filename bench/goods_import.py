"""The goods-received import (issue #16: "a 10,000-line goods sheet, 5% unknown marks, 2% bad rows, into a database
of 100,000 customers: ≤ 1 s from opening the file to the last commit, memory flat (≤ 120 MB)").

    .venv/bin/python bench/goods_import.py [--lines 10000] [--customers 100000] [--repeat 3]

PostgreSQL on this machine only (BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres; any host
other than loopback is refused). A scratch database `primepre_bench_goods_import` is created, migrated and filled
with the customers, then dropped at the end. The sheet is the warehouse's own template (a title row, an instruction
row, the header), with Excel dates, dimension strings, comma decimals, tracking numbers, misspelt and unknown marks
and bad rows. Each run imports it in its own process (the way the worker runs a job), on a database emptied of
receipts; the process's peak RSS is sampled. Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
DB_NAME = "primepre_bench_goods_import"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HEADER = ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS", "SPECIFICATIONS",
          "CBM", "KG", "SUPPLIER&TRACKING NO"]  # fmt: skip
GOODS = ["shoes", "bags", "phone cases", "lamps", "fabric", "tiles", "spare parts", "toys", "hair extensions"]


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql)


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + "g" * 40, "DEBUG": "0",
            "SMS_BACKEND": "disabled", "DJANGO_SETTINGS_MODULE": "config.settings"}  # fmt: skip


def _django(url: str) -> None:
    os.environ.update(_env(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _fill_customers(count: int) -> None:
    from primepre.customers.models import Customer

    Customer.objects.bulk_create(
        (
            Customer(first_name="Kofi", last_name=f"Mensah{n}", phone=f"+23324{n:07d}", shipping_mark=f"PM{n} KOFI",
                     mark_key=f"pm{n}kofi")
            for n in range(count)
        ),
        batch_size=5000,
    )  # fmt: skip


def _line(n: int, customers: int, rng: random.Random) -> list[object]:
    """One sheet line: 5% unknown or misspelt marks, 2% bad rows (two marks, no cartons, a date that is not one)."""
    day = dt.date(2026, 11, 1) + dt.timedelta(days=n % 28)
    mark = f"PM{rng.randrange(customers)} KOFI"
    roll = rng.random()
    if roll < 0.05:
        mark = f"ZZ{rng.randrange(200)} UNKNOWN" if roll < 0.03 else mark.replace("KOFI", "KOFFI")
    cartons: object = rng.randint(1, 12)
    date: object = day if rng.random() < 0.7 else day.strftime(rng.choice(["%d/%m/%Y", "%Y.%m.%d", "%Y年%m月%d日"]))
    if 0.05 <= roll < 0.07:
        mark, cartons, date = (f"{mark}/PM1 KOFI", cartons, date) if roll < 0.06 else (mark, 0, "soon")
    size = rng.choice([None, "50*40*30", "60x40x35cm", "45×30×30"])
    cbm = "" if size else f"{rng.randint(10, 900) / 1000:.3f}".replace(".", rng.choice([".", ","]))
    tracking = f"SF{n:08d}" if rng.random() < 0.6 else ""
    return [mark, date, "", rng.choice(GOODS), cartons, size or "", cbm, rng.randint(5, 400), tracking]


def write_sheet(path: Path, lines: int, customers: int, seed: int = 16) -> Path:
    import xlsxwriter

    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = workbook.add_worksheet("Goods")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["PRIMEPRE GUANGZHOU WAREHOUSE - GOODS RECEIVED"])
    sheet.write_row(1, 0, ["Column position is critical! Do not move, add or delete columns."])
    sheet.write_row(2, 0, HEADER)
    for n in range(lines):
        for column, value in enumerate(_line(n, customers, rng)):
            if isinstance(value, dt.date):
                sheet.write_datetime(n + 3, column, dt.datetime.combine(value, dt.time()), date_format)
            else:
                sheet.write(n + 3, column, value)
    workbook.close()
    return path


def run_once(path: Path) -> None:
    """In the measured child process: import the sheet as the worker would, print the job's figures as JSON."""
    from primepre.imports.jobs import create_job
    from primepre.imports.process import configure_import_process
    from primepre.imports.services import execute_job, store_file

    configure_import_process()
    job = execute_job(create_job(store_file(path), file_name=path.name, schema="goods"))
    print(json.dumps({"status": job.status, "seconds": job.seconds, **job.counts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    parts = urlsplit(ADMIN_URL)
    url = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    if args.run:
        _django(url)
        run_once(args.run)
        return
    if parts.hostname not in LOOPBACK:
        raise SystemExit(f"BENCH_POSTGRES_URL must point at this machine, not {parts.hostname!r}")
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DB_NAME}")
    try:
        env = _env(url)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        _django(url)
        _fill_customers(args.customers)
        _measure(args, env)
    finally:
        from django.db import connections

        connections.close_all()
        _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def _measure(args: argparse.Namespace, env: dict[str, str]) -> None:
    from django.db import connection
    from run import measure  # bench/run.py: RSS of the process and its children, sampled

    from primepre.goods.models import GoodsReceipt

    with tempfile.TemporaryDirectory(prefix="primepre-goods-bench-") as folder:
        sheet = write_sheet(Path(folder) / "goods.xlsx", args.lines, args.customers)
        env = {**env, "MEDIA_ROOT": folder}
        runs = []
        for _ in range(args.repeat):
            GoodsReceipt.objects.all().delete()
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE goods_goodsreceipt")
            record = measure([sys.executable, str(Path(__file__).resolve()), "--run", str(sheet)], env, timeout=300)
            if "error" in record:
                raise SystemExit(record["error"])
            runs.append(record)
    seconds = [run["summary"]["seconds"] for run in runs]
    peak = max(run["peak_rss_mb"] for run in runs)
    counts = {key: runs[-1]["summary"][key] for key in ("read", "created", "failed")}
    unidentified = GoodsReceipt.objects.filter(customer__isnull=True).count()
    median = statistics.median(seconds)
    print(f"goods import, {args.lines:,} lines into {args.customers:,} customers (PostgreSQL, {args.repeat} runs):")
    print(f"  counts of a run: {counts}; unidentified receipts: {unidentified:,}")
    print(f"  file opened → last commit: median {median:.3f} s (min {min(seconds):.3f}, max {max(seconds):.3f}); "
          f"{args.lines / median:,.0f} lines/s [{'PASS' if median <= 1.0 else 'MISS'} ≤ 1 s]")  # fmt: skip
    print(f"  peak RSS of the importing process: {peak:.0f} MB [{'PASS' if peak <= 120 else 'MISS'} ≤ 120 MB]")


if __name__ == "__main__":
    main()
