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
}


class _Settings:
    def __getattr__(self, name: str):
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(settings, "SESSIONS_ADMIN", {}).get(name, DEFAULTS[name])


app_settings = _Settings()


def limits():
    """The policy limits as the pure policy module takes them."""
    from .policy import Limits

    return Limits(
        idle=app_settings.IDLE_TIMEOUT,
        absolute=app_settings.ABSOLUTE_TIMEOUT,
        resolution=effective_resolution(),
        grace=app_settings.ROTATION_GRACE,
        elevation=app_settings.ELEVATION_TIMEOUT,
        bind_ua=app_settings.BIND_UA,
        bind_ip=app_settings.BIND_IP,
    )


def effective_resolution() -> int:
    """ACTIVITY_RESOLUTION, but never more than a tenth of the idle timeout (the design's rule)."""
    return max(1, min(app_settings.ACTIVITY_RESOLUTION, app_settings.IDLE_TIMEOUT // 10))
