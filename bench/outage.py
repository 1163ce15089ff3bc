"""Issue #23's outage probe: poison spreadsheets against the real one-service stack (`bin/start`: gunicorn with the
uvicorn worker + the import worker), with /healthz polled every 100 ms. Prints the longest outage (it must be 0),
every probe that failed, what became of each job, and how often the worker had to be started again.

    .venv/bin/python bench/outage.py [--copies 3] [--isolation on|off] [--timeout 180] [--keep]

Loopback only: a fresh SQLite database, media and logs in a temporary folder, 512 MB sizing (one web worker). The
files, uploaded through the API as a Staff user would:
  far.ods   834 bytes whose one value sits at row 5,003, column 16,001 (tests/sheets.write_far_ods)
  sst.xlsx  a small sheet whose sharedStrings.xml holds 8,000,000 strings (about 850 MB unpacked, 3 MB zipped)
each once, then `--copies` more of both queued at once. `--isolation off` runs the imports inside the worker process
(IMPORT_ISOLATION=0), to compare: the worker may die, and bin/start must start it again while the site stays up.
Nothing is asserted (tests/test_production.py does that); the figures are printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import python_bin  # noqa: E402 - bench/ is not a package

from tests.sheets import write_far_ods  # noqa: E402

SHARED_STRINGS = 8_000_000
POLL_SECONDS = 0.1


def write_shared_strings_bomb(path: Path, count: int = SHARED_STRINGS) -> Path:
    """A one-row sheet whose shared-strings part holds `count` strings of about 100 bytes: small zipped, each string
    an allocation for a reader that loads the part whole."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    item = b"<si><t>" + b"x" * 92 + b"</t></si>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook {ns} xmlns:r="{rel}"><sheets><sheet name="Customers" sheetId="1" r:id="rId1"/></sheets>'
            "</workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<worksheet {ns}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>',
        )
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<sst {ns} count="{count}" uniqueCount="{count}">'.encode())
            block = item * 10_000
            for _ in range(count // 10_000):
                part.write(block)
            part.write(b"</sst>")
    return path


# --- the stack ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_env(workdir: Path, port: int, isolation: bool) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "WEB_", "GUNICORN_"))}
    return keep | {
        "DATABASE_URL": f"sqlite:///{workdir / 'outage.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "MEDIA_ROOT": str(workdir / "media"),
        "VAR_DIR": str(workdir / "var"),
        "STATIC_ROOT": str(workdir / "static"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SMS_BACKEND": "locmem",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_MEMORY_BUDGET_MB": "512",
        "IMPORT_ISOLATION": "1" if isolation else "0",
    }


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our interpreter and manage.py
        [python_bin(), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def staff_token(env: dict[str, str]) -> str:
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from primepre.accounts.tokens import issue_token\n"
        "u = get_user_model().objects.create_superuser(username='outage', password=None)\n"
        "print('TOKEN=' + issue_token(u)[1])\n"
    )
    found = re.search(r"^TOKEN=(\w+)$", manage(env, "shell", "-c", code), re.MULTILINE)
    if not found:
        raise SystemExit("no token printed")
    return found.group(1)


def call(port: int, method: str, path: str, token: str = "", body: bytes = b"", ctype: str = "") -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}"} if token else {}
    if ctype:
        headers["Content-Type"] = ctype
    try:
        conn.request(method, path, body or None, headers)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data[:1] in (b"{", b"[") else data
    finally:
        conn.close()


def upload(port: int, token: str, path: Path) -> int:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + path.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, payload = call(port, "POST", "/api/v1/imports/", token, body, f"multipart/form-data; boundary={boundary}")
    if status != 202:
        raise SystemExit(f"upload of {path.name}: HTTP {status} {payload}")
    return int(payload["id"])


# --- polling -----------------------------------------------------------------------------------------------------


class Poller(threading.Thread):
    """GET /healthz every POLL_SECONDS (1 s timeout each); records (seconds since start, answered 200)."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.results, self.stopped, self.t0 = port, [], threading.Event(), time.monotonic()

    def run(self) -> None:
        while not self.stopped.is_set():
            started = time.monotonic()
            try:
                ok = call(self.port, "GET", "/healthz")[0] == 200
            except OSError:
                ok = False
            self.results.append((started - self.t0, ok))
            self.stopped.wait(max(0.0, POLL_SECONDS - (time.monotonic() - started)))

    def outages(self) -> list[tuple[float, float]]:
        """(start, seconds) of every run of failed probes."""
        runs, since = [], None
        for at, ok in self.results:
            if not ok and since is None:
                since = at
            elif ok and since is not None:
                runs.append((since, at - since))
                since = None
        if since is not None:
            runs.append((since, self.results[-1][0] - since + POLL_SECONDS))
        return runs


def wait_jobs(port: int, token: str, ids: list[int], timeout: float) -> dict[int, Any]:
    deadline, states = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        for job_id in ids:
            try:
                status, payload = call(port, "GET", f"/api/v1/imports/{job_id}/", token)
            except OSError:
                continue  # the site is down: the poller counts it
            if status == 200:
                states[job_id] = payload
        if len(states) == len(ids) and all(s["status"] not in ("queued", "running") for s in states.values()):
            break
        time.sleep(0.5)
    return states


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=3, help="more copies of both files, queued at once")
    parser.add_argument("--isolation", choices=("on", "off"), default="on")
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="primepre-outage-"))
    port = free_port()
    env = stack_env(workdir, port, args.isolation == "on")
    files = [write_far_ods(workdir / "far.ods"), write_shared_strings_bomb(workdir / "sst.xlsx")]
    print(f"files: {', '.join(f'{p.name} {p.stat().st_size:,} B' for p in files)}; isolation {args.isolation}")
    manage(env, "migrate", "--noinput", "-v0")
    token = staff_token(env)
    log_path = workdir / "stack.log"
    with open(log_path, "wb") as log:
        stack = subprocess.Popen(  # noqa: S603 - the project's own start script
            [str(ROOT / "bin" / "start")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        run(stack, port, token, files, args, log_path)
    finally:
        stack.terminate()
        try:
            stack.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, 9)
        if args.keep:
            print(f"kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(stack: subprocess.Popen, port: int, token: str, files: list[Path], args: Any, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while call_ok(port) is False:
        if stack.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the stack did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    poller = Poller(port)
    poller.start()
    ids = [upload(port, token, path) for path in files]
    time.sleep(1)
    ids += [upload(port, token, path) for _ in range(args.copies) for path in files]
    states = wait_jobs(port, token, ids, args.timeout)
    time.sleep(3)  # a worker started again after the last job: is the site still up?
    poller.stopped.set()
    poller.join()
    report(poller, states, ids, log_path.read_text(errors="replace"))


def call_ok(port: int) -> bool:
    try:
        return call(port, "GET", "/readyz")[0] == 200
    except OSError:
        return False


def report(poller: Poller, states: dict[int, Any], ids: list[int], log: str) -> None:
    outages = poller.outages()
    failed = sum(1 for _, ok in poller.results if not ok)
    print(f"/healthz: {len(poller.results)} probes every {POLL_SECONDS:g} s, {failed} failed")
    for start, seconds in outages:
        print(f"  down from {start:6.1f} s for {seconds:.1f} s")
    print(f"longest outage: {max((s for _, s in outages), default=0.0):.1f} s")
    print(
        f"worker started again: {log.count('[START-WORKER-EXIT]')} times; import children that died: "
        f"{log.count('[IMPORT-CHILD-DIED]')}"
    )
    for job_id in ids:
        state = states.get(job_id) or {}
        error = state.get("error") or {}
        print(f"  job {job_id:3} {state.get('file_name', '?'):10} {state.get('status', '?'):9} {error.get('code', '')}")


if __name__ == "__main__":
    main()
