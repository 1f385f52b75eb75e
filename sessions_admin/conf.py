"""Typed, lazily read access to the ``SESSIONS_ADMIN`` setting (documented in project/settings.py).

Read at call time, never frozen at import, so ``override_settings`` works in tests.
"""

from django.conf import settings

DEFAULTS = {
    "IDLE_TIMEOUT": 900,
    "ABSOLUTE_TIMEOUT": 28800,
    "IDLE_WARNING": 60,
    "ACTIVITY_RESOLUTION": 15,
    "ROTATION_GRACE": 30,
    "GUESS_LIMIT": 50,
    "GUESS_WINDOW": 600,
    "MAX_PER_USER": 3,
    # live sessions per staff account (same CONCURRENCY_POLICY), at sign-in and at elevation
    "MAX_PER_STAFF": 1,
    "CONCURRENCY_POLICY": "prompt",
    "BIND_UA": "terminate",
    "BIND_IP": "log",
    "TRUSTED_PROXY_COUNT": 0,
    "ELEVATION_TIMEOUT": 600,
    "ENCRYPTION_KEYS": None,
    "ENCRYPTION_KEYS_FILE": None,
    "KEY_PEPPER": None,
    "REDIS_KEY_PREFIX": "",
    "END_REASON_RETENTION": 86400,
    # seconds pre-login state (a visitor's CSRF token, a pending choice) lives
    "ANONYMOUS_TIMEOUT": 600,
    # secrets starting with this are derived demo values: accepted, and refused by check --deploy
    "DEMO_SECRET_MARK": "demo-only-insecure-",
    # where the gates send a user for the password (sudo mode / recent authentication): a path
    # or a URL name; that view calls gates.resume() after a correct password
    "ELEVATE_URL": "/accounts/elevate/",
    # where the timeout script posts to sign out (a path or a URL name; POST only)
    "LOGOUT_URL": "/accounts/logout/",
    # seconds a POST stopped by a gate is kept for completion after the password
    "PENDING_ACTION_TTL": 300,
    # which users the staff console lists and may act on: None for every user, or the dotted
    # path of a function taking the request and returning a queryset of the user model (for
    # tenants, or the demo's private sandboxes). console.py imports it with import_string; a
    # user outside the queryset is a 404 for every console page and action.
    "CONSOLE_USER_SCOPE": None,
    # "Keep me signed in" (remember.py): days a device token lives from the password sign-in
    # that issued it (0: the option is off), and the name of its cookie (a __Host- name)
    "REMEMBER_DAYS": 30,
    "REMEMBER_COOKIE_NAME": "__Host-remember",
    # staff need a second factor (passkey or one-time code) proven within the elevation window
    # for the console (policy.required_assurance); the engine knows factors only as sealed facts
    "STAFF_REQUIRE_SECOND_FACTOR": True,
    # where the console's gate sends a staff session that lacks that factor (a path or a URL
    # name, with ?next=): the project's page that verifies one, or offers to enroll one; it
    # calls services.prove_factor() and then gates.resume()
    "SECOND_FACTOR_URL": "/accounts/security/verify/",
}


class _Settings:
    def __getattr__(self, name: str):
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(settings, "SESSIONS_ADMIN", {}).get(name, DEFAULTS[name])


app_settings = _Settings()


_limits_cache: tuple[object, object] | None = None


def limits():
    """The policy limits as the pure policy module takes them (modes as enums: see validate).

    Built once per ``SESSIONS_ADMIN`` object (a request asks several times; ``override_settings``
    and the tests' fixtures replace the dict, which rebuilds it; nothing mutates it in place).
    """
    global _limits_cache
    source = getattr(settings, "SESSIONS_ADMIN", None)
    if _limits_cache is not None and _limits_cache[0] is source:
        return _limits_cache[1]
    built = _build_limits()
    _limits_cache = (source, built)
    return built


def _build_limits():
    from .policy import Limits

    return Limits(
        idle=app_settings.IDLE_TIMEOUT,
        absolute=app_settings.ABSOLUTE_TIMEOUT,
        resolution=effective_resolution(),
        grace=app_settings.ROTATION_GRACE,
        elevation=app_settings.ELEVATION_TIMEOUT,
        bind_ua=app_settings.BIND_UA,
        bind_ip=app_settings.BIND_IP,
        anonymous=app_settings.ANONYMOUS_TIMEOUT,
        retention=app_settings.END_REASON_RETENTION,
    )


def concurrency_policy():
    from .policy import ConcurrencyPolicy

    return ConcurrencyPolicy(app_settings.CONCURRENCY_POLICY)


def validate() -> None:
    """Refuse to start with a policy mode that does not exist (a typo must not fail open).

    Called from the app's ``ready()``: manage.py, gunicorn and the tests all stop at start-up.
    """
    from django.core.exceptions import ImproperlyConfigured

    from .policy import BindMode, ConcurrencyPolicy

    for name, enum in (
        ("BIND_UA", BindMode),
        ("BIND_IP", BindMode),
        ("CONCURRENCY_POLICY", ConcurrencyPolicy),
    ):
        value = getattr(app_settings, name)
        try:
            enum(value)
        except ValueError:
            choices = ", ".join(m.value for m in enum)
            raise ImproperlyConfigured(
                f"SESSIONS_ADMIN[{name!r}] is {value!r}; it must be one of {choices}."
            ) from None


def effective_resolution() -> int:
    """ACTIVITY_RESOLUTION, but never more than a tenth of the idle timeout (the design's rule)."""
    return max(1, min(app_settings.ACTIVITY_RESOLUTION, app_settings.IDLE_TIMEOUT // 10))
