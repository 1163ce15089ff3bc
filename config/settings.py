"""PrimePre settings: one module, every deploy-specific value read from the environment.

Defaults are the safe production ones (DEBUG off, secure cookies, HSTS); `make run` asks for DEBUG explicitly.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    """SECRET_KEY comes from the environment; only a DEBUG run may fall back to a per-checkout key under var/."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set in the environment when DEBUG is off.")
    key_file = VAR_DIR / "dev_secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_CREDENTIALS = True
CORS_EXPOSE_HEADERS = ["Location", "X-Request-ID"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # counts with thousands separators on every page
    "corsheaders",
    "rest_framework",
    "knox",
    "axes",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "primepre.accounts",
    "primepre.customers",
    "primepre.imports",
    "primepre.sms",
    "primepre.goods",
    "primepre.shipments",
    "primepre.web",
]

MIDDLEWARE = [
    "config.log.RequestIdMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy (CONTENT_SECURITY_POLICY below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the whole multipart body: an upload over the limit is refused unread.
    "config.middleware.UploadLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.NoStoreMiddleware",  # Cache-Control: no-store for authenticated users
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as axes asks: it turns a sign-in axes refused into the 429 lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"  # what the web server runs (config/server.py, config/gunicorn.py)
WSGI_APPLICATION = "config.wsgi.application"

# The web server (config/asgi.py): requests whose Django code runs at once (the others wait their turn in the event
# loop, which costs them nothing but time; on 2 cores, 2, 4 and 8 gave the same latency in `make bench-prod`, and 4
# leaves room for a slow upload or export), and how slowly a request body may arrive: REQUEST_BODY_MIN_RATE bytes a
# second on average after a grace of REQUEST_BODY_TIMEOUT_SECONDS, else 408 (a 1 byte/s client is cut after the
# grace; a 50 MB upload at 1 Mbit/s passes).
WEB_MAX_ACTIVE_REQUESTS = env_int("WEB_MAX_ACTIVE_REQUESTS", 4)
REQUEST_BODY_TIMEOUT_SECONDS = float(env_str("REQUEST_BODY_TIMEOUT_SECONDS", "20"))
REQUEST_BODY_MIN_RATE = env_int("REQUEST_BODY_MIN_RATE", 500)
if WEB_MAX_ACTIVE_REQUESTS < 1 or REQUEST_BODY_TIMEOUT_SECONDS <= 0 or REQUEST_BODY_MIN_RATE < 1:
    raise ImproperlyConfigured(
        "WEB_MAX_ACTIVE_REQUESTS, REQUEST_BODY_TIMEOUT_SECONDS and REQUEST_BODY_MIN_RATE must be positive."
    )

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],  # overrides of the admin's templates (accessibility)
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "primepre.web.context.navigation",  # may_import: one rule for the nav, the dashboard and the API
            ],
        },
    },
]

# Database: DATABASE_URL (postgres://… in production); the embedded default is SQLite under var/.
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'primepre.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the timeout waits out a writer instead of failing.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Under ASGI each request's code runs in a thread of its own, so a persistent connection is never reused: the web
    # process (config/asgi.py sets DB_POOL) takes connections from a pool, one per request running at once plus a
    # few for streamed exports and progress streams between their reads. The import worker and the CLI keep one
    # connection per thread (DB_CONN_MAX_AGE).
    if env_bool("DB_POOL", False):
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DB_POOL_MIN_SIZE", 2),
            "max_size": env_int("DB_POOL_MAX_SIZE", WEB_MAX_ACTIVE_REQUESTS + 4),
            "timeout": env_int("DB_POOL_TIMEOUT_SECONDS", 10),  # waiting for a free connection, then an error
            "max_idle": 300,  # an idle connection past the minimum is closed after 5 minutes
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses a locked-out client before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

# Sign-in abuse (django-axes, on /login/, /admin/login/ and the API token endpoint): LOGIN_FAILURE_LIMIT failures
# within LOGIN_COOLOFF_MINUTES stop a username from that address, and an address whatever the usernames, for the
# cool-off. Never a username everywhere: five wrong passwords from anyone would lock its owner out. A username failing
# from many addresses is slowed down instead, each answer up to LOGIN_SLOWDOWN_MAX_SECONDS later, except at addresses
# its owner signed in from (primepre/accounts/lockout.py).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
if LOGIN_FAILURE_LIMIT < 1 or LOGIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT and LOGIN_COOLOFF_MINUTES must be at least 1.")
LOGIN_SLOWDOWN_MAX_SECONDS = env_int("LOGIN_SLOWDOWN_MAX_SECONDS", 16)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# A refused attempt does not restart the cool-off, so the "try again in N minutes" a locked-out user reads is true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "primepre.accounts.lockout.client_ip"  # REMOTE_ADDR, or per TRUSTED_PROXY_COUNT
AXES_LOCKOUT_CALLABLE = "primepre.accounts.lockout.lockout_response"  # 429: a page, or JSON under /api/
# No table of successful sign-ins: it grows without bound, and keeping it opens a session for every API token.
AXES_DISABLE_ACCESS_LOG = True

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Africa/Accra")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
# WhiteNoise serves static files from the app server (no nginx on a one-service host): compressed, with hashed names
# and far-future caching after `collectstatic`; straight from the apps' folders while DEBUG.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")

# --- The business ------------------------------------------------------------------------------------------------
# Region used to read phone numbers written without a country code (0241234567 → +233241234567).
DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "GH").upper()

# Imports: limits are enforced early and reported with the limit in the message.
IMPORT_MAX_UPLOAD_BYTES = env_int("IMPORT_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
# Every multipart upload stops at that limit while it is read (the temporary file is deleted), whatever the request
# declared; config.middleware.UploadLimitMiddleware turns it into the 413.
FILE_UPLOAD_HANDLERS = [
    "config.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000)
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 2000)
# Above this uncompressed sheet size an .xlsx is read by the streaming reader (flat memory) instead of calamine
# (fast, but holds the whole sheet in memory).
# On a small box (WEB_MEMORY_BUDGET_MB ≤ 512, the one-service deploy) the streaming reader takes over sooner: a
# 100,000-row sheet then needs less memory and a little more time (figures in bench/README.md).
MEMORY_BUDGET_MB = env_int("WEB_MEMORY_BUDGET_MB", 0)
IMPORT_STREAMING_THRESHOLD_BYTES = env_int(
    "IMPORT_STREAMING_THRESHOLD_BYTES", (16 if 0 < MEMORY_BUDGET_MB <= 512 else 48) * 1024 * 1024
)
# The in-file duplicate index moves from memory to a temporary SQLite file past this many rows.
IMPORT_DEDUPE_MEMORY_ROWS = env_int("IMPORT_DEDUPE_MEMORY_ROWS", 150_000)
# Zip-based files (xlsx, ods) may not unpack to more than this (zip bombs).
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("IMPORT_MAX_UNCOMPRESSED_BYTES", 1024 * 1024 * 1024)
# A missing shipping mark is generated from this rule when the import asks for it ({FIRST_NAME:6} = 6 letters).
IMPORT_MARK_RULE = env_str("IMPORT_MARK_RULE", "PM {FIRST_NAME:6}")

# A running import writes a heartbeat every batch; a job silent this long has lost its worker and is resumed.
IMPORT_HEARTBEAT_TIMEOUT_SECONDS = env_int("IMPORT_HEARTBEAT_TIMEOUT_SECONDS", 60)
# Uploaded spreadsheets are deleted this many days after their job ended (the job, its counts and errors stay);
# the import worker checks every hour. 0 keeps them for ever.
IMPORT_FILE_RETENTION_DAYS = env_int("IMPORT_FILE_RETENTION_DAYS", 30)
# A preview nobody confirmed (or a job left waiting for its columns) is cancelled `preview_expired` this many days
# after it ended, by the worker's hourly sweep: it no longer sits in the history as if it might still go in. 0: never.
IMPORT_PREVIEW_EXPIRY_DAYS = env_int("IMPORT_PREVIEW_EXPIRY_DAYS", 7)
IMPORT_WORKER_NICE = env_int("IMPORT_WORKER_NICE", 10)  # CPU priority of the import worker below the web server
# The worker's PostgreSQL sessions at the same priority, when the server runs on this machine and may be reniced
# (primepre/imports/management/commands/import_worker.py).
IMPORT_WORKER_DB_NICE = env_bool("IMPORT_WORKER_DB_NICE", True)
IMPORT_SSE_POLL_SECONDS = float(env_str("IMPORT_SSE_POLL_SECONDS", "0.2"))
IMPORT_SSE_MAX_SECONDS = env_int("IMPORT_SSE_MAX_SECONDS", 300)  # then the browser reconnects
IMPORT_SSE_HEARTBEAT_SECONDS = float(env_str("IMPORT_SSE_HEARTBEAT_SECONDS", "10"))  # a comment when nothing changed
# A row (the header included) wider than this is a file-level error: no customer sheet needs more, and every stored
# header, row error and preview page is bounded by it.
IMPORT_MAX_COLUMNS = env_int("IMPORT_MAX_COLUMNS", 200)
# Memory one import may add to its process: RSS growth is checked after every batch and the import fails with
# `memory_limit` past it. Sized for the 512 MB one-service plan, after what bin/start, gunicorn, the web worker and an
# idle import worker hold (figures in bench/README.md). The worker (and the CLI) also set RLIMIT_DATA to what they
# hold plus a quarter above this, which turns one huge allocation into a MemoryError (or ends that process alone).
IMPORT_MAX_RSS_MB = env_int("IMPORT_MAX_RSS_MB", 250)
# The worker and the CLI collect cyclic garbage after this many net allocations instead of Python's 700 (an import
# keeps a batch of rows alive, which the collector re-walked at 700; imports/process.py, bench/README.md).
IMPORT_GC_THRESHOLD = env_int("IMPORT_GC_THRESHOLD", 10_000)
# Runs of one job: a job whose worker dies this many times (killed, out of memory) ends `failed` (`worker_crashed`).
IMPORT_MAX_ATTEMPTS = env_int("IMPORT_MAX_ATTEMPTS", 3)
# The import worker runs each import in a child process of its own (`manage.py run_import`), so a file that kills
# the process reading it (native code aborting on an allocation) ends that child and fails its job, never the worker
# (primepre/imports/isolation.py). Off: imports run inside the worker process, as the CLI and the tests run them.
IMPORT_ISOLATION = env_bool("IMPORT_ISOLATION", True)
# A worker told to stop gives its child this long to stop after its batch before killing it (the job then resumes
# from its checkpoint); a child still opening its file is stopped at once and its job queued again unread.
IMPORT_CHILD_STOP_SECONDS = env_int("IMPORT_CHILD_STOP_SECONDS", 15)
# JSON request bodies outside the import upload (customers, SMS …): larger or deeper ones get 400 `invalid_json`.
# The deepest body an endpoint takes is the SMS send's `{"filter": {"region": [...]}}`, 3 levels.
API_JSON_MAX_BYTES = env_int("API_JSON_MAX_BYTES", 1024 * 1024)
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 4)

# Goods received at the China warehouses: `CODE:Name` pairs; a receipt's warehouse is one of these codes.
GOODS_WAREHOUSES = env_list("GOODS_WAREHOUSES", "GZ:Guangzhou,YW:Yiwu")
# Overrides of a container's figures (shipments/equipment.py), as JSON: {"40HC": {"usable_cbm": "66"}}. A malformed
# value stops the process at start.
try:
    SHIPMENT_EQUIPMENT = json.loads(env_str("SHIPMENT_EQUIPMENT") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"SHIPMENT_EQUIPMENT is not JSON: {exc}") from None

# --- SMS -----------------------------------------------------------------------------------------------------------
# twilio | console | locmem | disabled. Twilio without its settings is disabled with one [SMS-DISABLED] warning.
SMS_BACKEND = env_str("SMS_BACKEND", "console" if DEBUG else "twilio")
# Countries (ISO 3166 codes: GB, not UK) a message may go to; any other is failed `country_not_allowed` and never
# reaches the provider, whoever queued it (the standard defence against SMS pumping).
SMS_ALLOWED_COUNTRIES = [code.upper() for code in env_list("SMS_ALLOWED_COUNTRIES", "GH")]
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM = env_str("TWILIO_FROM")  # a number in E.164 or an alphanumeric sender id
TWILIO_MESSAGING_SERVICE_SID = env_str("TWILIO_MESSAGING_SERVICE_SID")
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL")  # only to point the client at a fake or a proxy
SMS_STATUS_CALLBACK_URL = env_str("SMS_STATUS_CALLBACK_URL")  # https://<host>/api/v1/sms/twilio/status/
SMS_RATE_PER_SECOND = float(env_str("SMS_RATE_PER_SECOND", "10"))
SMS_MAX_LENGTH = env_int("SMS_MAX_LENGTH", 1600)  # characters of one text, for the API and the staff page alike
SMS_MAX_ATTEMPTS = env_int("SMS_MAX_ATTEMPTS", 5)
SMS_RETRY_BASE_SECONDS = float(env_str("SMS_RETRY_BASE_SECONDS", "2"))
SMS_DRAIN_MAX_SECONDS = env_int("SMS_DRAIN_MAX_SECONDS", 600)
SMS_HTTP_TIMEOUT_SECONDS = env_int("SMS_HTTP_TIMEOUT_SECONDS", 10)
SMS_WELCOME_TEMPLATE = env_str(
    "SMS_WELCOME_TEMPLATE",
    "Akwaaba {first_name}! Your PrimePre shipping mark is {shipping_mark}. Write it on every parcel you send to our "
    "China warehouse so we can deliver it to you in Ghana.",
)

# One text per customer per day of receipt (primepre/goods/notify.py): {packages} cartons, {cbm} (3 places), {mark}
# (the customer's shipping mark), {warehouse} (its name), {date} ("28 Nov"), {first_name}.
SMS_RECEIPT_TEMPLATE = env_str(
    "SMS_RECEIPT_TEMPLATE",
    "PrimePre: we received {packages_text} ({cbm} CBM) for {mark} at our {warehouse} warehouse on {date}.",
)

# --- Background tasks ----------------------------------------------------------------------------------------------
# Django's tasks API. The database backend needs no extra server (SQLite or PostgreSQL, SKIP LOCKED for many workers);
# TASKS_BACKEND=rq moves the queue to Redis (REDIS_URL) for scale-out.
TASKS_BACKEND = env_str("TASKS_BACKEND", "database")
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
if TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
elif TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
elif TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
else:
    raise ImproperlyConfigured(f"TASKS_BACKEND={TASKS_BACKEND!r}: use database (default), rq or immediate.")

# --- REST API ----------------------------------------------------------------------------------------------------
# Users without the export permission read the customer directory at most this often (list pages and single
# customers, per user; DRF's rate format: N/second|minute|hour|day; empty: no limit), 50 a page.
CUSTOMER_LIST_RATE_FOR_VIEWERS = env_str("CUSTOMER_LIST_RATE_FOR_VIEWERS", "600/hour")
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header is what makes DRF answer 401 (not 403) to anonymous clients.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["primepre.common.permissions.HasModelPermission"],
    # DRF's defaults, with a JSON parser that refuses bodies over API_JSON_MAX_BYTES / API_JSON_MAX_DEPTH.
    "DEFAULT_PARSER_CLASSES": [
        "primepre.common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "primepre.common.permissions.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "primepre.common.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
}
# API tokens (django-rest-knox) expire after this many hours; `POST /api/v1/auth/token/` issues a new one.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 7)
if API_TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured("API_TOKEN_TTL_HOURS must be at least 1: tokens that never expire are what it prevents.")
REST_KNOX = {"TOKEN_TTL": dt.timedelta(hours=API_TOKEN_TTL_HOURS), "AUTH_HEADER_PREFIX": "Token"}
SPECTACULAR_SETTINGS = {
    "TITLE": "PrimePre API",
    "DESCRIPTION": "Customer directory and bulk imports for PrimePre's China → Ghana freight service.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files (sidecar), so the docs page works offline and without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The goods method is the same choice set in the receipts' API and in the import options: one name for both.
    "ENUM_NAME_OVERRIDES": {"ShippingMethodEnum": "primepre.goods.models.Method"},
    # Every operation documents the error answers it shares with the others (401/403, 404, 400/413/415), in the one
    # error shape, so a generated client types them; enums are post-processed first, as by default.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "primepre.common.api.document_errors",
        "primepre.common.api.keep_request_names",
    ],
    # Request bodies get their own components: blank strings refused (minLength), read-only fields left out, files
    # as binary. A request-only serializer keeps its name (keep_request_names).
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Security ----------------------------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the app append to X-Forwarded-For. 0: the client address is REMOTE_ADDR (the header,
# which anyone can send, is ignored). N: the entry the outermost proxy added. Behind a platform proxy set it, else
# every client shares the proxy's address and one attacker's failures lock everyone out of sign-in.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# DRF's throttles name anonymous clients by X-Forwarded-For, whole, unless told how many proxies to believe: the same
# count, read from the right as primepre.accounts.lockout.client_ip does.
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Platform health checks come over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp 4): our own origin only, no inline script or style (the pages' scripts and
# styles are static files). The API docs page adds what Swagger UI needs (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Logging -----------------------------------------------------------------------------------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.log.RequestIdFilter"},
        "mask_phones": {"()": "config.log.MaskPhonesFilter"},
    },
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["request_id", "mask_phones"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # Our own request line (config.log) replaces runserver's access log and Django's 4xx warnings.
        "django.server": {"handlers": [], "level": "WARNING", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        # Axes narrates every sign-in at INFO; its warnings (each failure, each lockout) and our [LOGIN-LOCKED] stay.
        "axes": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
