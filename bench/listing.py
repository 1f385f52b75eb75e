"""Listing at scale, Redis memory per session, and how the per-request cost and memory grow.

Everything is copied from a real session: a user signs in through the project's sign-in form
with a real browser's user agent, and its payload token and metadata hash (whatever fields the
engine writes today) are the template of every filler. Fillers are bulk-loaded with pipelined
raw writes (a server-side script, 1,000 sessions per call, 10 calls per pipeline) in the contract
layout (sess:{h}:data, sess:{h}:meta, user:{uid}:sessions), FILLER_PER_USER sessions per filler
user. Measured at each size (10, 10^4, 10^6 live sessions):

* the full page (GET /dashboard/ in process, ours and stock cache, alternating) and its round
  trips: it must not grow with the keyspace;
* listing one user's five sessions and ending them (registry.list_sessions / end_many);
* Redis used_memory and the number of keys.

And, at the smallest size, as one user's sessions grow (1, 10, 100): the full page, listing, and
that user's index in MEMORY USAGE.
"""

import secrets
import time

from django.conf import settings
from django.test import override_settings

from sessions_admin import clock, crypto, registry
from sessions_admin.conf import app_settings
from sessions_admin.redis_keys import connection, data_key, meta_key, user_index_key

from . import counting, overhead
from .stats import summary

TARGET_UID = "bench-target"
PER_USER = 5  # the listed user's sessions
FILLER_PER_USER = 2  # a laptop and a phone
CHUNK = 1000
UA = overhead.UA
# The longest user agent the engine records (request_facts cuts at 512 characters).
LONG_UA = (UA + " ") * 4 + "x" * (512 - 4 * (len(UA) + 1))
assert len(LONG_UA) == 512

_LOAD = """
local p, start, n, per = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local token, ttl, mttl, score = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local fields = {}
for j = 9, #ARGV do fields[#fields + 1] = ARGV[j] end
for i = start, start + n - 1 do
  local h = redis.sha1hex(p .. i) .. string.sub(redis.sha1hex(i .. p), 1, 24)
  local uid = 'f' .. math.floor(i / per)
  local mk = p .. 'sess:{' .. h .. '}:meta'
  redis.call('SET', p .. 'sess:{' .. h .. '}:data', token, 'PX', ttl)
  redis.call('HSET', mk, 'uid', uid, unpack(fields))
  redis.call('PEXPIRE', mk, mttl)
  redis.call('ZADD', p .. 'user:' .. uid .. ':sessions', score, h)
end
return n
"""


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def real_session(make_user, username: str, ua: str = UA) -> dict:
    """Sign a fresh user in through the sign-in form; what Redis holds for that session."""
    conn = connection()
    user = make_user(username)
    registry.end_many(
        [i.digest for i in registry.list_sessions(user.pk)], reason="logout", uid=str(user.pk)
    )
    client = overhead.signed_in_client("ours", user, {}) if ua == UA else None
    if client is None:
        from django.test import Client

        client = Client(HTTP_USER_AGENT=ua)
        client.get("/accounts/login/")
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": overhead.PASSWORD}
        )
        assert response.status_code == 302, response.status_code
        assert client.get(overhead.PATH).status_code == 200
    raw_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    h = crypto.key_digest(raw_key)
    meta = {_text(k): _text(v) for k, v in conn.hgetall(meta_key(h)).items()}
    return {
        "client": client,
        "user": user,
        "uid": str(user.pk),
        "digest": h,
        "token": conn.get(data_key(h)),
        "meta": meta,
    }


def _ttls() -> tuple[int, int]:
    ttl = app_settings.IDLE_TIMEOUT * 1000
    return ttl, ttl + app_settings.END_REASON_RETENTION * 1000


def _template_fields(template: dict) -> list[str]:
    flat = []
    for k, v in template["meta"].items():
        if k != "uid":
            flat += [k, v]
    return flat


def _load(conn, template: dict, start: int, count: int) -> None:
    sha = conn.script_load(_LOAD)
    ttl, mttl = _ttls()
    fields = _template_fields(template)
    prefix, now = app_settings.REDIS_KEY_PREFIX, clock.now()
    done = 0
    while done < count:
        pipe = conn.pipeline(transaction=False)
        for _ in range(10):
            n = min(CHUNK, count - done)
            if n <= 0:
                break
            pipe.evalsha(
                sha, 0, prefix, start + done, n, FILLER_PER_USER, template["token"], ttl, mttl,
                now, *fields,
            )  # fmt: skip
            done += n
        pipe.execute()


def _add_sessions(conn, template: dict, uid: str, count: int) -> list[str]:
    """``count`` more sessions of ``uid``, copied from the template, indexed as active now."""
    ttl, mttl = _ttls()
    now = clock.now()
    digests = [crypto.key_digest(secrets.token_hex(16)) for _ in range(count)]
    pipe = conn.pipeline(transaction=False)
    for h in digests:
        pipe.set(data_key(h), template["token"], px=ttl)
        pipe.hset(meta_key(h), mapping={**template["meta"], "uid": uid, "last_seen": now})
        pipe.pexpire(meta_key(h), mttl)
        pipe.zadd(user_index_key(uid), {h: now})
    pipe.execute()
    return digests


def _seed_target(conn, template: dict) -> None:
    pipe = conn.pipeline(transaction=False)
    for old in conn.zrange(user_index_key(TARGET_UID), 0, -1):
        pipe.delete(data_key(old.decode()), meta_key(old.decode()))
    pipe.delete(user_index_key(TARGET_UID))
    pipe.execute()
    _add_sessions(conn, template, TARGET_UID, PER_USER)


def _measure_listing(conn, template: dict, *, repeats: int) -> dict:
    _seed_target(conn, template)
    list_times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        infos = registry.list_sessions(TARGET_UID)
        list_times.append(time.perf_counter() - t0)
        assert len(infos) == PER_USER, len(infos)
    end_times = []
    for _ in range(max(10, repeats // 4)):
        _seed_target(conn, template)
        t0 = time.perf_counter()
        infos = registry.list_sessions(TARGET_UID)
        ended = registry.end_many([i.digest for i in infos], reason="ended_by_user", uid=TARGET_UID)
        end_times.append(time.perf_counter() - t0)
        assert ended == PER_USER, ended
    _seed_target(conn, template)
    with counting.tracing() as trace:
        infos = registry.list_sessions(TARGET_UID)
        registry.end_many([i.digest for i in infos], reason="ended_by_user", uid=TARGET_UID)
    _seed_target(conn, template)
    return {
        "list_ms": summary(list_times, 1e3),
        "end_all_ms": summary(end_times, 1e3),
        # The structural reason it is flat: the same commands whatever the size of the keyspace.
        "list_and_end_round_trips": len(trace),
        "list_and_end_commands": sum(len(names) for names in trace),
    }


def _page(clients: dict, configs: dict, *, rounds: int = 10, per_round: int = 40) -> dict:
    """The full page (ours) and stock cache, alternating: µs median and round trips."""
    measured = overhead.interleaved(clients, configs, rounds=rounds, per_round=per_round, warmup=5)
    out = {}
    for name, m in measured.items():
        trips = overhead.trips_summary(m["trips"])
        out[name] = {
            "us_per_request": summary(m["samples"], 1e6),
            "round_trips_mean": trips["mean"],
            "round_trips_usual": trips["usual"],
        }
    out["ratio"] = round(
        out["ours"]["us_per_request"]["median"] / out["stock_cache"]["us_per_request"]["median"],
        3,
    )
    return out


def _encoding(conn, key) -> str:
    return _text(conn.object("encoding", key))


def _hash_limit_name(conn) -> str:
    for name in ("hash-max-listpack-value", "hash-max-ziplist-value"):
        if conn.config_get(name):
            return name
    return "hash-max-ziplist-value"


def bytes_per_session(conn, real: dict, long_ua: dict, *, probe_default: bool) -> dict:
    """MEMORY USAGE of a real session's keys: data + meta + its user's index (one entry: the
    whole key, the worst case), and of a session with the longest user agent recorded."""
    h, uid = real["digest"], real["uid"]
    data = conn.memory_usage(data_key(h), samples=0) or 0
    meta = conn.memory_usage(meta_key(h), samples=0) or 0
    index = conn.memory_usage(user_index_key(uid), samples=0) or 0
    entries = conn.zcard(user_index_key(uid)) or 1
    limit_name = _hash_limit_name(conn)
    limit = int(conn.config_get(limit_name)[limit_name])
    out = {
        "data": data,
        "data_value_bytes": len(real["token"]),
        "meta": meta,
        "meta_fields": len(real["meta"]),
        "meta_field_bytes": {k: len(v.encode()) for k, v in real["meta"].items()},
        "meta_encoding": _encoding(conn, meta_key(h)),
        "index_share": round(index / entries),
        "index_entries": entries,
        "total": data + meta + round(index / entries),
        "hash_limit": f"{limit_name} {limit}",
        "ua_chars": len(real["meta"].get("ua", "")),
    }
    lh = long_ua["digest"]
    out["meta_with_512_char_ua"] = conn.memory_usage(meta_key(lh), samples=0) or 0
    out["meta_encoding_with_512_char_ua"] = _encoding(conn, meta_key(lh))
    rotated_from = real["meta"].get("rotated_from")
    if rotated_from:
        # The pre-login session the sign-in rotated away from: a tombstone for a while.
        out["prelogin_tombstone_meta"] = conn.memory_usage(meta_key(rotated_from), samples=0) or 0
        out["prelogin_tombstone_meta_ttl_s"] = round(conn.pttl(meta_key(rotated_from)) / 1000)
    if probe_default:
        # What the same hash takes under Redis's default limit (64 bytes: any real user agent
        # is longer), as on an external Redis left at its defaults. Only on our own server.
        scratch = meta_key("bench-default-limit-probe")
        try:
            conn.config_set(limit_name, 64)
            conn.hset(scratch, mapping=real["meta"])
            out["meta_with_default_limit_64"] = conn.memory_usage(scratch, samples=0) or 0
            out["meta_encoding_with_default_limit_64"] = _encoding(conn, scratch)
        finally:
            conn.delete(scratch)
            conn.config_set(limit_name, limit)
        out["total_with_default_limit_64"] = (
            data + out["meta_with_default_limit_64"] + round(index / entries)
        )
    return out


def _user_curve(conn, uid: str, template, clients, configs, counts) -> dict:
    """One user's sessions growing: the page of one of them, listing them, their index."""
    have = conn.zcard(user_index_key(uid))
    out = {}
    for k in counts:
        if k > have:
            _add_sessions(conn, template, uid, k - have)
            have = k
        page = _page(clients, configs, rounds=8, per_round=40)
        list_times = []
        for _ in range(50):
            t0 = time.perf_counter()
            infos = registry.list_sessions(uid, prune=False)
            list_times.append(time.perf_counter() - t0)
        assert len(infos) == k, (len(infos), k)
        index = conn.memory_usage(user_index_key(uid), samples=0) or 0
        out[str(k)] = {
            "page": page,
            "list_ms": summary(list_times, 1e3),
            "index_bytes": index,
            "index_encoding": _encoding(conn, user_index_key(uid)),
            "index_bytes_per_session": round(index / k),
        }
    return out


def run(
    *,
    make_user,
    probe_default: bool,
    sizes=(10, 10_000, 1_000_000),
    user_counts=(1, 10, 100),
    repeats: int = 200,
) -> dict:
    conn = connection()
    conn.delete(user_index_key(TARGET_UID))
    real = real_session(make_user, "bench-memory")
    long_ua = real_session(make_user, "bench-memory-long-ua", ua=LONG_UA)
    template = {"token": real["token"], "meta": real["meta"]}
    results = {
        "bytes_per_session": bytes_per_session(conn, real, long_ua, probe_default=probe_default),
        "filler_sessions_per_user": FILLER_PER_USER,
        "sizes": {},
    }
    # The full page as the keyspace grows: ours (its own user) and stock cache, alternating.
    configs = overhead.configurations(all_backends=False)
    configs.pop("ours_without_session_ui")
    configs.pop("ours_store_only")
    users = {name: make_user(f"bench-scale-{name}") for name in configs}
    clients = {
        name: overhead.signed_in_client(name, users[name], overrides)
        for name, overrides in configs.items()
    }
    uid = str(users["ours"].pk)
    many = {**settings.SESSIONS_ADMIN, "MAX_PER_USER": 1000}
    with override_settings(SESSIONS_ADMIN=many):
        results["user_sessions"] = _user_curve(conn, uid, template, clients, configs, user_counts)
    # Back to one session for the page's user, so the keyspace curve measures the keyspace only.
    own = crypto.key_digest(clients["ours"].cookies[settings.SESSION_COOKIE_NAME].value)
    others = [_text(d) for d in conn.zrange(user_index_key(uid), 0, -1) if _text(d) != own]
    if others:
        registry.end_many(others, reason="logout", uid=uid)
    loaded = 0
    base_keys = conn.dbsize()
    used_before = int(conn.info("memory")["used_memory"])
    for size in sizes:
        fillers = size - PER_USER
        t0 = time.perf_counter()
        if fillers > loaded:
            _load(conn, template, loaded, fillers - loaded)
            loaded = fillers
        load_s = time.perf_counter() - t0
        measured = _measure_listing(conn, template, repeats=repeats)
        measured["load_s"] = round(load_s, 2)
        measured["page"] = _page(clients, configs)
        used = int(conn.info("memory")["used_memory"])
        measured["keys_in_redis"] = conn.dbsize()
        measured["used_memory_mb"] = round(used / 2**20, 1)
        measured["used_memory_growth_per_session"] = (
            round((used - used_before) / loaded) if loaded >= 1000 else None
        )
        results["sizes"][str(size)] = measured
    largest = results["sizes"][str(sizes[-1])]
    results["used_memory_per_session_at_largest"] = largest["used_memory_growth_per_session"]
    results["used_memory_mb_at_largest"] = largest["used_memory_mb"]
    results["keys_before_loading"] = base_keys
    return results
