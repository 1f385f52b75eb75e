"""The one settings module: every value comes from the environment, safe by default.

Each environment variable of the design's contract is read once here, in the block of the app
it belongs to. ``DEMO_MODE`` changes defaults only: a variable set explicitly always wins.
Unsafe production values are rejected by ``manage.py check --deploy`` (sessions_admin/checks.py).
"""

import hashlib
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from redis.backoff import NoBackoff
from redis.retry import Retry

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no or on/off, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


# --- Demo mode ------------------------------------------------------------------------------
# Short timeouts, seeded users, a banner, and derived (clearly marked) secrets. Never in production:
# check --deploy fails on every demo secret.
DEMO_MODE = env_bool("DEMO_MODE", False)
DEMO_SECRET_MARK = "demo-only-insecure-"  # noqa: S105 - a marker, not a secret

# --- Django core ----------------------------------------------------------------------------
SECRET_KEY = env_str("SECRET_KEY")
if SECRET_KEY is None:
    if not DEMO_MODE:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEMO_MODE=1 to run the demo with a marked, insecure demo key."
        )
    SECRET_KEY = DEMO_SECRET_MARK + "secret-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz"

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]

INSTALLED_APPS = [
    "accounts",
    "sessions_admin",
    "second_factor",
    "demo",
    "lab",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
]

MIDDLEWARE = [
    # First: forwarded headers count only from a declared proxy's address (TRUSTED_PROXY_IPS).
    "project.middleware.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outermost of ours: static files and early refusals carry it too.
    "project.middleware.CrossOriginResourcePolicyMiddleware",
    "project.middleware.RejectTraceMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside everything that can answer early (policy 401/429, CSRF 403), inside whitenoise
    # (static files are cached for a year): every dynamic response is no-store and unframeable.
    "project.middleware.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Fetch Metadata resource isolation: a cross-site request that is not a top-level navigation
    # is refused (403) before any session is loaded or created.
    "project.middleware.FetchMetadataMiddleware",
    # Outside SessionMiddleware: a session-store outage anywhere inside is a 503 with
    # Retry-After that keeps the cookie (the engine's page, sessions_admin/503.html).
    "sessions_admin.middleware.StoreOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sessions_admin.middleware.SessionPolicyMiddleware",
    # "Keep me signed in": a request with no live session but a valid device token is signed
    # in (services.sign_in: the concurrency policy applies) before the view runs.
    "sessions_admin.remember.RememberMeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Innermost: a view's bare 405 becomes a page with a way back, rendered with the session.
    "project.middleware.MethodNotAllowedPageMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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
                "sessions_admin.context_processors.session_ui",
                "project.context_processors.site",
            ],
        },
    }
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Database: users and the security event log, never sessions -----------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": VAR_DIR / "db.sqlite3"}
    }

# --- Passwords: Argon2id first, at least OWASP's m=19 MiB, t=2, p=1 (accounts/hashers.py) ----
PASSWORD_HASHERS = [
    "accounts.hashers.OwaspArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis: the session store ------------------------------------------------------------------
# Unset REDIS_URL means the embedded redis-server (project/embedded_redis.py) on a unix socket.
# REDIS_SENTINELS ("host:port,...") instead selects the primary that those Sentinels name
# REDIS_SENTINEL_MASTER, asked again on every new connection, so a failover is followed without
# a restart; REDIS_URL is then unused and nothing embedded starts (docs/deployment.md, Sentinel).
REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 1.0)


def env_sentinels(name: str) -> list[tuple[str, int]]:
    sentinels = []
    for item in (env_str(name) or "").split(","):
        if not item.strip():
            continue
        host, _, port = item.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(f"{name} must be host:port,host:port,..., not {item!r}")
        sentinels.append((host.strip("[]"), int(port)))
    return sentinels


REDIS_SENTINELS = env_sentinels("REDIS_SENTINELS")
REDIS_SENTINEL_MASTER = env_str("REDIS_SENTINEL_MASTER")
if REDIS_SENTINELS and not REDIS_SENTINEL_MASTER:
    raise ImproperlyConfigured("REDIS_SENTINELS needs REDIS_SENTINEL_MASTER, the primary's name")
if REDIS_SENTINELS:
    # django-redis reads the service name from the URL's host part: redis://<name>/<db>.
    REDIS_URL = f"redis://{REDIS_SENTINEL_MASTER}/0"
else:
    REDIS_URL = env_str("REDIS_URL") or f"unix://{VAR_DIR / 'redis.sock'}"
# On: REDIS_URL names one node of a Redis Cluster, and sessions_admin.redis_keys.connection() is a
# redis.cluster.RedisCluster. The "sessions" cache below is then unused (nothing uses Django's
# cache API on it: the engine sends raw commands through connection()).
REDIS_CLUSTER = env_bool("REDIS_CLUSTER", False)
if REDIS_CLUSTER and REDIS_SENTINELS:
    raise ImproperlyConfigured(
        "REDIS_CLUSTER and REDIS_SENTINELS exclude each other: a Cluster fails over by itself"
    )
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_TIMEOUT,
            # Fail fast: a retried timeout would multiply REDIS_TIMEOUT before the 503.
            "CONNECTION_POOL_KWARGS": {"max_connections": 64, "retry": Retry(NoBackoff(), 0)},
            "REDIS_CLIENT_KWARGS": {"retry": Retry(NoBackoff(), 0)},
        },
    },
}
if REDIS_SENTINELS:
    CACHES["sessions"]["OPTIONS"].update(
        {
            # Every command goes to the primary (sessions_admin.redis_keys.connection); a
            # demoted one's READONLY reply drops the connection and the next one asks again.
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": REDIS_SENTINELS,
            # Asking the Sentinels is bounded by the same timeout, with no retries either.
            "SENTINEL_KWARGS": {
                "socket_connect_timeout": REDIS_TIMEOUT,
                "socket_timeout": REDIS_TIMEOUT,
                "retry": Retry(NoBackoff(), 0),
                "password": env_str("REDIS_SENTINEL_PASSWORD"),
            },
        }
    )

# --- Sessions: Django's machinery, our engine ------------------------------------------------
SESSION_ENGINE = "sessions_admin.store"
SESSION_CACHE_ALIAS = "sessions"
SESSION_COOKIE_NAME = env_str("SESSION_COOKIE_NAME", "__Host-id")
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_PATH = "/"
SESSION_COOKIE_DOMAIN = None
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SERIALIZER = "django.contrib.sessions.serializers.JSONSerializer"

CSRF_USE_SESSIONS = True
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "project.views.csrf_failure"

_DEMO_DERIVED = hashlib.sha256(SECRET_KEY.encode()).hexdigest()


def _session_secret(name: str, purpose: str) -> str | None:
    value = env_str(name)
    if value is None and DEMO_MODE:
        return DEMO_SECRET_MARK + hashlib.sha256(f"{purpose}:{_DEMO_DERIVED}".encode()).hexdigest()
    return value


def _demo(value):
    """A demo-mode default; outside demo mode None, which keeps the engine's own default."""
    return value if DEMO_MODE else None


# The engine's settings. sessions_admin/conf.py declares every key (default, unit, meaning) and
# refuses unknown keys and bad values at start-up; docs/settings.md lists them. Here only the
# environment variables mapped onto them, demo mode's shorter defaults and this project's own
# pages and hooks; a key whose value is None is left out, so the engine's default applies.
SESSIONS_ADMIN = {
    key: value
    for key, value in {
        "IDLE_TIMEOUT": env_int("SESSION_IDLE_TIMEOUT", _demo(120)),
        "ABSOLUTE_TIMEOUT": env_int("SESSION_ABSOLUTE_TIMEOUT", _demo(300)),
        "IDLE_WARNING": env_int("SESSION_IDLE_WARNING", _demo(30)),
        "ACTIVITY_RESOLUTION": env_int("SESSION_ACTIVITY_RESOLUTION", None),
        "ROTATION_GRACE": env_int("SESSION_ROTATION_GRACE", None),
        "GUESS_LIMIT": env_int("SESSION_GUESS_LIMIT", None),
        "MAX_PER_USER": env_int("SESSION_MAX_PER_USER", None),
        "MAX_PER_STAFF": env_int("SESSION_MAX_PER_STAFF", None),
        "CONCURRENCY_POLICY": env_str("SESSION_CONCURRENCY_POLICY"),
        "BIND_UA": env_str("SESSION_BIND_UA"),
        "BIND_IP": env_str("SESSION_BIND_IP"),
        "TRUSTED_PROXY_COUNT": env_int("TRUSTED_PROXY_COUNT", None),
        "ELEVATION_TIMEOUT": env_int("ELEVATION_TIMEOUT", _demo(120)),
        "ENCRYPTION_KEYS": _session_secret("SESSION_ENCRYPTION_KEYS", "fernet"),
        "ENCRYPTION_KEYS_FILE": env_str("SESSION_ENCRYPTION_KEYS_FILE"),
        "KEY_PEPPER": _session_secret("SESSION_KEY_PEPPER", "pepper"),
        "REDIS_KEY_PREFIX": env_str("REDIS_KEY_PREFIX"),
        # a sign-in is acknowledged once this many replicas hold it (Redis WAIT; one by default
        # under Sentinel, where a failover would otherwise lose acknowledged sign-ins)
        "SIGN_IN_REPLICAS": env_int("REDIS_SIGN_IN_REPLICAS", 1 if REDIS_SENTINELS else None),
        "SIGN_IN_WAIT_MS": env_int("REDIS_SIGN_IN_WAIT_MS", None),
        "ANONYMOUS_TIMEOUT": env_int("LOGIN_TIMEOUT", None),
        "REMEMBER_DAYS": env_int("SESSION_REMEMBER_DAYS", _demo(1)),
        # demo mode: off, so carol can try sudo mode with her password alone
        "STAFF_REQUIRE_SECOND_FACTOR": env_bool("STAFF_REQUIRE_SECOND_FACTOR", _demo(False)),
        # this project's: the mark its demo secrets carry (check --deploy refuses them), staff
        # kept inside their private sandbox (demo/scope.py), its second-factor page
        "DEMO_SECRET_MARK": DEMO_SECRET_MARK,
        "CONSOLE_USER_SCOPE": "demo.scope.console_users",
        "SECOND_FACTOR_URL": "second_factor:verify",
    }.items()
    if value is not None
}

# --- Second factor: passkeys (WebAuthn) and one-time codes (second_factor/) -------------------
# The WebAuthn relying party ID: None means the request's host name (without port), so
# https://localhost:8443 registers passkeys for "localhost". Browsers refuse IP addresses.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID")
WEBAUTHN_RP_NAME = "Secure Sessions"

# --- Accounts --------------------------------------------------------------------------------
# Password throttling (accounts/throttle.py; docs/controls.md "Password throttling"). Each limit
# counts failures in LOGIN_FAILURE_WINDOW seconds; all scale with LOGIN_FAILURE_LIMIT.
_login_failure_limit = env_int("LOGIN_FAILURE_LIMIT", 5)
ACCOUNTS = {
    # per (account, client); a client is an IPv4 address or an IPv6 /64
    "LOGIN_FAILURE_LIMIT": _login_failure_limit,
    # seconds a failure counts (demo: 2 minutes, so a trainer can show the throttle lifting)
    "LOGIN_FAILURE_WINDOW": env_int("LOGIN_FAILURE_WINDOW", 120 if DEMO_MODE else 900),
    # per account, counted from clients it has not signed in from lately (spraying one account)
    "LOGIN_ACCOUNT_FAILURE_LIMIT": 5 * _login_failure_limit,
    # per client across accounts, for (account, client) pairs not known (credential stuffing);
    # high enough for a classroom behind one NAT
    "LOGIN_CLIENT_FAILURE_LIMIT": 20 * _login_failure_limit,
    # seconds a client stays known to an account after a correct password from it
    "LOGIN_KNOWN_CLIENT_TTL": 30 * 86400,
    # per signed-in session: sudo / confirm password and the current password on password change
    "REAUTH_FAILURE_LIMIT": _login_failure_limit,
    # seconds before an untouched login page reloads itself (OWASP's initial login timeout)
    "LOGIN_TIMEOUT": env_int("LOGIN_TIMEOUT", 600),
}

# --- Demo: private sandboxes (demo/; docs/deployment.md "Sandboxes") ------------------------
# /demo/ exists in demo mode only. With DEMO_SANDBOXES on, each visitor starts private users
# (two members, one staff) that nobody else can see or act on; off, it shows the shared
# alice/bob/carol that seed_demo creates.
DEMO = {
    "SANDBOXES": env_bool("DEMO_SANDBOXES", False),
    # seconds a sandbox lives; then prune_sandboxes (or the next /demo/ visit) removes it
    "SANDBOX_TTL": env_int("DEMO_SANDBOX_TTL", 7200),
    # sandboxes alive at once; past it /demo/ answers 503 with Retry-After
    "SANDBOX_MAX": env_int("DEMO_SANDBOX_MAX", 500),
    # sandboxes one client (an IPv4 address or an IPv6 /64) may start per START_WINDOW seconds
    "START_LIMIT": 5,
    "START_WINDOW": 600,
}

# --- Lab: the workshop's exercises (lab/; docs/workshop.md) --------------------------------------
# /lab/ exists in demo mode only (every lab URL is a 404 otherwise) and check --deploy fails while
# it is on (lab.E001). In demo mode the lab records the refusals the engine answers quietly
# (lab.detect.LabMiddleware, just outside the policy middleware), lowers the guessing limit so a
# learner can reach it by hand (an explicit SESSION_GUESS_LIMIT still wins), and installs the
# control switch that lets a learner turn a control off for their own sandbox. The switch is set
# here and nowhere else; check --deploy refuses it wherever it is set (lab.E002).
LAB_ENABLED = DEMO_MODE
if LAB_ENABLED:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("sessions_admin.middleware.SessionPolicyMiddleware"),
        "lab.detect.LabMiddleware",
    )
    TEMPLATES[0]["OPTIONS"]["context_processors"].append("lab.context_processors.lab")
    SESSIONS_ADMIN["CONTROL_SWITCH"] = "lab.switches.control_on"
    if env_str("SESSION_GUESS_LIMIT") is None:
        SESSIONS_ADMIN["GUESS_LIMIT"] = 10

# --- HTTP security headers -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_RESOURCE_POLICY = "same-origin"  # project.middleware, on every response
# HSTS is sent by SecurityMiddleware on HTTPS responses only; one year once deployed over TLS.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
# Subdomains too (a cookie-tossing subdomain over HTTP is the threat); check --deploy insists.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# TLS terminates at a proxy in production; it tells us the scheme only if we trust it. With no
# trusted proxy no forwarded header is believed, by Django or by gunicorn (gunicorn.conf.py).
# The proxies' own addresses (gunicorn's FORWARDED_ALLOW_IPS): forwarded headers from any other
# peer are dropped (project.middleware.ForwardedHeadersMiddleware). "*" trusts every peer.
TRUSTED_PROXY_IPS = [
    a.strip() for a in env_str("FORWARDED_ALLOW_IPS", "127.0.0.1,::1").split(",") if a.strip()
]
if env_int("TRUSTED_PROXY_COUNT", 0) > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
X_FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        # Violations are POSTed here (project.views.csp_report): a csp_violation security event.
        "report-uri": ["/csp-report/"],
    }
}

# --- Static files: fingerprinted, cached for a year, served by whitenoise --------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "project.static_storage.CachedURLManifestStaticFilesStorage"},
}

# --- Logging: security events are one JSON line each on the "security" logger --------------
# django.security.* (CSRF failures, disallowed hosts, suspicious operations) gets the console
# handler too: Django's default sends it to a handler that is silent with DEBUG off.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "message"}},
    "loggers": {
        "security": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.security": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
