"""Password throttling: an attempt is counted *before* its password is hashed, in budgets chosen
so that nobody's failures lock out somebody else.

**Reserve, then hash.** ``reserve_*`` runs one Lua script that, for each bucket of the attempt,
drops entries older than LOGIN_FAILURE_WINDOW, refuses (returning the wait) if any bucket is at
its limit, and otherwise adds one reservation to every bucket, all atomically. Only then is the
password hashed. A wrong password leaves the reservation as the counted failure; a right one
refunds it (``succeeded``); a form error that is not about the password refunds it (``refund``).
So N parallel attempts never get more than the limit hashed (the old check-then-hash-then-count
let 9 of 40 through against a limit of 5), and a refused attempt never costs an Argon2 hash.

**Buckets** (sorted sets of reservation ids scored by ``clock.now()``: the window slides, each
failure stops counting exactly LOGIN_FAILURE_WINDOW seconds after it; TTLs are garbage
collection only). A client is ``policy.client_key(ip)``: an IPv4 address or an IPv6 /64.

* ``pair``: (client, account), LOGIN_FAILURE_LIMIT (5 / 15 min). Always applies: online
  guessing of one account from one client.
* ``account``: one account from every client, LOGIN_ACCOUNT_FAILURE_LIMIT (25). Counts and
  applies only to clients the account has *not* signed in from in LOGIN_KNOWN_CLIENT_TTL (30
  days): spraying one account from many addresses is slowed, yet the owner on a known client
  is never locked out by it. This is OWASP's "device cookie" idea kept server-side (a per-account
  sorted set of known client keys written on a correct password), because the contract allows
  no other cookie at sign-in.
* ``client``: one client across accounts, LOGIN_CLIENT_FAILURE_LIMIT (100): a ceiling on
  credential stuffing from one address that a classroom behind one NAT stays under (30 people
  mistyping thrice); a known (account, client) pair neither counts toward nor is stopped by it.
* ``factor`` / ``factor-account``: one-time codes and passkeys (``reserve_factor``), per pending
  sign-in or session, and per account.
* ``session``: re-authentication inside a signed-in session (sudo / confirm password, the
  current password on password change), REAUTH_FAILURE_LIMIT (5) per session digest. Anonymous
  failures never touch it, and its failures never spend the anonymous budgets, so an outsider
  cannot keep the real user from re-authenticating to end a thief's session or change the
  password, and a thief holding a session still gets only 5 guesses per 15 minutes.

What is left: an attacker behind the very client bob uses (same IPv4 or /64) spends bob's pair
budget there; a known client only guards against everyone else. A new device of bob's waits
while bob's account is being sprayed (25 failures from unknown clients); a new pair behind a NAT
that produced 100 failures in 15 minutes waits too.

Every key is ``{prefix}throttle:{signin}:{kind}:{value}``: accounts owns them; the one hash tag
keeps the multi-key script in one Redis Cluster slot (sign-ins are a small share of traffic).

django-axes was not used: it counts in the database or Django's cache, checks then counts (the
race above), and keys lockouts by username and/or IP, while this needs atomic reservations and
per-pair / known-client / per-session budgets in Redis, timed by the one moveable clock.
"""

import math
import unicodedata
import uuid
from dataclasses import dataclass, field

from django.conf import settings

from sessions_admin import clock
from sessions_admin.conf import app_settings
from sessions_admin.policy import client_key
from sessions_admin.redis_keys import cluster_mode, connection, guarded, script

# KEYS: the buckets, then (sign-in only) the account's known-client set. ARGV: now, window,
# member, ttl, one limit per bucket, then (sign-in only) the client and the oldest score that
# still makes it known. A known client is counted in the first bucket only (the pair).
# Returns "0:<n>" having reserved in the first n buckets, or the wait (seconds, as text: a Lua
# number would be truncated to an integer reply) having reserved nothing. One round trip.
_RESERVE = """
local now, window, member, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local n = #KEYS
if #ARGV > 4 + n then
  n = n - 1
  local seen = redis.call('ZSCORE', KEYS[n + 1], ARGV[5 + n])
  if seen and tonumber(seen) > tonumber(ARGV[6 + n]) then n = 1 end
end
local wait = 0
for i = 1, n do
  local key, limit = KEYS[i], tonumber(ARGV[4 + i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local blocking = redis.call('ZRANGE', key, -limit, -limit, 'WITHSCORES')
    local w = tonumber(blocking[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('EXPIRE', KEYS[i], ttl)
end
return '0:' .. n
"""


@dataclass
class Attempt:
    """One password check: the buckets it reserved in, or the wait that refused it."""

    wait: int
    subject: str  # who a refusal is logged once per period for: "client|account" or a session
    member: str = ""
    buckets: list[tuple[str, int]] = field(default_factory=list)
    account: str = ""
    client: str = ""


def key(kind: str, value: str) -> str:
    """The Redis key of one throttle bucket (or set); accounts owns these keys."""
    return f"{app_settings.REDIS_KEY_PREFIX}throttle:{{signin}}:{kind}:{value}"


def _conf() -> dict:
    accounts = settings.ACCOUNTS
    limit = accounts["LOGIN_FAILURE_LIMIT"]
    return {
        "pair": limit,
        "account": accounts.get("LOGIN_ACCOUNT_FAILURE_LIMIT", 5 * limit),
        "client": accounts.get("LOGIN_CLIENT_FAILURE_LIMIT", 20 * limit),
        "session": accounts.get("REAUTH_FAILURE_LIMIT", limit),
        "window": accounts["LOGIN_FAILURE_WINDOW"],
        "known_ttl": accounts.get("LOGIN_KNOWN_CLIENT_TTL", 30 * 86400),
    }


def _account_id(username: str) -> str:
    """The name as Django's AuthenticationForm sees it (NFKC), case-blind: one account, one id.

    Without NFKC, a fullwidth "a" in "alice" would sign in as alice yet count under another key.
    """
    return unicodedata.normalize("NFKC", username).strip().lower()[:150]


def _reserve(
    buckets: list[tuple[str, int]], subject: str, known=None, read_along=None, **who
) -> Attempt:
    """Reserve in every bucket, or (``known``: the known-client set, the client, the oldest
    score that counts) in the first bucket alone when the account knows the client.
    ``read_along`` (``queue(pipe)``, ``take(reply)``): a read sent in the same round trip."""
    conf = _conf()
    member = uuid.uuid4().hex
    keys = [k for k, _ in buckets]
    args = [clock.now(), conf["window"], member, conf["window"] + 60]
    args += [limit for _, limit in buckets]
    if known is not None:
        known_key, client, known_since = known
        keys.append(known_key)
        args += [client, known_since]
    with guarded():
        if cluster_mode():
            # redis-py's cluster pipeline looks an EVAL's keys up first (COMMAND GETKEYS, a
            # round trip of its own): the script goes direct, the read after it.
            replies = [script(connection(), _RESERVE, keys, *args)]
            if read_along is not None:
                pipe = connection().pipeline(transaction=False)
                read_along.queue(pipe)
                replies += pipe.execute()
        else:
            pipe = connection().pipeline(transaction=False)
            script(pipe, _RESERVE, keys, *args)
            if read_along is not None:
                read_along.queue(pipe)
            replies = pipe.execute()
    reply = replies[0]
    if read_along is not None:
        read_along.take(replies[1])
    reply = reply.decode() if isinstance(reply, bytes) else str(reply)
    if not reply.startswith("0:"):
        return Attempt(wait=math.ceil(float(reply)), subject=subject, **who)
    reserved = buckets[: int(reply[2:])]
    return Attempt(wait=0, subject=subject, member=member, buckets=reserved, **who)


def reserve_sign_in(*, username: str, ip: str, read_along=None) -> Attempt:
    """Count an anonymous sign-in attempt before its password is hashed (or refuse it).

    ``read_along``: a read sent in the same round trip (the sign-in view's
    ``registry.IndexSnapshot`` of the account's sessions, for admission after the hash)."""
    conf = _conf()
    account, client = _account_id(username), client_key(ip)
    buckets = [
        (key("pair", f"{client}|{account}"), conf["pair"]),
        (key("account", account), conf["account"]),
        (key("client", client), conf["client"]),
    ]
    known = (key("known", account), client, clock.now() - conf["known_ttl"])
    return _reserve(
        buckets, f"{client}|{account}", known, read_along, account=account, client=client
    )


def reserve_reauth(*, session_digest: str) -> Attempt:
    """Count a password re-entered inside a signed-in session: that session's own budget."""
    bucket = key("session", session_digest)
    return _reserve([(bucket, _conf()["session"])], f"session:{session_digest}")


def reserve_factor(*, subject: str, uid) -> Attempt:
    """Count a one-time code or passkey attempt before it is checked (or refuse it).

    ``subject`` is the pending sign-in (its token) or the signed-in session (its digest): the
    ``session`` limit each. Only someone who typed the account's password (or holds one of its
    sessions) gets here, so the account's own bucket (LOGIN_ACCOUNT_FAILURE_LIMIT) cannot be
    filled by an outsider; it stops a password holder from starting sign-in after sign-in to
    guess codes (five each).
    """
    conf = _conf()
    buckets = [
        (key("factor", subject), conf["session"]),
        (key("factor-account", str(uid)), conf["account"]),
    ]
    return _reserve(buckets, f"factor:{subject}")


def refund(attempt: Attempt) -> None:
    """The password was not what failed: the attempt does not count."""
    if not attempt.member:
        return
    with guarded():
        pipe = connection().pipeline(transaction=True)
        for bucket, _ in attempt.buckets:
            pipe.zrem(bucket, attempt.member)
        pipe.execute()


def succeeded(attempt: Attempt) -> None:
    """A correct password: refund, clear its own budget, and (sign-in) remember the client.

    The pair's (or session's) failures are cleared; the account's and the client's are not,
    since those were other people's (a correct password for bob says nothing about a sprayer).
    """
    with guarded():
        pipe = connection().pipeline(transaction=True)
        queue_success(pipe, attempt)
        pipe.execute()


def queue_success(pipe, attempt: Attempt) -> None:
    """``succeeded``'s writes, queued on ``pipe``: alone (a MULTI), or in another round trip
    the sign-in makes anyway (``services.sign_in``'s admission, ``alongside``). Each write is
    an idempotent command on the throttle's own keys, so they need no transaction of their own.
    """
    conf = _conf()
    now = clock.now()
    for bucket, _ in attempt.buckets:
        pipe.zrem(bucket, attempt.member)
    pipe.delete(attempt.buckets[0][0])
    if attempt.account:
        known = key("known", attempt.account)
        pipe.zadd(known, {attempt.client: now})
        pipe.zremrangebyscore(known, "-inf", now - conf["known_ttl"])
        pipe.expire(known, conf["known_ttl"])


def wait_after(attempt: Attempt) -> int:
    """Seconds before this attempt's buckets take another one (0 if they would now)."""
    conf = _conf()
    window, now = conf["window"], clock.now()
    with guarded():
        pipe = connection().pipeline(transaction=False)
        for bucket, limit in attempt.buckets:
            pipe.zremrangebyscore(bucket, "-inf", now - window)
            # The failure that must age out before one more attempt is allowed.
            pipe.zrevrange(bucket, limit - 1, limit - 1, withscores=True)
        replies = pipe.execute()
    wait = max((b[0][1] + window - now for b in replies[1::2] if b), default=0.0)
    return math.ceil(wait) if wait > 0 else 0


def first_refusal(attempt: Attempt) -> bool:
    """True once per throttling period: a flood of refused attempts logs one event, not one each."""
    with guarded():
        return bool(
            connection().set(
                key("refusal-logged", attempt.subject), 1, nx=True, ex=max(attempt.wait, 1)
            )
        )


def message(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
