"""LeadFlow settings: every value comes from the environment, with safe embedded defaults.

The embedded default is a single machine: a SQLite file and uploads under
``LEADFLOW_DATA_DIR`` (``./var``), a secret key generated once and kept there, and the
database-backed task worker. Setting ``DATABASE_URL`` and ``REDIS_URL`` scales it out.
See docs/configuration.md for every variable.
"""

import os
import secrets
from pathlib import Path

import dj_database_url


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("LEADFLOW_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
(DATA_DIR / "static").mkdir(exist_ok=True)


def _secret_key() -> str:
    """The SECRET_KEY from the environment, else one generated once and kept in DATA_DIR."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(64))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
# Loopback names are always allowed so the local supervisor and health probes work.
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = list(dict.fromkeys(env_list("ALLOWED_HOSTS", []) + LOOPBACK_HOSTS))
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
LEADFLOW_BASE_URL = os.environ.get("LEADFLOW_BASE_URL", "").rstrip("/")
LEADFLOW_DEMO = env_bool("LEADFLOW_DEMO", True)
# The currency of a deal when neither the deal nor the workspace's deal settings name one.
LEADFLOW_DEFAULT_CURRENCY = os.environ.get("LEADFLOW_DEFAULT_CURRENCY", "USD").upper()[:3]
# Routes the baseline endpoints `make bench` compares against; never on in production.
LEADFLOW_BENCH_ENDPOINTS = env_bool("LEADFLOW_BENCH_ENDPOINTS", False)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_htmx",
    "django_tasks_db",
    "leadflow.core",
    "leadflow.contacts",
    "leadflow.capture",
    "leadflow.tracking",
    "leadflow.inbound",
    "leadflow.imports",
    "leadflow.duplicates",
    "leadflow.scoring",
    "leadflow.sales",
    "leadflow.deals",
    "leadflow.nurture",
    "leadflow.pages",
    "leadflow.chat",
    "leadflow.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "leadflow.core.middleware.RequestSizeLimitMiddleware",
    "leadflow.core.middleware.UnstorableTextMiddleware",
    "leadflow.core.middleware.MethodNotAllowedMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "leadflow.core.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "leadflow.config.urls"
WSGI_APPLICATION = "leadflow.config.wsgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadflow.web.context_processors.workspace",
            ],
        },
    }
]

# --- database -------------------------------------------------------------------------
SQLITE_PATH = DATA_DIR / "leadflow.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{SQLITE_PATH}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work beside the one writer; IMMEDIATE transactions take the write
    # lock up front so two concurrent upserts queue instead of failing with "locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-leadflow.sqlite3")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- background work --------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
INSTALLED_APPS.append("django_rq")  # its rqworker command; used only when REDIS_URL is set
RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 600}}
# RQ workers must run jobs with django-tasks-rq's job class (it calls the task's function).
RQ = {"JOB_CLASS": "django_tasks_rq.backend.Job"}
if REDIS_URL:
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- email (Django 6.1 MAILERS) ------------------------------------------------------------
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "LeadFlow <leadflow@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if os.environ.get("SMTP_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["SMTP_HOST"],
                "port": int(os.environ.get("SMTP_PORT", "25")),
                "username": os.environ.get("SMTP_USER", ""),
                "password": os.environ.get("SMTP_PASSWORD", ""),
                "use_tls": env_bool("SMTP_STARTTLS", False),
                "use_ssl": env_bool("SMTP_SSL", False),
                "timeout": int(os.environ.get("SMTP_TIMEOUT", "10")),
            },
        }
    }
else:
    # No SMTP server configured: keep mail as files under DATA_DIR instead of losing it.
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(DATA_DIR / "outbox")},
        }
    }

# --- static files, i18n ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "uploads"
# Lead magnet files (docs/capture/magnets.md): under DATA_DIR/magnets, never served as
# static files (every download goes through a signed link); on S3-compatible storage
# (django-storages, the ``s3`` extra) when LEADFLOW_MAGNET_S3_BUCKET is set.
LEADFLOW_MAGNET_MAX_BYTES = int(os.environ.get("LEADFLOW_MAGNET_MAX_BYTES", str(200 * 1024 * 1024)))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "magnets": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "magnets"), "base_url": "/unused/"},
    },
    # Landing-page images (docs/pages/landing-pages.md): served by LeadFlow itself at
    # /lp/<workspace>/images/<content hash>.<ext>, so the storage is never public.
    "page_images": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DATA_DIR / "page-images"), "base_url": "/unused/"},
    },
}
# An uploaded page image: at most this many bytes, and this many pixels (width times height,
# checked from the header before decoding: a small file can declare a huge canvas).
LEADFLOW_PAGE_IMAGE_MAX_BYTES = int(
    os.environ.get("LEADFLOW_PAGE_IMAGE_MAX_BYTES", str(5 * 1024 * 1024))
)
LEADFLOW_PAGE_IMAGE_MAX_PIXELS = int(os.environ.get("LEADFLOW_PAGE_IMAGE_MAX_PIXELS", "40000000"))
if os.environ.get("LEADFLOW_MAGNET_S3_BUCKET"):
    STORAGES["magnets"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["LEADFLOW_MAGNET_S3_BUCKET"],
            "endpoint_url": os.environ.get("LEADFLOW_MAGNET_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("LEADFLOW_MAGNET_S3_REGION") or None,
            "access_key": os.environ.get("LEADFLOW_MAGNET_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("LEADFLOW_MAGNET_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "querystring_auth": True,  # a download is a short-lived presigned redirect
            "querystring_expire": 300,
            "file_overwrite": False,
        },
    }
    # The same bucket, under its own prefix (streamed through LeadFlow, never presigned).
    STORAGES["page_images"] = {
        "BACKEND": STORAGES["magnets"]["BACKEND"],
        "OPTIONS": {**STORAGES["magnets"]["OPTIONS"], "location": "page-images"},
    }
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- security ---------------------------------------------------------------------------
SECURE_HTTPS = env_bool("LEADFLOW_HTTPS", False)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = int(
    os.environ.get("SECURE_HSTS_SECONDS", "31536000" if SECURE_HTTPS else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("LEADFLOW_BEHIND_PROXY", False) else None
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Paths of the public endpoints (forms today; tracking, chat and more later).
LEADFLOW_PUBLIC_PATH_PREFIXES = ("/f/", "/e", "/m/")
# Request bodies over this size answer 413 (API and public endpoints).
LEADFLOW_MAX_BODY_BYTES = int(os.environ.get("LEADFLOW_MAX_BODY_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = LEADFLOW_MAX_BODY_BYTES
# File uploads (contact imports) to the app and the API may be larger: multipart bodies
# outside the public paths answer 413 above this. Files over 2.5 MB go to a temporary file.
LEADFLOW_MAX_UPLOAD_BYTES = int(os.environ.get("LEADFLOW_MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))
# Inbound lead webhook posts per minute, per IP and per lead source; 0 turns a limit off.
LEADFLOW_INBOUND_RATE_PER_IP = int(os.environ.get("LEADFLOW_INBOUND_RATE_PER_IP", "120"))
LEADFLOW_INBOUND_RATE_PER_SOURCE = int(os.environ.get("LEADFLOW_INBOUND_RATE_PER_SOURCE", "1200"))
# Inbound lead webhook deliveries (the log and replay) are kept this many days; 0 = forever.
LEADFLOW_INBOUND_RETENTION_DAYS = int(os.environ.get("LEADFLOW_INBOUND_RETENTION_DAYS", "180"))
# How often an idle database-queue worker looks for new tasks (seconds): the most a task
# waits before it starts (scoring's commit-to-score latency is about this plus its work).
LEADFLOW_WORKER_POLL_SECONDS = float(os.environ.get("LEADFLOW_WORKER_POLL_SECONDS", "0.25"))
# Marketing email (docs/nurture/sending.md): how long a worker run owns the deliveries it
# claimed (and an in-flight one before it is parked as unknown), how many it claims at once,
# and how many runs a send starts side by side.
LEADFLOW_DELIVERY_LEASE_SECONDS = float(os.environ.get("LEADFLOW_DELIVERY_LEASE_SECONDS", "300"))
LEADFLOW_DELIVERY_BATCH = int(os.environ.get("LEADFLOW_DELIVERY_BATCH", "100"))
LEADFLOW_SEND_PARALLEL = int(os.environ.get("LEADFLOW_SEND_PARALLEL", "2"))
# Open and click tracking (docs/nurture/tracking.md): a click of the same link of the same
# email again within this many seconds is one click; a click or open this soon after the
# email was handed over is a security scanner's, filtered; the break given to a person who
# ignored PacingSettings.pause_after_ignored messages in a row (days); hits per minute per IP.
LEADFLOW_CLICK_DEDUPE_SECONDS = int(os.environ.get("LEADFLOW_CLICK_DEDUPE_SECONDS", "60"))
LEADFLOW_CLICK_SCANNER_SECONDS = int(os.environ.get("LEADFLOW_CLICK_SCANNER_SECONDS", "10"))
LEADFLOW_NURTURE_BREAK_DAYS = int(os.environ.get("LEADFLOW_NURTURE_BREAK_DAYS", "30"))
LEADFLOW_TRACKING_RATE_PER_IP = int(os.environ.get("LEADFLOW_TRACKING_RATE_PER_IP", "600"))
# Where DKIM private keys named by file are read from (a file name, never a path).
LEADFLOW_DKIM_KEY_DIR = Path(os.environ.get("LEADFLOW_DKIM_KEY_DIR", str(DATA_DIR / "dkim")))
# Bounces (docs/nurture/bounces.md): how often the worker reads each workspace's bounce
# mailbox, where Maildir mailboxes live (a workspace names one, never a path), and a CA file
# to trust for an IMAP server with a private certificate.
LEADFLOW_BOUNCE_CHECK_SECONDS = float(os.environ.get("LEADFLOW_BOUNCE_CHECK_SECONDS", "300"))
LEADFLOW_BOUNCE_MAILDIR_DIR = Path(
    os.environ.get("LEADFLOW_BOUNCE_MAILDIR_DIR", str(DATA_DIR / "bounces"))
)
LEADFLOW_BOUNCE_CA_FILE = os.environ.get("LEADFLOW_BOUNCE_CA_FILE", "")
# How often the worker's clock looks for periodic sweeps that are due (core.scheduler).
LEADFLOW_CLOCK_TICK_SECONDS = float(os.environ.get("LEADFLOW_CLOCK_TICK_SECONDS", "10"))
# How often the sweeps of what has come due run (first-touch deadlines, reminders).
LEADFLOW_SWEEP_SECONDS = float(os.environ.get("LEADFLOW_SWEEP_SECONDS", "30"))
# The periodic pass over whole dynamic segments (time-based conditions: docs/nurture/segments.md).
LEADFLOW_SEGMENT_REFRESH_SECONDS = float(os.environ.get("LEADFLOW_SEGMENT_REFRESH_SECONDS", "900"))
# How often the worker moves sequences' enrolments whose wait is over (docs/nurture/sequences.md).
LEADFLOW_SEQUENCE_RUN_SECONDS = float(os.environ.get("LEADFLOW_SEQUENCE_RUN_SECONDS", "30"))
# Chat (docs/chat/flows.md): a conversation with the bot idle this long mid-flow is marked
# "left the chat at step N" by the pass that runs every LEADFLOW_CHAT_IDLE_CHECK_SECONDS;
# a resume token works this many days; chat messages (and polls) per minute from one IP to a
# workspace.
LEADFLOW_CHAT_IDLE_MINUTES = int(os.environ.get("LEADFLOW_CHAT_IDLE_MINUTES", "30"))
LEADFLOW_CHAT_IDLE_CHECK_SECONDS = float(os.environ.get("LEADFLOW_CHAT_IDLE_CHECK_SECONDS", "60"))
LEADFLOW_CHAT_TOKEN_DAYS = int(os.environ.get("LEADFLOW_CHAT_TOKEN_DAYS", "365"))
LEADFLOW_CHAT_RATE_PER_IP = int(os.environ.get("LEADFLOW_CHAT_RATE_PER_IP", "60"))
LEADFLOW_CHAT_POLL_RATE_PER_IP = int(os.environ.get("LEADFLOW_CHAT_POLL_RATE_PER_IP", "240"))
# Messenger channels (docs/chat/messengers.md): the platforms' API addresses (tests point them
# at a local stand-in), the Graph API version, and how long a send waits for an answer.
LEADFLOW_TELEGRAM_API_BASE = os.environ.get(
    "LEADFLOW_TELEGRAM_API_BASE", "https://api.telegram.org"
).rstrip("/")
LEADFLOW_GRAPH_API_BASE = os.environ.get(
    "LEADFLOW_GRAPH_API_BASE", "https://graph.facebook.com"
).rstrip("/")
LEADFLOW_GRAPH_API_VERSION = os.environ.get("LEADFLOW_GRAPH_API_VERSION", "v21.0")
LEADFLOW_MESSENGER_TIMEOUT = float(os.environ.get("LEADFLOW_MESSENGER_TIMEOUT", "10"))
# Live chat streams (docs/chat/streams.md, decision 0046). The stream tier is a granian
# process of its own (`leadflow serve` starts it on the web port + 1 and sets
# LEADFLOW_STREAM_TIER=1 there); the web tier refuses streams. CAPACITY is the streams one
# stream process holds (its threads are CAPACITY + SPARE_THREADS); the one beyond answers 503
# with Retry-After and the client polls. CHAT_STREAM_URL is the address browsers reach the
# stream endpoint at (set it behind a reverse proxy); empty and not under `serve`: no
# stream_url, the widget polls.
LEADFLOW_STREAMS = env_bool("LEADFLOW_STREAMS", True)
LEADFLOW_STREAM_TIER = env_bool("LEADFLOW_STREAM_TIER", False)
LEADFLOW_STREAM_CAPACITY = int(os.environ.get("LEADFLOW_STREAM_CAPACITY", "1000"))
LEADFLOW_STREAM_SPARE_THREADS = int(os.environ.get("LEADFLOW_STREAM_SPARE_THREADS", "16"))
LEADFLOW_CHAT_STREAM_URL = os.environ.get("LEADFLOW_CHAT_STREAM_URL", "").rstrip("/")
# A stream says ": ping" this often and ends after STREAM_SECONDS (the client reconnects
# from the last seq); without Redis one thread per stream process looks for new messages
# of the watched conversations this often (seconds).
LEADFLOW_STREAM_PING_SECONDS = float(os.environ.get("LEADFLOW_STREAM_PING_SECONDS", "15"))
LEADFLOW_STREAM_SECONDS = float(os.environ.get("LEADFLOW_STREAM_SECONDS", "300"))
LEADFLOW_STREAM_POLL_SECONDS = float(os.environ.get("LEADFLOW_STREAM_POLL_SECONDS", "0.1"))
# Typing signals per minute from one conversation's visitor (or one member).
LEADFLOW_CHAT_TYPING_RATE = int(os.environ.get("LEADFLOW_CHAT_TYPING_RATE", "30"))
# API rate limit per key (requests per minute); 0 turns it off.
LEADFLOW_API_RATE_LIMIT = int(os.environ.get("LEADFLOW_API_RATE_LIMIT", "600"))
# Tracking event batches per minute from one IP to one workspace; 0 turns it off.
LEADFLOW_EVENT_RATE_PER_IP = int(os.environ.get("LEADFLOW_EVENT_RATE_PER_IP", "120"))
# Wrong passwords allowed per account and per IP address in a window of
# LEADFLOW_LOGIN_LOCK_MINUTES before sign-in is refused until the window ends; 0 turns a
# limit off (decision 0017).
LEADFLOW_LOGIN_FAILURES_PER_ACCOUNT = int(
    os.environ.get("LEADFLOW_LOGIN_FAILURES_PER_ACCOUNT", "5")
)
LEADFLOW_LOGIN_FAILURES_PER_IP = int(os.environ.get("LEADFLOW_LOGIN_FAILURES_PER_IP", "20"))
LEADFLOW_LOGIN_LOCK_MINUTES = int(os.environ.get("LEADFLOW_LOGIN_LOCK_MINUTES", "15"))
# Public form submissions per minute, per IP and per form; 0 turns a limit off.
LEADFLOW_FORM_RATE_PER_IP = int(os.environ.get("LEADFLOW_FORM_RATE_PER_IP", "20"))
LEADFLOW_FORM_RATE_PER_FORM = int(os.environ.get("LEADFLOW_FORM_RATE_PER_FORM", "1200"))
# Unsubscribe links (/u/<token>/) per minute, per IP; 0 turns the limit off. Mail providers
# POST one-click unsubscribes from a few addresses: the limit is generous.
LEADFLOW_UNSUBSCRIBE_RATE_PER_IP = int(os.environ.get("LEADFLOW_UNSUBSCRIBE_RATE_PER_IP", "120"))
# Test sends of a marketing template per member per hour (docs/nurture/templates.md).
LEADFLOW_TEMPLATE_TEST_SENDS_PER_HOUR = int(
    os.environ.get("LEADFLOW_TEMPLATE_TEST_SENDS_PER_HOUR", "10")
)
# How long a process keeps what public endpoints read per request: forms, workspaces by
# public key, channel rules (seconds; 0 reads the database every time).
LEADFLOW_PUBLIC_CACHE_SECONDS = float(os.environ.get("LEADFLOW_PUBLIC_CACHE_SECONDS", "5"))
# Landing-page views are counted per process and written at most this often (seconds).
LEADFLOW_PAGE_VIEWS_FLUSH_SECONDS = float(os.environ.get("LEADFLOW_PAGE_VIEWS_FLUSH_SECONDS", "2"))
# New leads take one SQL statement on PostgreSQL (contacts/services/leads_fast.py).
LEADFLOW_CAPTURE_FAST_PATH = env_bool("LEADFLOW_CAPTURE_FAST_PATH", True)

CACHES = (
    {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_URL
    # Embedded mode: per-process memory. Rate limits then count per web worker process;
    # set REDIS_URL to share them (docs/configuration.md).
    else {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "leadflow.core.logs.StderrHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The activity log's kind index carries the contact (INCLUDE) on PostgreSQL; SQLite builds
# it without that column, which is all the warning says (contacts migration 0023).
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# Chat's knowledge base (docs/chat/knowledge-base.md): "minilm" searches with the embedding
# model (the `chat` extra, loaded lazily by the process that answers: the worker); "off"
# ranks with BM25 alone.
LEADFLOW_KNOWLEDGE_MODEL = os.environ.get("LEADFLOW_KNOWLEDGE_MODEL", "minilm")
