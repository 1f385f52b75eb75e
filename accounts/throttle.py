"""Sign-in throttling: LOGIN_FAILURE_LIMIT failures per account (5x per client IP) in a window.

django-axes was not used: it counts attempts in the database or Django's cache and locks by its
own rules, while this project keeps all such state in Redis under the contract's
``throttle:{kind}:{value}`` keys and times it with the one moveable clock, in about 60 lines.

Each key is a sorted set of failure times (scored by ``clock.now()``), so the window slides: a
failure stops counting exactly LOGIN_FAILURE_WINDOW seconds after it happened. The key's TTL is
garbage collection only. Successes never count, and a refused (throttled) attempt is not a failure,
so the wait never grows while the user waits. Callers check ``wait_seconds`` *before* a password
is hashed, so a throttled client cannot make the server burn Argon2 time either.
"""

import math
import unicodedata
import uuid

from django.conf import settings

from sessions_admin import clock
from sessions_admin.redis_keys import connection, guarded, throttle_key

IP_MULTIPLIER = 5


def _limits() -> tuple[int, int]:
    accounts = settings.ACCOUNTS
    return accounts["LOGIN_FAILURE_LIMIT"], accounts["LOGIN_FAILURE_WINDOW"]


def _account_id(username: str) -> str:
    """The name as Django's AuthenticationForm sees it (NFKC), case-blind: one counter per account.

    Without NFKC, a fullwidth "a" in "alice" would sign in as alice yet count under another key.
    """
    return unicodedata.normalize("NFKC", username).strip().lower()[:150]


def _keys(username: str, ip: str) -> list[tuple[str, int]]:
    """(key, limit) for the account and the client IP. Usernames are compared case-blind."""
    limit, _ = _limits()
    keys = [(throttle_key("user", _account_id(username)), limit)]
    if ip:
        keys.append((throttle_key("ip", ip), limit * IP_MULTIPLIER))
    return keys


def wait_seconds(*, username: str, ip: str) -> int:
    """Seconds until this account and IP may try again; 0 when neither is over its limit."""
    _, window = _limits()
    now = clock.now()
    keys = _keys(username, ip)
    with guarded():
        pipe = connection().pipeline(transaction=False)
        for key, limit in keys:
            pipe.zremrangebyscore(key, "-inf", now - window)
            # The failure that must age out before one more attempt is allowed.
            pipe.zrevrange(key, limit - 1, limit - 1, withscores=True)
        replies = pipe.execute()
    wait = 0.0
    for blocking in replies[1::2]:
        if blocking:
            wait = max(wait, blocking[0][1] + window - now)
    return math.ceil(wait) if wait > 0 else 0


def record_failure(*, username: str, ip: str) -> None:
    _, window = _limits()
    now = clock.now()
    with guarded():
        pipe = connection().pipeline(transaction=False)
        for key, _limit in _keys(username, ip):
            pipe.zadd(key, {f"{now}:{uuid.uuid4().hex[:8]}": now})
            pipe.expire(key, window + 60)
        pipe.execute()


def clear_account(*, username: str) -> None:
    """A correct password clears the account's count; the IP's count stays (it is shared)."""
    with guarded():
        connection().delete(throttle_key("user", _account_id(username)))


def first_refusal(*, username: str, ip: str, wait: int) -> bool:
    """True once per throttling period: a flood of refused attempts logs one event, not one each."""
    key = throttle_key("refusal-logged", f"{_account_id(username)}|{ip}")
    with guarded():
        return bool(connection().set(key, 1, nx=True, ex=max(wait, 1)))


def message(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
