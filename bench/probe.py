"""Replays the poison inputs of security issue #11 (items 3, 4 and 6) and prints what each costs now.

    .venv/bin/python bench/probe.py [--timeout 120] [--keep]

Loopback only and bounded: a fresh SQLite database in a temporary folder (as bench/run.py sets one up), the API called
in-process through Django's test client, the files imported by `manage.py import_customers` in a subprocess whose
wall time and peak RSS are measured (RSS sampled every 20 ms with psutil, and the child's own ru_maxrss from wait4),
killed past --timeout. Nothing is asserted: the figures are printed, with the outcome (HTTP status / error code).

  item 3  a 200 KB JSON body nested 100,000 levels, posted to the customers, SMS and imports endpoints
  item 4  the same shape as a file, imported by the CLI; and two spreadsheets whose cells lie far apart (5 KB each)
  item 6  a CSV with 100,000 header cells (about 600 KB), imported by the CLI, then its job's page rendered
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from run import python_bin, sample_process  # noqa: E402 - bench/ is not a package

DEPTH = 100_000
SAMPLE_SECONDS = 0.02


# --- inputs -----------------------------------------------------------------------------------------------------------


def nested_json() -> bytes:
    return b'{"customers":' + b"[" * DEPTH + b"]" * DEPTH + b"}"


def wide_csv(path: Path) -> Path:
    header = ",".join(f"c{i}" for i in range(DEPTH))
    path.write_text(header + "\n" + ",".join("x" for _ in range(DEPTH)) + "\n")
    return path


def far_xlsx(path: Path) -> Path:
    """A header, one row, and one value at XFD20001: calamine alone allocates 20,001 x 16,384 cells for it."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Customers")
    sheet.write_row(0, 0, ["Shipping Mark", "First Name", "Last Name", "Phone"])
    sheet.write_row(1, 0, ["PM4 KOFI", "Kofi", "Mensah", "0241234567"])
    sheet.write(20_000, 16_383, "x")
    workbook.close()
    return path


# --- measuring -------------------------------------------------------------------------------------------------------


def run_cli(path: Path, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """`manage.py import_customers PATH --json` in a subprocess: wall time, peak RSS, exit and the error code."""
    cmd = [python_bin(), "manage.py", "import_customers", str(path), "--json"]
    run = sample_process(cmd, env, timeout, interval=SAMPLE_SECONDS)
    output, code, wall = run.stdout + run.stderr, run.exit_code, run.seconds
    found = re.search(r"\[([a-z_]+)\] \(job (\d+)\)", output)
    outcome = found.group(1) if found else (f"killed by signal {-code}" if code < 0 else f"exit {code}")
    return {
        "seconds": wall,
        "peak_mb": max(run.peak_rss / 2**20, run.maxrss_mb or 0),
        "outcome": outcome,
        "job": int(found.group(2)) if found else None,
    }


def in_process(call: Any) -> tuple[Any, float, float]:
    """Run `call()` here; return its result, the seconds it took and the peak growth of this process's RSS."""
    from primepre.imports.process import rss_bytes

    base, peak = rss_bytes(), [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], rss_bytes() - base)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = call()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    return result, seconds, max(peak[0], rss_bytes() - base) / 2**20


# --- the probe -----------------------------------------------------------------------------------------------


def setup(workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'probe.sqlite3'}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(40),
            "MEDIA_ROOT": str(workdir / "media"),
            "VAR_DIR": str(workdir / "var"),
            "ALLOWED_HOSTS": "testserver",  # Django's test client
            "SECURE_SSL_REDIRECT": "0",
            "SMS_BACKEND": "locmem",
        }
    )
    subprocess.run([python_bin(), "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return env


def probe_api(rows: list[tuple[str, str, float, float]]) -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    user = get_user_model().objects.create_superuser("probe", password=secrets.token_urlsafe(12))
    client = APIClient()
    client.force_authenticate(user)
    body = nested_json()
    client.get("/api/v1/customers/")  # the first request loads the URLconf and the views: not part of the figure
    for url in ("/api/v1/customers/", "/api/v1/sms/send/", "/api/v1/imports/"):
        response, seconds, grown = in_process(
            lambda url=url: client.generic("POST", url, body, content_type="application/json")
        )
        code = (
            response.json().get("code", "")
            if response.headers.get("Content-Type", "").startswith("application/json")
            else ""
        )
        rows.append(
            (
                f"3  nested JSON body ({len(body) // 1000} KB) → POST {url}",
                f"{response.status_code} {code}",
                seconds,
                grown,
            )
        )


def run_job(path: Path) -> Any:
    from primepre.imports.jobs import create_job
    from primepre.imports.services import execute_job, store_file

    return execute_job(create_job(store_file(path), file_name=path.name))


def probe_page(job_id: int | None) -> tuple[str, float, float] | None:
    if job_id is None:
        return None
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="probe"))
    response, seconds, _ = in_process(lambda: client.get(f"/imports/{job_id}/"))
    return f"{response.status_code}, {len(response.content) / 1000:.0f} KB of HTML", seconds, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=120, help="Seconds before a CLI import is killed.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary folder (database, files).")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="primepre-probe-"))
    try:
        env = setup(workdir)
        rows: list[tuple[str, str, float, float]] = []
        probe_api(rows)
        from tests.sheets import write_far_ods  # the same hostile .ods the worker test uses

        nested = workdir / "nested.json"
        nested.write_bytes(nested_json())
        page = None
        for label, path in [
            ("4  nested JSON file (200 KB, 100,000 levels)", nested),
            ("4  .xlsx, one value at XFD20001 (5 KB)", far_xlsx(workdir / "far.xlsx")),
            ("4  .ods, one value at row 5,003 col 16,001 (1 KB)", write_far_ods(workdir / "far.ods")),
            ("6  CSV with 100,000 header cells (600 KB)", wide_csv(workdir / "wide.csv")),
        ]:
            result = run_cli(path, env, args.timeout)
            rows.append((f"{label} → import_customers", result["outcome"], result["seconds"], result["peak_mb"]))
            if not path.name.endswith(".ods"):  # calamine aborts on it under the CLI's limit; this process has none
                job, seconds, grown = in_process(lambda path=path: run_job(path))
                rows.append(
                    ("   the same job in this process (no start-up)", job.error_code or job.status, seconds, grown)
                )
            if label.startswith("6"):
                page = probe_page(result["job"])
        if page is not None:
            rows.append(("6  that job's import page (GET /imports/<id>/)", page[0], page[1], page[2]))
        width = max(len(row[0]) for row in rows)
        print(f"{'probe'.ljust(width)}  {'outcome':<28} {'seconds':>8} {'peak RSS MB':>12}")
        for label, outcome, seconds, peak in rows:
            memory = f"{peak:12.0f}" if peak else f"{'-':>12}"
            print(f"{label.ljust(width)}  {outcome:<28} {seconds:8.3f} {memory}")
        print("In-process rows: RSS growth of this process during the request. CLI rows: the subprocess's peak RSS")
        print("(Django start-up included), under the RLIMIT_DATA the command sets from IMPORT_MAX_RSS_MB.")
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
