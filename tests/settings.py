"""Test settings: production settings plus the two things a test client needs (plain HTTP, fast hashing)."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-" + "x" * 50)
os.environ.setdefault("DEBUG", "0")

from config.settings import *  # noqa: F403

SECURE_SSL_REDIRECT = False  # the test client speaks plain HTTP
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; real hashing is Django's own tested code
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
}  # the worker tests use the real one
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True  # no collectstatic before tests
SMS_BACKEND = "locmem"
# The fake third kind of sheet (#25): an app that exists only here, importable through every way in.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.fakeschema"]  # noqa: F405
