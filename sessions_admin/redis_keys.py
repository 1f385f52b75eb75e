"""The Redis layout (a contract of the design) and the one connection every module uses.

One server (the default, and Sentinel)::

    sess:{h}:data        Fernet token of the payload; TTL = time to the sooner deadline
    sess:{h}:meta        hash of security metadata, written field by field
    user:{uid}:sessions  sorted set of h scored by last_seen: the per-user index
    user:{uid}:obsolete  sorted set of the user's tombstones (rotated-away h), for deletion
    guess:{ip}           unknown keys presented by one client IP (strict mode)

``h`` is HMAC-SHA256(pepper, raw key). The ``{h}`` hash tag keeps one session's keys in one
slot, so the scripts touching data and meta stay single-slot. (The user keys carry no tag here:
``user:42:sessions``; on one server slots do not matter.)

Redis Cluster (``REDIS_CLUSTER=1``): a rotation must keep the session's slot, and ``h`` changes
with the key, so the hash tag is the session's *family* ``f`` instead: HMAC(pepper, "family:" +
the raw key's first 8 characters), 16 hex digits. ``store.cycle_key`` keeps those 8 characters
and draws the other 24 afresh (124 bits), so the old key, its tombstone and the new key share
one slot, and a dump of Redis still shows no part of any cookie. A session's *digest* (what the
index, tombstones and ``successor`` name) is then ``f-h``, and::

    sess:{f}:h:data      sess:{f}:h:meta
    user:{uid}:sessions  user:{uid}:obsolete  user:{uid}:remember   (tagged by uid: one slot)

``crypto.key_digest`` is the one place that differs by mode (it returns ``h`` or ``f-h``); the
key names below follow the digest's shape. Writes that span a session and its user's index
(two slots) are ordered steps (``in_order``), never a cross-slot transaction:
docs/architecture.md, "Redis Cluster: ordered steps".
"""

import os
import threading

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django_redis import get_redis_connection
from redis.exceptions import RedisClusterException, RedisError

from .conf import app_settings


class StoreUnavailable(Exception):
    """Redis did not answer in REDIS_TIMEOUT: the request is answered 503, the cookie is kept."""


def cluster_mode() -> bool:
    return bool(getattr(settings, "REDIS_CLUSTER", False))


_cluster = None
_cluster_lock = threading.Lock()


def _cluster_client():
    """One ``RedisCluster`` per process (a forked worker makes its own), created lazily from
    REDIS_URL (any one node: the client discovers the others) with REDIS_TIMEOUT on every
    socket and no retry, so a dead node is a 503 within REDIS_TIMEOUT as on one server."""
    global _cluster
    current = _cluster
    if current is not None and current[0] == os.getpid():
        return current[1]
    with _cluster_lock:
        if _cluster is None or _cluster[0] != os.getpid():
            from redis.backoff import NoBackoff
            from redis.cluster import RedisCluster
            from redis.retry import Retry

            timeout = getattr(settings, "REDIS_TIMEOUT", 1.0)
            client = RedisCluster.from_url(
                settings.REDIS_URL,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),
                max_connections=64,
            )
            _cluster = (os.getpid(), client)
        return _cluster[1]


def reset_cluster_client() -> None:
    """Drop this process's cluster client (tests that change REDIS_URL)."""
    global _cluster
    with _cluster_lock:
        if _cluster is not None and _cluster[0] == os.getpid():
            _cluster[1].close()
        _cluster = None


_server = None


def connection():
    """The sessions cache's Redis client (every request asks: kept per process, not looked up
    through Django's per-thread cache handler each time)."""
    global _server
    if cluster_mode():
        return _cluster_client()
    current = _server
    if current is None or current[0] != os.getpid():
        current = _server = (os.getpid(), get_redis_connection("sessions"))
    return current[1]


@receiver(setting_changed)
def _forget_clients(*, setting, **kwargs) -> None:
    """A test (or override_settings) that moves Redis gets a client for where it moved to."""
    global _server
    if setting in ("CACHES", "REDIS_URL", "REDIS_CLUSTER"):
        _server = None


def ping() -> bool:
    """The store answers. In Cluster mode, every primary (a lost replica does not stop service;
    a lost primary without a promoted replica does: its slots are unreachable)."""
    conn = connection()
    if cluster_mode():
        return bool(conn.ping(target_nodes=conn.PRIMARIES))
    return bool(conn.ping())


def _p() -> str:
    return app_settings.REDIS_KEY_PREFIX


def _session_prefix(digest: str) -> str:
    family, sep, h = digest.partition("-")
    if sep:  # Cluster: the family is the hash tag, the digest proper follows it
        return f"{_p()}sess:{{{family}}}:{h}"
    return f"{_p()}sess:{{{digest}}}"


def data_key(h: str) -> str:
    return f"{_session_prefix(h)}:data"


def meta_key(h: str) -> str:
    return f"{_session_prefix(h)}:meta"


def user_key(uid: str | int, name: str) -> str:
    """A per-user key; in Cluster mode tagged by uid, so a user's index, tombstones and devices
    share one slot (and one script or MULTI may touch them together)."""
    return f"{_p()}user:{{{uid}}}:{name}" if cluster_mode() else f"{_p()}user:{uid}:{name}"


def user_index_key(uid: str | int) -> str:
    return user_key(uid, "sessions")


def user_tombstones_key(uid: str | int) -> str:
    """Sorted set of the user's obsolete (rotated-away) digests, scored by when they expire."""
    return user_key(uid, "obsolete")


def guess_key(ip: str) -> str:
    return f"{_p()}guess:{ip}"


def throttle_key(kind: str, value: str) -> str:
    return f"{_p()}throttle:{kind}:{value}"


def pending_login_key(token: str) -> str:
    return f"{_p()}pending-login:{token}"


def script(target, body: str, keys, *args):
    """EVAL ``body`` on ``target`` (a client or a pipeline, one server or Cluster: redis-py's
    cluster pipeline has no ``eval()``, but routes a raw EVAL by its keys)."""
    keys = list(keys)
    return target.execute_command("EVAL", body, len(keys), *keys, *args)


def exchange(packed: bytes, replies: int) -> list:
    """One server: send ``packed`` (commands in Redis's wire format, RESP) in one write on one
    pooled connection and read its ``replies``, in order: one round trip, as a pipeline's,
    without its bookkeeping (about 30 µs of Python a call) and, unlike a script, without a Lua
    call on the server (about 11 µs of its time). Not atomic: another client's command may run
    between two of these (``store._read`` says why its read does not need to be). A failure,
    whatever it is, drops the connection, so a reply left unread never answers someone else's
    command; no retry, as the client is configured (a 503 within REDIS_TIMEOUT). Cluster: use
    ``script``."""
    pool = connection().connection_pool
    conn = pool.get_connection()
    try:
        conn.send_packed_command([packed])
        return [conn.read_response() for _ in range(replies)]
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def resp_bulk(value: str | bytes) -> bytes:
    """One argument in Redis's wire format (a RESP bulk string; text as UTF-8), for a command
    packed by hand (``store._packed_load``)."""
    raw = value.encode() if isinstance(value, str) else value
    return b"$%d\r\n%s\r\n" % (len(raw), raw)


def in_order(*steps) -> list:
    """Run ``steps`` (callables queuing commands on a pipeline) in this order.

    One server: all of them in one MULTI (atomic, one round trip). Cluster: each step is its
    own pipeline (one round trip, grouped by node), sent only after the previous one answered,
    so a crash between steps leaves exactly the state the steps' order allows. Each step must
    touch one slot, or be fine to apply partially (a set of per-session scripts). Returns the
    replies of every command, in order.
    """
    conn = connection()
    if not cluster_mode():
        pipe = conn.pipeline(transaction=True)
        for step in steps:
            step(pipe)
        return pipe.execute()
    replies: list = []
    for step in steps:
        pipe = conn.pipeline(transaction=False)
        step(pipe)
        if len(pipe):
            replies += pipe.execute()
    return replies


class guarded:
    """Context manager turning any Redis failure into StoreUnavailable."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, RedisError | RedisClusterException):
            raise StoreUnavailable(str(exc)) from exc
        return False
