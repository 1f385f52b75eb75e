"""Listing one user's sessions, and ending all of them, as the total number of sessions grows.

Sessions are bulk-loaded in the contract layout (sess:{h}:data, sess:{h}:meta,
user:{uid}:sessions) by a server-side script, 10,000 sessions per call in pipelines, five
sessions per filler user. The measured user owns five sessions; the functions timed are the
engine's own registry.list_sessions and registry.end_many.
"""

import secrets
import time

from sessions_admin import clock, crypto, registry
from sessions_admin.conf import app_settings
from sessions_admin.redis_keys import connection, data_key, meta_key, user_index_key

from . import counting
from .stats import summary

TARGET_UID = "bench-target"
PER_USER = 5
CHUNK = 10_000
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)

# Fillers: h is 64 hex characters like a real HMAC-SHA256, uid "f<n>" owns PER_USER sessions.
_LOAD = """
local p, start, n, per = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local token, now, ua, ttl, mttl = ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
for i = start, start + n - 1 do
  local h = redis.sha1hex(p .. i) .. string.sub(redis.sha1hex(i .. p), 1, 24)
  local uid = 'f' .. math.floor(i / per)
  local mk = p .. 'sess:{' .. h .. '}:meta'
  redis.call('SET', p .. 'sess:{' .. h .. '}:data', token, 'PX', ttl)
  redis.call('HSET', mk, 'uid', uid, 'created_at', now, 'last_seen', now, 'auth_at', now,
             'ip', '203.0.113.' .. (i % 250), 'ua', ua)
  redis.call('PEXPIRE', mk, mttl)
  redis.call('ZADD', p .. 'user:' .. uid .. ':sessions', now, h)
end
return n
"""


def _payload_token() -> bytes:
    body = (
        '{"_auth_user_id":"123456","_auth_user_backend":"django.contrib.auth.backends.'
        'ModelBackend","_auth_user_hash":"' + secrets.token_hex(32) + '",'
        '"_csrftoken":"' + secrets.token_urlsafe(24) + '"}'
    )
    return crypto.encrypt(body.encode())


def _ttls() -> tuple[int, int]:
    ttl = app_settings.IDLE_TIMEOUT * 1000
    return ttl, ttl + app_settings.END_REASON_RETENTION * 1000


def _load(conn, start: int, count: int) -> None:
    sha = conn.script_load(_LOAD)
    ttl, mttl = _ttls()
    token, now, prefix = _payload_token(), clock.now(), app_settings.REDIS_KEY_PREFIX
    done = 0
    while done < count:
        pipe = conn.pipeline(transaction=False)
        for _ in range(10):
            n = min(1000, count - done)
            if n <= 0:
                break
            pipe.evalsha(sha, 0, prefix, start + done, n, PER_USER, token, now, UA, ttl, mttl)
            done += n
        pipe.execute()


def _seed_target(conn) -> list[str]:
    ttl, mttl = _ttls()
    now = clock.now()
    digests = [crypto.key_digest(secrets.token_hex(16)) for _ in range(PER_USER)]
    pipe = conn.pipeline(transaction=False)
    for old in conn.zrange(user_index_key(TARGET_UID), 0, -1):
        pipe.delete(data_key(old.decode()), meta_key(old.decode()))
    pipe.delete(user_index_key(TARGET_UID))
    for h in digests:
        pipe.set(data_key(h), _payload_token(), px=ttl)
        pipe.hset(
            meta_key(h),
            mapping={
                "uid": TARGET_UID,
                "created_at": now,
                "last_seen": now,
                "auth_at": now,
                "ip": "198.51.100.7",
                "ua": UA,
            },
        )
        pipe.pexpire(meta_key(h), mttl)
        pipe.zadd(user_index_key(TARGET_UID), {h: now})
    pipe.execute()
    return digests


def _measure(conn, *, repeats: int) -> dict:
    _seed_target(conn)
    list_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        infos = registry.list_sessions(TARGET_UID)
        list_times.append(time.perf_counter() - t0)
        assert len(infos) == PER_USER, len(infos)
    end_times = []
    for _ in range(max(10, repeats // 4)):
        _seed_target(conn)
        t0 = time.perf_counter()
        infos = registry.list_sessions(TARGET_UID)
        ended = registry.end_many([i.digest for i in infos], reason="ended_by_user", uid=TARGET_UID)
        end_times.append(time.perf_counter() - t0)
        assert ended == PER_USER, ended
    _seed_target(conn)
    with counting.tracing() as trace:
        infos = registry.list_sessions(TARGET_UID)
        registry.end_many([i.digest for i in infos], reason="ended_by_user", uid=TARGET_UID)
    _seed_target(conn)
    return {
        "list_ms": summary(list_times, 1e3),
        "end_all_ms": summary(end_times, 1e3),
        # The structural reason it is flat: the same commands whatever the size of the keyspace.
        "list_and_end_round_trips": len(trace),
        "list_and_end_commands": sum(len(names) for names in trace),
    }


def bytes_per_session(conn) -> dict:
    """MEMORY USAGE of one session's data and meta keys, and its share of the index."""
    digests = _seed_target(conn)
    h = digests[0]
    data = conn.memory_usage(data_key(h), samples=0) or 0
    meta = conn.memory_usage(meta_key(h), samples=0) or 0
    index = conn.memory_usage(user_index_key(TARGET_UID), samples=0) or 0
    entries = conn.zcard(user_index_key(TARGET_UID)) or 1
    encoding = conn.object("encoding", meta_key(h))
    # A real user agent is longer than Redis's default hash-max-ziplist-value (64 bytes), which
    # turns every meta hash into a full hashtable. What the compact encoding would save:
    scratch = meta_key("bench-compact-probe")
    old_limit = conn.config_get("hash-max-ziplist-value")["hash-max-ziplist-value"]
    try:
        conn.config_set("hash-max-ziplist-value", 256)
        conn.hset(scratch, mapping=conn.hgetall(meta_key(h)))
        compact = conn.memory_usage(scratch, samples=0) or 0
        compact_encoding = conn.object("encoding", scratch)
    finally:
        conn.delete(scratch)
        conn.config_set("hash-max-ziplist-value", old_limit)
    return {
        "data": data,
        "meta": meta,
        "meta_encoding": encoding.decode() if isinstance(encoding, bytes) else encoding,
        "meta_with_hash_max_ziplist_value_256": compact,
        "meta_encoding_with_256": (
            compact_encoding.decode() if isinstance(compact_encoding, bytes) else compact_encoding
        ),
        "index_share": round(index / entries),
        "total": data + meta + round(index / entries),
    }


def run(sizes=(10, 100_000, 1_000_000), repeats: int = 200) -> dict:
    conn = connection()
    conn.delete(user_index_key(TARGET_UID))
    loaded = 0
    used_before = int(conn.info("memory")["used_memory"])
    results = {"sizes": {}}
    for size in sizes:
        fillers = size - PER_USER
        t0 = time.perf_counter()
        if fillers > loaded:
            _load(conn, loaded, fillers - loaded)
            loaded = fillers
        load_s = time.perf_counter() - t0
        measured = _measure(conn, repeats=repeats)
        measured["load_s"] = round(load_s, 2)
        measured["keys_in_redis"] = conn.dbsize()
        results["sizes"][str(size)] = measured
    used_after = int(conn.info("memory")["used_memory"])
    results["bytes_per_session"] = bytes_per_session(conn)
    results["used_memory_per_session_at_largest"] = round(
        (used_after - used_before) / max(sizes[-1], 1)
    )
    results["used_memory_mb_at_largest"] = round(used_after / 2**20, 1)
    return results
