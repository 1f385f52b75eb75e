"""The per-user index (user:{uid}:sessions) and the metadata hash: list, end, prune.

Listing reads one user's sorted set and their sessions' metadata in one pipeline: O(that user's
sessions), never a scan of the keyspace. Ending a session deletes its payload at once and leaves
its metadata, with the reason, for END_REASON_RETENTION seconds so its next request can say why.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace

from . import clock, crypto
from .conf import app_settings, limits
from .policy import (
    AdmissionDecision,
    ConcurrencyPolicy,
    RequestFacts,
    SessionMeta,
    Verdict,
    admit_new_session,
    evaluate,
    expires_at,
    meta_ttl_ms,
    tombstone_retention_ms,
    ttl_ms,
)
from .redis_keys import (
    cluster_mode,
    connection,
    data_key,
    guarded,
    in_order,
    meta_key,
    script,
    user_index_key,
    user_tombstones_key,
)

# An index entry that holds a slot for a sign-in in flight (see ``admit``); never a digest.
RESERVATION = "r:"
RESERVATION_LIFE = 30
# Cluster mode: an index entry whose session has no metadata yet may be a sign-in or rotation in
# flight (the entry is written first, docs/architecture.md); listing hides it but prunes it only
# once it is this old.
PENDING_LIFE = 30


@dataclass(frozen=True)
class SessionInfo:
    digest: str
    handle: str
    meta: SessionMeta
    expires_at: float


# A sign-in's digest takes the place of its reservation only if the reservation is still there:
# ``evict_oldest`` may have chosen the sign-in while it was in flight (``admit``).
_CLAIM = """
if ARGV[3] ~= '' and redis.call('ZREM', KEYS[1], ARGV[3]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('HSET', KEYS[2], 'sessions', redis.call('ZCOUNT', KEYS[1], ARGV[4], '+inf'))
end
return 1
"""


def index_add(conn, *, uid: str, digest: str, last_seen: float, reservation: str = "") -> None:
    """Index a session under its user (queued on ``conn``, a pipeline): one atomic command,
    which swaps the sign-in's reservation for the digest, or adds nothing if it was evicted,
    and gives the new session its first badge count."""
    cutoff = last_seen - limits().idle
    keys = [user_index_key(uid), meta_key(digest)]
    script(conn, _CLAIM, keys, digest, last_seen, reservation or "", cutoff)


# Cluster mode: the index half of _CLAIM (the user's slot only); returns the badge count for the
# session script that follows, or -1 if the reservation was taken back meanwhile.
_CLAIM_INDEX = """
if ARGV[3] ~= '' and redis.call('ZREM', KEYS[1], ARGV[3]) == 0 then return -1 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return redis.call('ZCOUNT', KEYS[1], ARGV[4], '+inf')
"""


def index_claim(*, uid: str, digest: str, last_seen: float, reservation: str = "") -> int:
    """Cluster mode, first step of a sign-in's save: index the digest (in place of the
    reservation). Returns the user's recently active count, or -1 if the reservation was gone
    (evicted in flight: nothing indexed). Call inside ``guarded()``."""
    cutoff = last_seen - limits().idle
    keys = [user_index_key(uid)]
    reservation = reservation or ""
    return int(script(connection(), _CLAIM_INDEX, keys, digest, last_seen, reservation, cutoff))


# A field set to None is deleted (``DELETE`` below), not stored empty: a smaller hash (issue 12).
# An empty string stays a recorded value ("" as a user agent is still bound).
DELETE = "\x00"
LUA_DELETE = "local DELETE = string.char(0)\n"
_SET_FIELDS_IF_LIVE = (
    LUA_DELETE
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then
  for i = 1, #ARGV, 2 do
    if ARGV[i + 1] == DELETE then redis.call('HDEL', KEYS[1], ARGV[i])
    else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  end
  return 1
end
return 0
"""
)


def field_args(fields: dict) -> list:
    """Metadata fields as a script's ARGV pairs: a field set to None is deleted (``DELETE``)."""
    flat = []
    for name, value in fields.items():
        flat += [name, DELETE if value is None else value]
    return flat


def set_fields(digest: str, **fields) -> bool:
    """Write metadata field by field, so concurrent requests never overwrite each other's.

    Only an existing hash is written: a notice racing an expiry must not leave a hash with no TTL.
    """
    flat = field_args(fields)
    with guarded():
        return bool(connection().eval(_SET_FIELDS_IF_LIVE, 1, meta_key(digest), *flat))


def set_fields_each(digests: Iterable[str], **fields) -> None:
    """``set_fields`` on several sessions in one round trip (a pipeline of single-slot
    scripts: the notice a sign-in leaves on the user's other sessions)."""
    digests = list(digests)
    if not digests:
        return
    flat = field_args(fields)
    with guarded():
        pipe = connection().pipeline(transaction=False)
        for h in digests:
            script(pipe, _SET_FIELDS_IF_LIVE, [meta_key(h)], *flat)
        pipe.execute()


# Rotation is one script: it refuses a key that was ended or already rotated by a concurrent
# request (so a late rotation can't resurrect a logged-out session, and one key never has two
# live successors), creates the successor with SET NX, and turns the old key into a tombstone,
# remembered in the user's tombstone set so that "end everything" can delete it (tripwire).
# A Lua function of (KEYS, ARGV, whether the user's sets follow), shared by _ROTATE_CLAIM.
_ROTATE_FN = """
local function rotate(KEYS, ARGV, user)
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[2], 'obsolete_at') == 1
   or redis.call('HEXISTS', KEYS[2], 'end_reason') == 1 then
  return 0
end
if not redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return -1 end
redis.call('HSET', KEYS[4], unpack(ARGV, 9))
redis.call('PEXPIRE', KEYS[4], ARGV[3])
redis.call('HSET', KEYS[2], 'obsolete_at', ARGV[4], 'successor', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
if user then
  redis.call('ZREM', KEYS[5], ARGV[8])
  redis.call('ZADD', KEYS[5], ARGV[4], ARGV[7])
  redis.call('ZADD', KEYS[6], ARGV[4] + ARGV[6] / 1000, ARGV[8])
  redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[4])
  redis.call('PEXPIRE', KEYS[6], ARGV[6])
end
return 1
end
"""
_ROTATE = _ROTATE_FN + "return rotate(KEYS, ARGV, #KEYS == 6)\n"

# One server, a sign-in's rotation and first save in one script (``store.save`` after a
# deferred ``cycle_key``): _ROTATE writes the new key with the signed-in payload and metadata,
# then the reservation is swapped for the new digest as in _CLAIM. Extra ARGV at the end: move
# ('1': the old key was this user's, its index entry and tombstone follow), the reservation,
# the new entry's score, the badge's cutoff. KEYS[5], KEYS[6]: the user's index, tombstones.
# Returns {rotated (1, 0 refused, -1 digest taken), claimed}. A refused rotation gives the
# reservation back (nothing was signed in); a taken digest keeps it for the retry.
_ROTATE_CLAIM = (
    _ROTATE_FN
    + """
local n = #ARGV
local reservation, score, cutoff = ARGV[n - 2], ARGV[n - 1], ARGV[n]
local done = rotate(KEYS, {unpack(ARGV, 1, n - 4)}, ARGV[n - 3] == '1')
if done ~= 1 then
  if done == 0 and reservation ~= '' then redis.call('ZREM', KEYS[5], reservation) end
  return {done, 0}
end
if reservation ~= '' and redis.call('ZREM', KEYS[5], reservation) == 0 then return {1, 0} end
redis.call('ZADD', KEYS[5], score, ARGV[7])
redis.call('HSET', KEYS[4], 'sessions', redis.call('ZCOUNT', KEYS[5], cutoff, '+inf'))
return {1, 1}
"""
)


def _rotation(*, old_digest, new_digest, token, meta: SessionMeta, now: float, old_uid):
    """(keys, args) of _ROTATE: ``meta`` is what the new key starts with, ``old_uid`` whose the
    old key was (its tombstone's retention, and whether an index entry moves)."""
    lim = limits()
    carried = {
        k: v
        for k, v in meta.__dict__.items()
        if v is not None and k not in ("end_reason", "obsolete_at", "successor", "notice")
    }
    retention = tombstone_retention_ms(signed_in=bool(old_uid), limits=lim)
    keys = [data_key(old_digest), meta_key(old_digest), data_key(new_digest), meta_key(new_digest)]
    data_ttl = max(ttl_ms(meta, lim, now), 1000)
    args = [token, data_ttl, max(meta_ttl_ms(meta, lim, now), 1000), now]
    args += [max(lim.grace, 1) * 1000, retention, new_digest, old_digest]
    for k, v in carried.items():
        args += [k, v]
    return keys, args


def rotate(*, old_digest, new_digest, token, meta: SessionMeta, now: float) -> int:
    """Move a session to a new key; the old key becomes a tombstone pointing at it (one script).

    ``meta`` is the metadata the new key starts with. Returns 1 on success, 0 if the old
    session was ended or rotated meanwhile, -1 if the new digest is taken.
    """
    keys, args = _rotation(
        old_digest=old_digest,
        new_digest=new_digest,
        token=token,
        meta=meta,
        now=now,
        old_uid=meta.uid,
    )
    retention = tombstone_retention_ms(signed_in=bool(meta.uid), limits=limits())
    user_keys = [user_index_key(meta.uid), user_tombstones_key(meta.uid)] if meta.uid else []
    with guarded():
        conn = connection()
        if not cluster_mode() or not user_keys:
            # One server (or no user yet): one script, both sessions and the user's sets.
            return int(script(conn, _ROTATE, keys + user_keys, *args))
        # Cluster: the old and new keys share their family's slot, the user's sets another.
        # 1. the new digest into the index (if nothing follows, listing prunes it);
        conn.zadd(user_keys[0], {new_digest: now})
        # 2. the session slot: successor created, old key made a tombstone (atomic);
        done = int(script(conn, _ROTATE, keys, *args))
        # 3. the old digest out of the index, into the tombstone set (or the new one out again).
        if done == 1:
            script(conn, _ROTATE_INDEX, user_keys, now, retention, new_digest, old_digest)
        else:
            conn.zrem(user_keys[0], new_digest)
        return done


def queue_rotate_and_claim(
    pipe, *, old_digest, old_uid, new_digest, token, meta: SessionMeta, now, reservation
) -> None:
    """One server: queue a sign-in's rotation and first save as one script (``_ROTATE_CLAIM``)
    on ``pipe``: the old key (pre-login, or this same user's) becomes a tombstone, the new key
    is written with ``meta`` (the signed-in metadata) and indexed under ``meta.uid`` in place
    of the ``reservation``. Its reply is {rotated, claimed}, as ``rotate`` and ``index_add``."""
    keys, args = _rotation(
        old_digest=old_digest,
        new_digest=new_digest,
        token=token,
        meta=meta,
        now=now,
        old_uid=old_uid,
    )
    keys += [user_index_key(meta.uid), user_tombstones_key(meta.uid)]
    args += ["1" if old_uid else "", reservation or "", meta.last_seen]
    args += [meta.last_seen - limits().idle]
    script(pipe, _ROTATE_CLAIM, keys, *args)


# Cluster mode, the user's half of _ROTATE (step 3 of ``rotate``): one slot, the user's.
_ROTATE_INDEX = """
redis.call('ZREM', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[1] + ARGV[2] / 1000, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
"""


# One command: activity, the TTLs that follow it, the index score, and the header badge (the
# user's sessions active within the idle timeout, counted now and kept in the metadata hash,
# where the one round trip of every request already reads).
_TOUCH = """
if tonumber(ARGV[2]) <= 0 then
  redis.call('DEL', KEYS[1])
  return -1
end
redis.call('HSET', KEYS[2], 'last_seen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if #KEYS == 3 then
  redis.call('ZADD', KEYS[3], 'XX', ARGV[1], ARGV[4])
  local n = redis.call('ZCOUNT', KEYS[3], ARGV[5], '+inf')
  redis.call('HSET', KEYS[2], 'sessions', n)
  return n
end
if ARGV[6] and tonumber(ARGV[6]) >= 0 then
  redis.call('HSET', KEYS[2], 'sessions', ARGV[6])
  return tonumber(ARGV[6])
end
return -1
"""

# Cluster mode, the index half of _TOUCH (the user's slot): the score, then the badge count.
_TOUCH_INDEX = """
redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[2])
return redis.call('ZCOUNT', KEYS[1], ARGV[3], '+inf')
"""


def touch(*, digest: str, meta: SessionMeta, now: float) -> SessionMeta:
    """Record activity: last_seen, the TTLs that follow it, the index score and the badge.

    Returns the moved metadata: a save later in the same request must compute its TTL from it,
    or it would shorten the payload's TTL back to the old idle deadline.
    """
    lim = limits()
    moved = replace(meta, last_seen=now)
    keys = [data_key(digest), meta_key(digest)]
    args = [now, ttl_ms(moved, lim, now), meta_ttl_ms(moved, lim, now), digest, now - lim.idle]
    with guarded():
        conn = connection()
        if meta.uid and cluster_mode():
            # Cluster: the index's slot first (score and count), then the session's. Either
            # step alone leaves a score or a last_seen a few seconds stale, nothing more.
            index = [user_index_key(meta.uid)]
            n = int(script(conn, _TOUCH_INDEX, index, now, digest, now - lim.idle))
            count = int(script(conn, _TOUCH, keys, *args, n))
        else:
            if meta.uid:
                keys.append(user_index_key(meta.uid))
            count = int(script(conn, _TOUCH, keys, *args))
    return replace(moved, sessions=count) if count >= 0 else moved


def recently_active_count(uid: str | int, *, now: float) -> int:
    """The badge's count for one user, read directly (a session that has no count yet)."""
    with guarded():
        return connection().zcount(user_index_key(uid), now - limits().idle, "+inf")


def forget_tombstone(*, digest: str, uid: str | None) -> None:
    """The tripwire fired: the obsolete key is deleted, so a later replay is just unknown."""
    with guarded():
        pipe = connection().pipeline(transaction=False)
        pipe.delete(data_key(digest))  # one key per DEL: a cluster pipeline routes each by slot
        pipe.delete(meta_key(digest))
        if uid:
            pipe.zrem(user_tombstones_key(uid), digest)
        pipe.execute()


def delete_tombstones(uid: str | int, *, keep: Iterable[str] = ()) -> int:
    """Delete the user's obsolete keys (after a password change, an end of all sessions or a
    disable), so that none of them can trip the tripwire later. ``keep``: the key this very
    request rotated away from, whose racing requests must still be read-only, not strangers."""
    keep = set(keep)
    key = user_tombstones_key(uid)
    with guarded():
        conn = connection()
        digests = [d.decode() for d in conn.zrange(key, 0, -1)]
        doomed = [h for h in digests if h not in keep]
        if not doomed:
            return 0
        pipe = conn.pipeline(transaction=False)
        for h in doomed:
            pipe.delete(data_key(h))
            pipe.delete(meta_key(h))
        pipe.zrem(key, *doomed)
        pipe.execute()
    return len(doomed)


class IndexSnapshot:
    """A user's index (every entry, reservations included, with its score) read in a round
    trip the caller makes anyway: the sign-in form queues it with the throttle's reservation,
    before the password is hashed, so that admission starts from it (``admit``)."""

    def __init__(self, uid: str | int):
        self.uid = str(uid)
        self.entries: list[tuple[str, float]] | None = None

    def queue(self, pipe) -> None:
        pipe.zrange(user_index_key(self.uid), 0, -1, withscores=True)

    def take(self, reply) -> None:
        self.entries = _entries(reply)


def _entries(flat_or_pairs) -> list[tuple[str, float]]:
    """Index entries from a ZRANGE WITHSCORES reply: redis-py's pairs, or a script's flat list."""
    items = list(flat_or_pairs)
    if items and not isinstance(items[0], tuple | list):
        items = list(zip(items[::2], items[1::2], strict=True))
    return [(m.decode() if isinstance(m, bytes) else m, float(s)) for m, s in items]


# Admission's compare-and-set, on the user's index alone (one slot): the changes Python decided
# (stale and dead entries out, evictions out, the reservation in) are applied only if the index
# still holds exactly the entries (members and scores) the decision was made on. Otherwise
# nothing is written and the entries as they are now come back, for the next decision.
# ARGV: n, then n member/score pairs (ZRANGE order), then m, m members to remove, then the
# reservation ('' for none) and its score.
_ADMIT = """
local held = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local n = tonumber(ARGV[1])
if #held ~= 2 * n then return held end
for i = 1, 2 * n, 2 do
  if held[i] ~= ARGV[i + 1] or tonumber(held[i + 1]) ~= tonumber(ARGV[i + 2]) then return held end
end
local at = 2 * n + 2
local m = tonumber(ARGV[at])
for i = 1, m do redis.call('ZREM', KEYS[1], ARGV[at + i]) end
if ARGV[at + m + 1] ~= '' then redis.call('ZADD', KEYS[1], ARGV[at + m + 2], ARGV[at + m + 1]) end
return 1
"""


@dataclass(frozen=True)
class Admitted:
    decision: AdmissionDecision
    reservation: str | None  # the slot held for this sign-in (ADMIT, EVICT)
    live: list[SessionInfo]  # the user's other live sessions, as the decision saw them


def admit(
    uid: str | int,
    *,
    current: str | None,
    max_per_user: int,
    policy: ConcurrencyPolicy,
    now: float,
    snapshot: IndexSnapshot | None = None,
    alongside=None,
) -> Admitted:
    """Count, decide (``policy.admit_new_session``) and reserve the slot, as one atomic step.

    Read the index (or start from ``snapshot``, read earlier in this request), read the metadata
    of entries not seen yet (dead ones are pruned), decide in Python, then apply the decision
    with ``_ADMIT``, a compare-and-set on the index: if anything changed since the read (another
    sign-in's reservation, an end, a touch), nothing is applied and the loop decides again on
    the entries the script returned. Every reservation is thus written on exactly the state
    that was counted: N parallel sign-ins never leave more than the limit. The reservation
    (``r:<token>``) holds the slot until the save swaps it for the new digest (``_CLAIM``).
    ``alongside(pipe)`` queues other writes (the throttle's bookkeeping) on the first attempt's
    round trip. A user with no other session: one round trip (none to read, given a snapshot).
    """
    uid = str(uid)
    key = user_index_key(uid)
    idle = limits().idle
    entries = snapshot.entries if snapshot is not None and snapshot.uid == uid else None
    seen: dict[str, SessionInfo | None] = {}  # digest -> live info, or None (dead or pending)
    dead: set[str] = set()
    with guarded():
        conn = connection()
        if entries is None:
            entries = _entries(conn.zrange(key, 0, -1, withscores=True))
        for _ in range(100):
            fresh = [(m, s) for m, s in entries if not m.startswith(RESERVATION) and m not in seen]
            live, gone = _inspect(uid, fresh, now=now)
            seen.update({m: None for m, _ in fresh})
            seen.update({i.digest: i for i in live})
            dead.update(gone)
            stale = [
                m
                for m, score in entries
                if m in dead
                or score < now - idle
                or (m.startswith(RESERVATION) and score < now - RESERVATION_LIFE)
            ]
            counted = [(m, s) for m, s in entries if m not in stale and m != current]
            decision = admit_new_session(counted, max_per_user, policy)
            reservation = None
            if decision.admission.value in ("admit", "evict"):
                reservation = RESERVATION + secrets.token_hex(8)
            removals = [*stale, *decision.evict]
            args = [len(entries), *(x for pair in entries for x in pair)]
            args += [len(removals), *removals, reservation or "", now]
            pipe = conn.pipeline(transaction=False)
            if cluster_mode():
                # The cluster pipeline would look the EVAL's keys up first (a round trip of its
                # own): the script goes direct, what rides along in a pipeline after it.
                reply = script(conn, _ADMIT, [key], *args)
            else:
                script(pipe, _ADMIT, [key], *args)
            if alongside is not None:
                alongside(pipe)
                alongside = None
            replies = pipe.execute()  # an empty pipeline sends nothing
            reply = replies[0] if not cluster_mode() else reply
            if not isinstance(reply, list):
                others = [seen[m] for m, _ in counted if seen.get(m) is not None]
                return Admitted(decision, reservation, others)
            entries = _entries(reply)
    raise RuntimeError("Admission did not settle after 100 attempts.")


def release(uid: str | int, reservation: str) -> None:
    """A sign-in that did not happen gives its slot back (its reservation leaves the index)."""
    with guarded():
        connection().zrem(user_index_key(uid), reservation)


# One session's end, in its own slot: the payload goes, the reason stays for ``retention`` ms.
# Returns {deleted, successor} (a tombstone's successor, for ``end_many``).
_END = """
local deleted = redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'end_reason', ARGV[1], 'ended_at', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {deleted, redis.call('HGET', KEYS[2], 'successor') or ''}
"""


def _end_step(digests, reason: str, now: float, retention: int):
    def step(pipe):
        for h in digests:
            script(pipe, _END, [data_key(h), meta_key(h)], reason, now, retention)

    return step


def end_session(*, digest: str, reason: str, uid: str | None = None) -> bool:
    """End one session now: its payload goes, its reason stays. True if it was live.

    The session first, then its index entry (``in_order``: one MULTI on one server; two round
    trips in Cluster, where a crash between them leaves a dead entry that listing prunes)."""
    retention = app_settings.END_REASON_RETENTION * 1000
    with guarded():
        if uid is None:
            raw = connection().hget(meta_key(digest), "uid")
            uid = raw.decode() if raw else None
        replies = in_order(
            _end_step([digest], reason, clock.now(), retention),
            lambda pipe: pipe.zrem(user_index_key(uid), digest) if uid else None,
        )
    return bool(replies[0][0])


def end_many(digests: Iterable[str], *, reason: str, uid: str) -> int:
    """End these sessions at once, and any session one of them rotated into meanwhile.

    A listing followed by an end is not atomic: a session may rotate in between, leaving the
    listed key a tombstone whose ``successor`` is live. Rotation refuses an ended key, so
    following ``successor`` after the end (a few hops at most) closes that gap.
    """
    retention = app_settings.END_REASON_RETENTION * 1000
    pending, seen, ended = list(digests), set(), 0
    for _hop in range(4):
        pending = [h for h in pending if h not in seen]
        if not pending:
            break
        seen.update(pending)
        now = clock.now()
        with guarded():
            # The sessions first, then the index (see ``end_session``).
            results = in_order(
                _end_step(pending, reason, now, retention),
                lambda pipe, hop=tuple(pending): pipe.zrem(user_index_key(uid), *hop),
            )
        ended += sum(1 for r in results[: len(pending)] if r[0])
        pending = [r[1].decode() for r in results[: len(pending)] if r[1]]
    return ended


def list_sessions(uid: str | int, *, prune: bool = True) -> list[SessionInfo]:
    """The user's live sessions, newest activity first. Dead index entries are pruned."""
    uid = str(uid)
    with guarded():
        scored = [
            (d.decode(), score)
            for d, score in connection().zrevrange(user_index_key(uid), 0, -1, withscores=True)
            if not d.startswith(RESERVATION.encode())
        ]
    live, dead = _inspect(uid, scored, now=clock.now())
    if dead and prune:
        with guarded():
            connection().zrem(user_index_key(uid), *dead)
    return live


def _inspect(
    uid: str, scored: list[tuple[str, float]], *, now: float
) -> tuple[list[SessionInfo], list[str]]:
    """Which of these index entries (digest, score) are live sessions, and which are dead (to
    prune); one pipelined read of their metadata, none when there are none. An entry that is
    neither (Cluster: no metadata yet, young) may be a write in flight: hidden, kept."""
    if not scored:
        return [], []
    lim = limits()
    with guarded():
        pipe = connection().pipeline(transaction=False)
        for h, _ in scored:
            pipe.hgetall(meta_key(h))
            pipe.exists(data_key(h))
        raw = pipe.execute()
    live, dead = [], []
    pending_life = PENDING_LIFE if cluster_mode() else 0
    facts = RequestFacts(ip="", ua="")
    no_binding = replace(lim, bind_ua="off", bind_ip="off")
    for i, (h, score) in enumerate(scored):
        meta = SessionMeta.from_hash(raw[2 * i]) if raw[2 * i] else None
        has_data = bool(raw[2 * i + 1])
        ok = (
            meta is not None
            and has_data
            and meta.uid == uid
            and evaluate(meta, facts, no_binding, now).verdict is Verdict.OK
        )
        if ok:
            live.append(SessionInfo(h, crypto.handle_for(h), meta, expires_at(meta, lim)))
        elif meta is None and pending_life and score > now - pending_life:
            continue  # Cluster: maybe a sign-in or rotation between its steps; not yet pruned
        else:
            dead.append(h)
    return live, dead


def find(uid: str | int, handle: str) -> SessionInfo | None:
    """A session of this user by its opaque handle; None for anyone else's handle."""
    for info in list_sessions(uid):
        if crypto.constant_time_equal(info.handle, handle):
            return info
    return None


def count_live(uid: str | int) -> int:
    return len(list_sessions(uid))


def prune_index(uid: str | int) -> int:
    """Drop dead entries from one user's index; returns how many live ones remain."""
    return len(list_sessions(uid, prune=True))


def meta_of(digest: str) -> SessionMeta | None:
    with guarded():
        raw = connection().hgetall(meta_key(digest))
    return SessionMeta.from_hash(raw) if raw else None
