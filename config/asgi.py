"""The ASGI application the web server runs (config/server.py): Django's ASGI handler behind `RequestGuard`
(config/asgi_handler.py).

Django's ASGI handler reads the whole request body in the event loop before any thread runs the request, so a slow
client costs no thread; each request's middleware and view then run in a thread of their own.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Under ASGI a request's code runs in a thread of its own, so a persistent connection (CONN_MAX_AGE) is never used
# twice: the web process takes PostgreSQL connections from a pool instead (config/settings.py, DB_POOL).
os.environ.setdefault("DB_POOL", "1")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402 - after django.setup()

from config.asgi_handler import Handler, RequestGuard  # noqa: E402

application = RequestGuard(Handler(max_active=settings.WEB_MAX_ACTIVE_REQUESTS))
