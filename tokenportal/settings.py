"""Settings for tokenportal, read from the environment and an optional ``.env`` file.

Every setting is documented in README.md and ``.env.example``. Nothing here talks to a
server; the CouchDB settings are read by ``tokens_app.couch`` when it builds a client.
"""

import importlib
import ipaddress
import math
import re
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    COUCHDB_URL=(str, "http://127.0.0.1:5984"),
    COUCHDB_USER=(str, "admin"),
    COUCHDB_DATABASE=(str, "tokens"),
    COUCHDB_DATABASES=(list, []),
    COUCHDB_TIMEOUT=(float, 30.0),
    COUCHDB_BATCH_SIZE=(int, 500),
    COUCHDB_WRITES_IN_FLIGHT=(int, 3),
    COUCHDB_BATCH_BYTES=(int, 32 * 2**20),
    MAX_UPLOAD_MB=(int, 20),
    MAX_TOKEN_FIELDS_KB=(int, 64),
    SECURE_SSL_REDIRECT=(bool, False),
    SECURE_HSTS_SECONDS=(int, 0),
    SESSION_COOKIE_SECURE=(bool, False),
    CSRF_COOKIE_SECURE=(bool, False),
    LOGIN_RATE_LIMIT=(int, 10),
    TRUSTED_PROXIES=(int, 0),
    CACHE_URL=(str, "dbcache://tokenportal_cache"),
    FILE_UPLOAD_TEMP_DIR=(str, ""),
    LOG_LEVEL=(str, "INFO"),
    TASKS_BACKEND=(str, "django_tasks_db.DatabaseBackend"),
    TASKS_LEASE_SECONDS=(int, 60),
    STALLED_MINUTES=(float, 30.0),
    STATIC_MANIFEST=(bool, None),
    METRICS_TOKEN=(str, ""),
    METRICS_ALLOWED_ADDRESSES=(list, []),
    EMAIL_URL=(str, ""),
    DEFAULT_FROM_EMAIL=(str, "tokenportal@localhost"),
    PORTAL_URL=(str, ""),
    NOTIFY_INTERVAL_SECONDS=(float, 60.0),
    NOTIFY_ERROR_RATE=(float, 0.1),
    NOTIFY_ERROR_MIN_FINISHED=(int, 20),
    NOTIFY_WEBHOOK_ALLOWED_HOSTS=(list, []),
    NOTIFY_WEBHOOK_TIMEOUT=(float, 5.0),
    NOTIFY_MAX_ATTEMPTS=(int, 5),
)


_BOOLEANS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _typed(name: str, *, at_least: float | None = None):
    """The typed value of ``name``, or a one-line startup error naming the setting and the bad value.

    Booleans take only true/false, yes/no, on/off or 1/0 (django-environ would read any other
    word as false, so ``DEBUG=maybe`` would quietly mean no); numbers must be finite and, with
    ``at_least``, not below it.
    """
    raw = env.str(name, default="")
    bad = ImproperlyConfigured(f"{name}={raw!r} is not a valid value for {name}")
    if env.scheme[name][0] is bool:
        if name not in env.ENVIRON:
            return env(name)
        if raw.strip().lower() not in _BOOLEANS:
            raise ImproperlyConfigured(f"{bad}: give true or false")
        return _BOOLEANS[raw.strip().lower()]
    try:
        value = env(name)
    except (ValueError, TypeError):
        raise bad from None
    if isinstance(value, float) and not math.isfinite(value):
        raise bad
    if at_least is not None and value < at_least:
        raise ImproperlyConfigured(f"{name}={raw} is not a valid value for {name}: give at least {at_least}")
    return value


ENV_FILE = Path(env.str("TOKENPORTAL_ENV_FILE", default=str(BASE_DIR / ".env")))
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

VAR_DIR = Path(env.str("TOKENPORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = _typed("DEBUG")


def _kept_secret(name: str) -> str:
    """A random secret generated once for a DEBUG installation and kept under VAR_DIR."""
    secret_file = VAR_DIR / name
    if not secret_file.is_file():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    return secret_file.read_text().strip()


def _required_secret(name: str) -> str:
    """The setting ``name``; in DEBUG a kept generated one, otherwise a missing one is an error."""
    value = env.str(name, default="")
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(
            f"{name} is not set. Set it in the environment or in .env "
            "(only a DEBUG installation generates one by itself; for development, "
            "make run writes a .env with DEBUG=true, or copy .env.example to .env)."
        )
    return _kept_secret(name.lower())


SECRET_KEY = _required_secret("SECRET_KEY")
ALLOWED_HOSTS = _typed("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = _typed("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "tokenportal",
    "django_tasks",
    "django_tasks_db",
    "tokens_app",
    "locks_app",
    "devtools",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the application server, before sessions and sign-in are read.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tokenportal.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tokens_app.middleware.CouchErrorMiddleware",
]

ROOT_URLCONF = "tokenportal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # ``shown_to`` in every template: internal URLs in error texts only for staff.
            "builtins": ["tokenportal.templatetags.disclosure"],
        },
    },
]

WSGI_APPLICATION = "tokenportal.wsgi.application"
ASGI_APPLICATION = "tokenportal.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Lock registration writes from several processes: wait for the write lock instead of failing,
    # and take it at the start of each transaction so that read-then-write cannot deadlock.
    # WAL with synchronous=NORMAL syncs at checkpoints, not at every commit: a crash of the
    # machine can lose the last commits but never corrupts the database.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves the static files from the application server, so the gunicorn command alone
# gives a complete portal. With the manifest (the default without DEBUG) pages name each file by
# a hash of its content, served compressed and cached for a year, which needs `collectstatic`
# after every install or upgrade; without it the files are served by their plain names straight
# from the source folders (development, tests).
STATIC_MANIFEST = not DEBUG if env.str("STATIC_MANIFEST", default="") == "" else _typed("STATIC_MANIFEST")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
WHITENOISE_AUTOREFRESH = DEBUG

MAX_UPLOAD_MB = _typed("MAX_UPLOAD_MB", at_least=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_MB * 1024 * 1024
# The Token section of a config, as JSON: every token carries a copy of it.
MAX_TOKEN_FIELDS_KB = _typed("MAX_TOKEN_FIELDS_KB", at_least=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Uploads larger than FILE_UPLOAD_MAX_MEMORY_SIZE are spooled to a temporary file here (the
# system's temporary directory when empty), deleted when the request ends.
FILE_UPLOAD_TEMP_DIR = _typed("FILE_UPLOAD_TEMP_DIR") or None

SECURE_SSL_REDIRECT = _typed("SECURE_SSL_REDIRECT")
# Load balancers probe /healthz over plain HTTP inside the network: a 301 would read as down.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _typed("SECURE_HSTS_SECONDS", at_least=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL_REDIRECT else None
SESSION_COOKIE_SECURE = _typed("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = _typed("CSRF_COOKIE_SECURE")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Sent on every response (tokenportal.middleware): scripts, styles and images from the portal's
# own static files only, nothing inline, no plugins, no framing, forms post only to the portal.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
SECURE_CONTENT_TYPE_NOSNIFF = True

# The bearer token a Prometheus scraper sends to /metrics (tokens_app.metrics_views); without it
# only signed-in staff may read the metrics. Long enough that guessing it is no way in.
METRICS_TOKEN = _typed("METRICS_TOKEN")
METRICS_TOKEN_MIN_LENGTH = 32
if METRICS_TOKEN and len(METRICS_TOKEN) < METRICS_TOKEN_MIN_LENGTH:
    raise ImproperlyConfigured(
        f"METRICS_TOKEN is not a valid value for METRICS_TOKEN: give at least {METRICS_TOKEN_MIN_LENGTH} characters "
        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    )

# Networks a scraper may read /metrics from without the token (e.g. 10.0.0.5/32, the Prometheus
# host as the portal sees it; TRUSTED_PROXIES says how far X-Forwarded-For is believed).
METRICS_ALLOWED_ADDRESSES = []
for _network in env.list("METRICS_ALLOWED_ADDRESSES", default=[]):
    try:
        METRICS_ALLOWED_ADDRESSES.append(ipaddress.ip_network(_network.strip(), strict=False))
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES has {_network!r}, which is no address or network (10.0.0.5, 10.0.0.0/24, ::1)"
        ) from None

LOGIN_RATE_LIMIT = _typed("LOGIN_RATE_LIMIT", at_least=1)
# How many reverse proxies in front of the portal append the client's address to X-Forwarded-For
# (tokenportal.login); 0 believes only the connection's address.
TRUSTED_PROXIES = _typed("TRUSTED_PROXIES", at_least=0)

# The cache holds the sign-in attempts (tokenportal.login). Several portal processes need a cache
# they share for the limit to hold across them: the default database cache is (migrate creates
# its table); redis:// or memcached also are, locmemcache:// is not.
try:
    CACHES = {"default": env.cache_url("CACHE_URL")}
except (ValueError, KeyError, ImproperlyConfigured):
    raise ImproperlyConfigured(f"CACHE_URL={env.str('CACHE_URL')!r} is not a cache URL django-environ knows") from None
# django-environ maps memcache:// to the MemcachedCache that Django 4.1 removed, and pymemcache://
# to pylibmc when pymemcache is missing: both mean Django's client for pymemcache.
if env.str("CACHE_URL").partition("://")[0] in ("memcache", "pymemcache"):
    CACHES["default"]["BACKEND"] = "django.core.cache.backends.memcached.PyMemcacheCache"
# The database and local-memory caches keep 300 entries unless told otherwise, then delete a third
# of them in key order (the shared counts, "tokenportal:zcounts:…", sort last so as to go last).
# A campaign keeps about ten entries (its reads, its database's counts); a MAX_ENTRIES in the
# URL's query (?max_entries=N) still decides.
if CACHES["default"]["BACKEND"].endswith((".DatabaseCache", ".LocMemCache")):
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)
    # Django reads a MAX_ENTRIES that is no number as 300, silently, and culls at every write below 1.
    if not re.fullmatch(r"[1-9][0-9]*", str(CACHES["default"]["OPTIONS"]["MAX_ENTRIES"])):
        raise ImproperlyConfigured(
            f"CACHE_URL: max_entries={CACHES['default']['OPTIONS']['MAX_ENTRIES']!r} is not a valid value: "
            "give a whole number of entries of at least 1, e.g. ?max_entries=100000"
        )

# Backends whose client is a package of its own: the importable modules (any one will do) and how
# to install one. Without it the portal would start and answer 500 on the first sign-in.
_CLIENTS = {
    "django.db.backends.postgresql": (("psycopg", "psycopg2"), "pip install '.[postgres]' in the portal's folder (or pip install 'psycopg[binary]')"),
    "django.db.backends.mysql": (("MySQLdb",), "pip install mysqlclient"),
    "django.core.cache.backends.redis.RedisCache": (("redis",), "pip install '.[redis]' in the portal's folder (or pip install redis)"),
    "django.core.cache.backends.memcached.PyMemcacheCache": (("pymemcache",), "pip install '.[memcached]' in the portal's folder (or pip install pymemcache)"),
    "django.core.cache.backends.memcached.PyLibMCCache": (("pylibmc",), "pip install pylibmc"),
}


def _require_client(setting: str, backend: str) -> None:
    """A startup error naming the package and the install line when ``backend`` has no client.

    The message names the URL's scheme only: the URL may hold a password.
    """
    modules, install = _CLIENTS.get(backend, ((), ""))
    if not modules:
        return
    problems = []
    for module in modules:
        try:
            importlib.import_module(module)
            return
        except ImportError as exc:
            problems.append(str(exc))
    scheme = env.str(setting, default="").partition("://")[0]
    raise ImproperlyConfigured(
        f"{setting} ({scheme}://...) needs the Python package {modules[0]}, which cannot be imported "
        f"({problems[0]}): {install}"
    )


_require_client("DATABASE_URL", DATABASES["default"]["ENGINE"])
_require_client("CACHE_URL", CACHES["default"]["BACKEND"])

# Locks (locks_app.lockables, locks_app.limits): the models users may lock from the browser and the
# commands, and how long a lock may run from now without locks_app.lock_until_ended (e.g. 7d, 12h).
# locks_app checks both when it starts.
LOCKABLE_MODELS = env.list("LOCKABLE_MODELS", default=["tokens_app.campaign"])
LOCK_MAX_DURATION = env.str("LOCK_MAX_DURATION", default="7d")



def _database_names(name: str) -> list[str]:
    """The database names of ``name`` (a comma-separated list), each one CouchDB allows."""
    from tokens_app.couch.paths import DATABASE_NAME

    names = [part.strip() for part in _typed(name) if part.strip()]
    bad = [part for part in names if not DATABASE_NAME.fullmatch(part)]
    if bad:
        raise ImproperlyConfigured(
            f"{name}={env.str(name)!r} is not a valid value for {name}: {bad[0]!r} is not a CouchDB database name"
        )
    return names


COUCHDB = {
    "URL": _typed("COUCHDB_URL"),
    "USER": _typed("COUCHDB_USER"),
    "PASSWORD": _required_secret("COUCHDB_PASSWORD"),
    "DATABASE": _typed("COUCHDB_DATABASE"),
    # The databases the portal looks in for other tools' campaigns where this user may not list
    # the server's (only a server admin may): a PiCaS user who administers a few databases.
    "DATABASES": _database_names("COUCHDB_DATABASES"),
    "TIMEOUT": _typed("COUCHDB_TIMEOUT", at_least=0.1),
    "BATCH_SIZE": _typed("COUCHDB_BATCH_SIZE", at_least=1),
    "WRITES_IN_FLIGHT": _typed("COUCHDB_WRITES_IN_FLIGHT", at_least=1),
    # A bulk request smaller than a mebibyte would send most tokens with a file one by one.
    "BATCH_BYTES": _typed("COUCHDB_BATCH_BYTES", at_least=2**20),
}

LOG_LEVEL = _typed("LOG_LEVEL").upper()
if LOG_LEVEL not in _LOG_LEVELS:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a valid value for LOG_LEVEL: give one of {', '.join(_LOG_LEVELS)}")

# Long operations run as tasks of Django's task framework (the django-tasks backport). The default
# backend keeps them in the ORM database, run by `manage.py db_worker`; any backend class for the
# framework (RQ, Celery, ...) can be named instead, with the worker that backend documents.
TASKS_BACKEND = _typed("TASKS_BACKEND")
if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", TASKS_BACKEND):
    raise ImproperlyConfigured(
        f"TASKS_BACKEND={TASKS_BACKEND!r} is not a valid value for TASKS_BACKEND: give the dotted path "
        "of a task backend class, e.g. django_tasks_db.DatabaseBackend"
    )
TASKS = {"default": {"BACKEND": TASKS_BACKEND, "QUEUES": ["default"]}}
# A running operation renews its lease at every step; one whose lease lapsed is interrupted.
TASKS_LEASE_SECONDS = _typed("TASKS_LEASE_SECONDS", at_least=1)
# A campaign with tokens left and none finished for this long is flagged stalled on the dashboard.
STALLED_MINUTES = _typed("STALLED_MINUTES", at_least=1)

# Notifications (tokens_app.services.notify): mail through Django's mail framework, configured by one
# URL (django-environ: smtp://user:password@host:587, smtp+ssl://…, consolemail://, filemail:///path).
# Development prints the mails; production sends them to the SMTP server on localhost unless told.
_EMAIL_URL = _typed("EMAIL_URL") or ("consolemail://" if DEBUG else "smtp://localhost:25")
try:
    _EMAIL = env.email_url_config(_EMAIL_URL)
except (ValueError, ImproperlyConfigured):
    # The URL may hold a password: the message names its scheme only.
    raise ImproperlyConfigured(
        f"EMAIL_URL ({_EMAIL_URL.partition('://')[0] + '://...' if '://' in _EMAIL_URL else 'without a scheme'}) is not a valid value for EMAIL_URL: give a mail URL such as "
        "smtp://user:password@mail.example.org:587, smtp+ssl://…, consolemail:// or filemail:///path/to/folder"
    ) from None
globals().update({name: value for name, value in _EMAIL.items() if name.startswith("EMAIL_") and value is not None})
# An SMTP server that stops answering must not hold the notifier.
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = _typed("DEFAULT_FROM_EMAIL")
# The portal's address as its users reach it, for the links in notifications (empty: paths only).
PORTAL_URL = _typed("PORTAL_URL").rstrip("/")
if PORTAL_URL and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", PORTAL_URL):
    raise ImproperlyConfigured(
        f"PORTAL_URL={PORTAL_URL!r} is not a valid value for PORTAL_URL: give the portal's address, e.g. https://portal.example.org"
    )
# How often the notifier (run by manage.py follow_changes) looks for events and retries deliveries.
NOTIFY_INTERVAL_SECONDS = _typed("NOTIFY_INTERVAL_SECONDS", at_least=1)
# A campaign's error rate (errors of its finished tokens) above this, once at least
# NOTIFY_ERROR_MIN_FINISHED tokens finished, is an event.
NOTIFY_ERROR_RATE = _typed("NOTIFY_ERROR_RATE", at_least=0)
if not 0 < NOTIFY_ERROR_RATE < 1:
    raise ImproperlyConfigured(
        f"NOTIFY_ERROR_RATE={NOTIFY_ERROR_RATE!r} is not a valid value for NOTIFY_ERROR_RATE: give a fraction between 0 and 1, e.g. 0.1"
    )
NOTIFY_ERROR_MIN_FINISHED = _typed("NOTIFY_ERROR_MIN_FINISHED", at_least=1)
# Webhooks go only to these hosts (names as in ALLOWED_HOSTS: exact, or ".example.org" for it
# and its subdomains); empty refuses every webhook. A list the administrator vouches for keeps
# users from making the portal post to addresses inside its network.
NOTIFY_WEBHOOK_ALLOWED_HOSTS = [host.strip().lower() for host in _typed("NOTIFY_WEBHOOK_ALLOWED_HOSTS") if host.strip()]
NOTIFY_WEBHOOK_TIMEOUT = _typed("NOTIFY_WEBHOOK_TIMEOUT", at_least=0.1)
# Tries of one delivery before it is recorded as failed for good.
NOTIFY_MAX_ATTEMPTS = _typed("NOTIFY_MAX_ATTEMPTS", at_least=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"urllib3": {"level": "WARNING"}},
}
