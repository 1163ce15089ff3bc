"""Settings come from the environment and default to safe production values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "SECRET_KEY": "prod-" + "k3y-Zq9!" * 8,
    "ALLOWED_HOSTS": "primepre.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://primepre.example.com",
}


def _manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_secret_key_is_required_when_debug_is_off(tmp_path: Path) -> None:
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != "SECRET_KEY"}
    result = _manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_is_off_unless_asked_for(tmp_path: Path) -> None:
    script = "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
    off = _manage("shell", "-v", "0", "-c", script, env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert off.stdout.split() == ["False", "True"], off.stderr
    on = _manage("shell", "-v", "0", "-c", script, env={"DEBUG": "1"}, tmp_path=tmp_path)
    assert on.stdout.split() == ["True", "False"], on.stderr
    assert (tmp_path / "dev_secret_key").exists()  # a DEBUG run keeps its own key, never a shared default


def test_a_malformed_boolean_is_an_error_not_a_guess(tmp_path: Path) -> None:
    result = _manage("check", env={**PRODUCTION_ENV, "DEBUG": "maybe"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_no_missing_migrations(tmp_path: Path) -> None:
    result = _manage("makemigrations", "--check", "--dry-run", env=PRODUCTION_ENV, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
