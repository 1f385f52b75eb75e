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
REDIS_URL = env_str("REDIS_URL") or f"unix://{VAR_DIR / 'redis.sock'}"
REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 1.0)
# On: REDIS_URL names one node of a Redis Cluster, and sessions_admin.redis_keys.connection() is a
# redis.cluster.RedisCluster. The "sessions" cache below is then unused (nothing uses Django's
# cache API on it: the engine sends raw commands through connection()).
REDIS_CLUSTER = env_bool("REDIS_CLUSTER", False)
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


SESSIONS_ADMIN = {
    # seconds without activity before a session ends
    "IDLE_TIMEOUT": env_int("SESSION_IDLE_TIMEOUT", 120 if DEMO_MODE else 900),
    # seconds since sign-in after which a session ends, whatever the activity
    "ABSOLUTE_TIMEOUT": env_int("SESSION_ABSOLUTE_TIMEOUT", 300 if DEMO_MODE else 28800),
    # seconds of countdown shown before the idle logout
    "IDLE_WARNING": env_int("SESSION_IDLE_WARNING", 30 if DEMO_MODE else 60),
    # seconds between activity writes; capped at a tenth of the idle timeout (conf.limits)
    "ACTIVITY_RESOLUTION": env_int("SESSION_ACTIVITY_RESOLUTION", 15),
    # seconds a rotated-away key still works, read-only, with its old privileges
    "ROTATION_GRACE": env_int("SESSION_ROTATION_GRACE", 30),
    # unknown session keys one client IP may present in GUESS_WINDOW seconds before a 429
    "GUESS_LIMIT": env_int("SESSION_GUESS_LIMIT", 50),
    "GUESS_WINDOW": 600,
    # live sessions per user, and what happens at the limit
    "MAX_PER_USER": env_int("SESSION_MAX_PER_USER", 3),
    # live sessions per staff account (whose sessions can reach the console), same policy
    "MAX_PER_STAFF": env_int("SESSION_MAX_PER_STAFF", 1),
    "CONCURRENCY_POLICY": env_choice(
        "SESSION_CONCURRENCY_POLICY", "prompt", ("evict_oldest", "deny_new", "prompt")
    ),
    # what a change of user agent / client IP does: off, log or terminate
    "BIND_UA": env_choice("SESSION_BIND_UA", "terminate", ("off", "log", "terminate")),
    "BIND_IP": env_choice("SESSION_BIND_IP", "log", ("off", "log", "terminate")),
    # proxies in front of the app whose X-Forwarded-For entries are trusted
    "TRUSTED_PROXY_COUNT": env_int("TRUSTED_PROXY_COUNT", 0),
    # seconds of sudo mode; also the recent-authentication window for ending sessions
    "ELEVATION_TIMEOUT": env_int("ELEVATION_TIMEOUT", 120 if DEMO_MODE else 600),
    # Fernet keys, one per line or comma-separated: the first encrypts, all decrypt
    "ENCRYPTION_KEYS": _session_secret("SESSION_ENCRYPTION_KEYS", "fernet"),
    "ENCRYPTION_KEYS_FILE": env_str("SESSION_ENCRYPTION_KEYS_FILE"),
    # HMAC key under which session keys are stored in Redis
    "KEY_PEPPER": _session_secret("SESSION_KEY_PEPPER", "pepper"),
    # prefix for every Redis key (tests use their own; empty in production)
    "REDIS_KEY_PREFIX": env_str("REDIS_KEY_PREFIX", ""),
    # seconds an ended session's reason is kept so its next request can say why it ended
    "END_REASON_RETENTION": 86400,
    # seconds pre-login state lives (a cookieless visitor's session): the login page's timeout
    "ANONYMOUS_TIMEOUT": env_int("LOGIN_TIMEOUT", 600),
    # days a "Keep me signed in" device token lives (0: the option is not offered)
    "REMEMBER_DAYS": env_int("SESSION_REMEMBER_DAYS", 1 if DEMO_MODE else 30),
    # the mark of derived demo secrets, which check --deploy refuses
    "DEMO_SECRET_MARK": DEMO_SECRET_MARK,
    # the users the staff console lists and acts on: a dotted path to a function (request) ->
    # queryset (default: every user). demo/scope.py keeps staff inside their private sandbox.
    "CONSOLE_USER_SCOPE": "demo.scope.console_users",
    # staff need a passkey or one-time code, proven within ELEVATION_TIMEOUT, for the console
    # (on by default; demo mode: off, so carol can try sudo mode with her password alone)
    "STAFF_REQUIRE_SECOND_FACTOR": env_bool("STAFF_REQUIRE_SECOND_FACTOR", not DEMO_MODE),
    # where the console sends a staff session without that factor: verify one, or enroll one
    "SECOND_FACTOR_URL": "second_factor:verify",
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
