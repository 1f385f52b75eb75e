"""The Redis layout (a contract of the design) and the one connection every module uses.

    sess:{h}:data        Fernet token of the payload; TTL = time to the sooner deadline
    sess:{h}:meta        hash of security metadata, written field by field
    user:{uid}:sessions  sorted set of h scored by last_seen: the per-user index
    user:{uid}:obsolete  sorted set of the user's tombstones (rotated-away h), for deletion
    guess:{ip}           unknown keys presented by one client IP (strict mode)

``h`` is HMAC-SHA256(pepper, raw key). The ``{h}`` hash tag keeps one session's keys in one
Redis Cluster slot, so the scripts below touching data and meta stay single-slot.
"""

from django_redis import get_redis_connection
from redis.exceptions import RedisError

from .conf import app_settings


class StoreUnavailable(Exception):
    """Redis did not answer in REDIS_TIMEOUT: the request is answered 503, the cookie is kept."""


def connection():
    return get_redis_connection("sessions")


def _p() -> str:
    return app_settings.REDIS_KEY_PREFIX


def data_key(h: str) -> str:
    return f"{_p()}sess:{{{h}}}:data"


def meta_key(h: str) -> str:
    return f"{_p()}sess:{{{h}}}:meta"


def user_index_key(uid: str | int) -> str:
    return f"{_p()}user:{uid}:sessions"


def user_tombstones_key(uid: str | int) -> str:
    """Sorted set of the user's obsolete (rotated-away) digests, scored by when they expire."""
    return f"{_p()}user:{uid}:obsolete"


def guess_key(ip: str) -> str:
    return f"{_p()}guess:{ip}"


def throttle_key(kind: str, value: str) -> str:
    return f"{_p()}throttle:{kind}:{value}"


def pending_login_key(token: str) -> str:
    return f"{_p()}pending-login:{token}"


class guarded:
    """Context manager turning any Redis failure into StoreUnavailable."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, RedisError):
            raise StoreUnavailable(str(exc)) from exc
        return False
