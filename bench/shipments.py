"""Consolidation figures (issue #26): a 40HC with 2,000 lines for 300 customers on PostgreSQL.

    .venv/bin/python bench/shipments.py [--lines 2000] [--customers 300] [--repeat 3]

Measures, each on a fresh shipment over the same waiting receipts: loading 500 receipts in one action
(`load_receipts`, one transaction), the loading-list import of a 2,000-line sheet (the `loading_list` schema,
found by tracking number, in this process as the CLI runs it), and, when the API helper's export exists, the
loading-list .xlsx of the full container. A scratch database `primepre_bench_shipments` is created, migrated and
dropped (BENCH_POSTGRES_URL, loopback only). Figures only, never assertions; medians of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from goods_import import ADMIN_URL, LOOPBACK, ROOT, _admin, _django, _env

DB_NAME = "primepre_bench_shipments"


def _fill(customers: int, lines: int) -> list[int]:
    from primepre.customers.models import Customer
    from primepre.goods.models import GoodsReceipt, ReceiptStatus

    people = Customer.objects.bulk_create(
        Customer(first_name="Ama", last_name=f"Owusu{n}", phone=f"+23320{n:07d}", shipping_mark=f"PM{n} AMA",
                 mark_key=f"pm{n}ama")
        for n in range(customers)
    )  # fmt: skip
    day = dt.date(2026, 11, 1)
    receipts = GoodsReceipt.objects.bulk_create(
        GoodsReceipt(customer=people[n % customers], shipping_mark=people[n % customers].shipping_mark,
                     mark_key=people[n % customers].mark_key, warehouse="GZ", received_on=day, description="shoes",
                     cartons=4, cbm=Decimal("0.030"), weight_kg=Decimal("12.00"), tracking_number=f"SF{n:06d}",
                     tracking_key=f"sf{n:06d}", status=ReceiptStatus.RECEIVED)
        for n in range(lines)
    )  # fmt: skip
    return [receipt.pk for receipt in receipts]


def _reset() -> None:
    """Every receipt waiting again, no shipment: the next run starts from the same state."""
    from primepre.goods.models import GoodsReceipt
    from primepre.shipments.models import Consignment, Shipment, ShipmentChange, ShipmentLine

    ShipmentLine.objects.all().delete()
    Consignment.objects.all().delete()
    ShipmentChange.objects.all().delete()
    Shipment.objects.all().delete()
    GoodsReceipt.objects.update(cartons_loaded=0)


def _box() -> int:
    from primepre.shipments.lifecycle import create_shipment

    return create_shipment(None, mode="sea", equipment_code="40HC", origin_warehouse="GZ").pk


def _load_500(receipts: list[int]) -> float:
    from django.db import transaction

    from primepre.shipments.loading import load_receipts

    box = _box()
    started = time.perf_counter()
    with transaction.atomic():
        load_receipts(box, [(receipt, None) for receipt in receipts[:500]], None)
    return time.perf_counter() - started


def _import_list(lines: int, folder: Path) -> float:
    from primepre.imports.jobs import create_job
    from primepre.imports.services import execute_job, store_file
    from primepre.shipments.models import Shipment

    box = Shipment.objects.get(pk=_box())
    path = folder / "loading-list.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Shipping Mark", "Description", "CTNS", "CBM", "Tracking Number"])
        writer.writerows([f"PM{n % 300} AMA", "shoes", 4, "0.030", f"SF{n:06d}"] for n in range(lines))
    started = time.perf_counter()
    job = execute_job(create_job(store_file(path), file_name=path.name, schema="loading_list",
                                 options={"shipment": box.reference}))  # fmt: skip
    elapsed = time.perf_counter() - started
    assert (job.created, job.failed) == (lines, 0), (job.status, job.created, job.failed, job.error_message)
    return elapsed


def _export() -> float | None:
    try:
        from primepre.shipments import export
    except ImportError:
        return None
    from primepre.shipments.models import Shipment

    builder = getattr(export, "write_xlsx", None) or getattr(export, "loading_list_xlsx", None)
    if builder is None:
        return None
    shipment = Shipment.objects.order_by("-pk").first()
    started = time.perf_counter()
    builder(shipment) if builder.__code__.co_argcount == 1 else builder(shipment, tempfile.TemporaryFile())
    return time.perf_counter() - started


def _measure(args: argparse.Namespace) -> None:
    receipts = _fill(args.customers, args.lines)
    figures: dict[str, list[float]] = {"load 500 receipts (s)": [], f"import {args.lines}-line list (s)": [],
                                       f"export {args.lines}-line xlsx (s)": []}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            _reset()
            figures["load 500 receipts (s)"].append(_load_500(receipts))
            _reset()
            figures[f"import {args.lines}-line list (s)"].append(_import_list(args.lines, Path(folder)))
            exported = _export()
            if exported is not None:
                figures[f"export {args.lines}-line xlsx (s)"].append(exported)
    for name, values in figures.items():
        shown = f"{statistics.median(values):.3f} (runs: {', '.join(f'{v:.3f}' for v in values)})" if values else "-"
        print(f"{name:32} {shown}")
    print(f"{'peak RSS of this process (MB)':32} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    parts = urlsplit(ADMIN_URL)
    if parts.hostname not in LOOPBACK:
        raise SystemExit(f"BENCH_POSTGRES_URL must point at this machine, not {parts.hostname!r}")
    url = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DB_NAME}")
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_env(url), check=True, timeout=300
        )
        _django(url)
        _measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
