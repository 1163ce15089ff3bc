"""What a process that only runs imports (the worker, the CLI) sets up at start, checked in a fresh interpreter: these
settings are process-wide, and the test process must keep its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _python(code: str, **env: str) -> dict:
    clean = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1", "DATABASE_URL": "", **env})
    prelude = "import gc, json, sys, django\ndjango.setup()\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_an_import_process_freezes_what_it_loaded_and_collects_less_often() -> None:
    figures = _python(
        "before = gc.get_threshold()[0]\n"
        "from django.conf import settings\n"
        "from primepre.imports.process import configure_import_process\n"
        "configure_import_process()\n"
        "print(json.dumps({'frozen': gc.get_freeze_count(), 'before': before, 'threshold': gc.get_threshold()[0],\n"
        "                  'wanted': settings.IMPORT_GC_THRESHOLD, 'switch': sys.getswitchinterval()}))\n"
    )
    assert figures["frozen"] > 10_000  # Django and the apps: tens of thousands of objects
    assert figures["threshold"] == figures["wanted"] > figures["before"]
    assert figures["switch"] <= 0.0001


def test_a_process_start_does_not_load_twilio() -> None:
    """Every process checks the SMS backend at start; the twilio package (and requests) loads only to send."""
    for backend in ("twilio", "console"):
        figures = _python("print(json.dumps({'loaded': sorted(m for m in sys.modules if m.startswith('twilio'))}))",
                          SMS_BACKEND=backend)  # fmt: skip
        assert figures["loaded"] == [], backend


def test_the_cli_and_the_worker_do_not_load_the_api_stack() -> None:
    """DRF's serializers pull in requests, yaml and pygments where installed: about 70 ms of every CLI run's start.
    The engine and the CLI's option checks need none of it."""
    figures = _python(
        "import primepre.imports.management.commands.import_customers\n"
        "import primepre.imports.management.commands.import_worker\n"
        "print(json.dumps({'loaded': sorted(m for m in ('rest_framework.serializers', 'rest_framework.parsers',\n"
        "                                               'requests', 'yaml') if m in sys.modules)}))\n"
    )
    assert figures["loaded"] == []
