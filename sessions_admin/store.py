"""Django's SessionBase on Redis: keys at rest are HMACs, payloads are Fernet tokens.

``request.session``, ``login()``, ``cycle_key()``, ``flush()`` and ``update_session_auth_hash()``
work unchanged. What differs from Django's cache backend, and why:

* ``load()`` never swallows a Redis error: it raises StoreUnavailable (a 503 that keeps the cookie)
  instead of silently signing the user out.
* A cookie naming no live session is never adopted: the store forgets it (strict mode) and
  remembers what it found (``lookup``) so the middleware can count guesses and show end reasons.
* ``save()`` is one atomic script, ``SET NX`` to create and ``SET XX`` to update, so a session
  ended by another request is never resurrected by a late save.
* ``cycle_key()`` keeps the old key as a read-only tombstone for ROTATION_GRACE seconds (PHP's
  obsolete-session guidance) instead of deleting it, in one script that refuses a key ended or
  rotated meanwhile (``SessionInterrupted``). A tombstone dies with the session it moved to, has
  no more privilege than it (``policy.grace_privileges``), and never changes the browser's cookie.
* Privilege facts (when the password was last entered, until when sudo mode lasts) live in the
  payload, which is sealed to its own key (``crypto``): the metadata hash holds a copy for
  listing, but only the sealed copy is believed. Someone who can write to Redis cannot grant
  sudo mode by writing a hash field, nor move a payload onto another key.
* ``set_expiry()`` is Django's own (the value is kept in the sealed payload) and is honoured as
  a cap (``policy.app_cap``): it can end a session sooner than the idle and absolute timeouts,
  never later. The cookie stays a browser-session cookie whatever it says, and a session past
  its deadline loads empty, as in Django's own backends.
"""

import logging
import re
from dataclasses import replace
from datetime import UTC, datetime
from functools import lru_cache

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.utils.crypto import get_random_string

from . import clock, crypto, registry, replication
from .conf import limits
from .policy import (
    HASH_FIELDS,
    SessionMeta,
    app_cap,
    expires_at,
    grace_privileges,
    meta_ttl_ms,
    ttl_ms,
)
from .redis_keys import (
    cluster_mode,
    connection,
    data_key,
    exchange,
    guarded,
    meta_key,
    resp_bulk,
    script,
    user_index_key,
)

VALID_KEY = re.compile(r"^[a-z0-9]{32}$")
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
logger = logging.getLogger("django.security.SuspiciousSession")

# ARGV: token, data TTL, meta TTL, created_at, uid, then field/value pairs for the meta hash.
# Both scripts end with the same write of the metadata: the uid, the fields, the hash's TTL.
_WRITE_META = """
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'uid', ARGV[5]) end
  for i = 6, #ARGV, 2 do
    if ARGV[i + 1] == DELETE then redis.call('HDEL', KEYS[2], ARGV[i])
    else redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0
"""

_CREATE = (
    registry.LUA_DELETE
    + """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[4], 'last_seen', ARGV[4])"""
    + _WRITE_META
)

# A session that rotated away or ended is never written again (a late save of another request).
_UPDATE = (
    registry.LUA_DELETE
    + """
if redis.call('HEXISTS', KEYS[2], 'obsolete_at') == 1 then return 0 end
if redis.call('HEXISTS', KEYS[2], 'end_reason') == 1 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'XX', 'PX', ARGV[2]) then"""
    + _WRITE_META
)

# A session as the store reads it, in one round trip: the sealed payload (nil when gone), then
# the metadata fields the policy reads, by name, in SessionMeta.from_values' order (a reply
# without the names: half the strings to parse). One server: GET and HMGET in one write
# (``_read``); Cluster: the same two commands in one script (the keys share a slot).
_FIELD_NAMES = ", ".join(f"'{name}'" for name in HASH_FIELDS)
_LOAD = f"return {{redis.call('GET', KEYS[1]), redis.call('HMGET', KEYS[2], {_FIELD_NAMES})}}"


def _read(h: str) -> list:
    """[the sealed payload (None when gone), the metadata fields (HMGET's reply)] of the session
    whose key has digest ``h``.

    On one server the two reads are not one atomic snapshot, and need not be: the payload is
    read first, then the metadata, so the metadata (the authority on whether the session ended
    or moved to a new key) is never older than the payload, and what the payload alone decides
    (who is signed in, the privilege facts: only the sealed copy is believed) comes from one
    read. A rotation or an end landing between the two is seen as it would be by a request
    arriving after it (a tombstone, an ended session); a payload rewritten between them is
    seen as it was just before, as by a request that arrived a moment earlier."""
    data, meta = data_key(h), meta_key(h)
    if cluster_mode():
        return script(connection(), _LOAD, (data, meta))
    return exchange(_packed_load(data, meta), 2)


# The field names of the load's HMGET, packed once: redis-py's packer takes about 11 µs for the
# load's 21 arguments, on every request; this, with the two keys, about 1. (A test compares the
# bytes with redis-py's own packing.)
_HMGET_FIELDS = b"".join(resp_bulk(name) for name in HASH_FIELDS)
_HMGET_HEADER = b"*%d\r\n" % (2 + len(HASH_FIELDS)) + resp_bulk("HMGET")


def _packed_load(data: str, meta: str) -> bytes:
    """GET ``data`` and HMGET ``meta`` HASH_FIELDS, in Redis's wire format."""
    return (
        b"*2\r\n"
        + resp_bulk("GET")
        + resp_bulk(data)
        + _HMGET_HEADER
        + resp_bulk(meta)
        + _HMGET_FIELDS
    )


# The metadata as read, remembered (a process's most recent 1024): a session's metadata changes
# once per activity window, and its frozen SessionMeta is never changed, only replaced (about
# 17 µs inside a page, docs/performance.md).
_meta_of = lru_cache(maxsize=1024)(SessionMeta.from_values)


# The privilege facts inside the sealed payload (see the module docstring).
FACTS = "_session_facts"
FACT_NAMES = ("auth_at", "elevated_until", "factors", "factor_at")
# Facts that are text, not timestamps: the factors proven in this session ("password,totp").
TEXT_FACTS = ("factors",)
# Where Django's SessionBase.set_expiry() keeps the application's value (sealed with the rest).
EXPIRY = "_session_expiry"
CAP_NAMES = ("app_idle", "app_until")


class Lookup:
    """What the cookie's key named when the session was loaded."""

    NONE = "none"  # no cookie, or a brand-new session
    LIVE = "live"
    UNKNOWN = "unknown"  # no such session: forged, guessed, tampered, or long gone
    KNOWN_DEAD = "dead"  # a session we remember ending, or an obsolete (rotated) key


class SessionStore(SessionBase):
    # Defaults as class attributes (a store is made on every request; load() sets what it finds).
    lookup = Lookup.NONE
    meta: SessionMeta | None = None
    presented_digest: str | None = None
    read_only = False
    unreadable = False  # the payload failed to open: tampered, moved, or a retired key
    # A sign-in's slot in the user's index (registry.admit), claimed by the save that indexes
    # the session; reservation_kept says whether it was still there.
    reservation: str | None = None
    reservation_kept = True
    _stored: tuple[str, bytes] | None = None  # (key, plaintext payload) as Redis holds it

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self._meta_writes: dict = {}

    # --- identity ------------------------------------------------------------------------
    @property
    def digest(self) -> str | None:
        return crypto.key_digest(self._session_key) if self._session_key else None

    def _get_new_session_key(self):
        # 32 characters of 36 (165 bits): no round trip to check for a collision; the
        # SET NX in create() and in the rotation script refuses one anyway.
        return get_random_string(32, KEY_CHARS)

    def _validate_session_key(self, key):
        return bool(key) and bool(VALID_KEY.match(key))

    # --- SessionBase contract ------------------------------------------------------------
    def load(self):
        key = self._session_key
        self.meta = None
        if not self._validate_session_key(key):
            self._forget(Lookup.UNKNOWN if key else Lookup.NONE)
            return {}
        h = crypto.key_digest(key)
        self.presented_digest = h
        with guarded():
            token, raw_meta = _read(h)
        self.meta = _meta_of(tuple(raw_meta))
        if self.meta is None:
            self._forget(Lookup.UNKNOWN)
            return {}
        successor = None
        if self.meta.obsolete_at is not None:
            # A tombstone: read-only, and only as alive (and as privileged) as the session it
            # moved to, so a logout or a drop of sudo mode also binds what the old key can do.
            self.read_only = True
            self.lookup = Lookup.KNOWN_DEAD
            successor = self._successor(self.meta.successor)
            if successor is not None and successor.end_reason and self._in_grace(self.meta):
                # The session it moved to has ended (evicted, signed out...): say why.
                self.read_only = False
                self.meta = replace(successor, obsolete_at=None, successor=None)
                self._forget(Lookup.KNOWN_DEAD)
                return {}
            if successor is not None and successor.end_reason:
                successor = None
            if token is None or successor is None:
                self.meta = grace_privileges(self.meta, None)
                return {}
        elif self.meta.end_reason or token is None:
            self._forget(Lookup.KNOWN_DEAD)
            return {}
        try:
            plaintext = crypto.open_sealed(token, digest=h)
        except crypto.PayloadUnreadable:
            logger.warning("Session payload unreadable (tampered, moved, or a retired key).")
            return self._reject()
        data = self._parse(plaintext)
        sealed_uid = str(data.get(SESSION_KEY, "") or "")
        if sealed_uid and self.meta.uid and sealed_uid != self.meta.uid:
            logger.warning("Session metadata names another user than its sealed payload.")
            return self._reject()
        self.meta = self._sealed_facts(self.meta, data)
        if not self.read_only and clock.now() > expires_at(self.meta, limits()):
            # Past its deadline (policy.expires_at, set_expiry() included) but not yet collected
            # by its TTL: nothing to load, as in Django's backends. The middleware still sees
            # the metadata, and says why the session ended.
            self._forget(Lookup.KNOWN_DEAD)
            return {}
        self._stored = (key, plaintext)
        if successor is not None:
            self.meta = grace_privileges(self.meta, successor)
        if not self.read_only:
            self.lookup = Lookup.LIVE
        return data

    def _reject(self) -> dict:
        self._forget(Lookup.UNKNOWN)
        self.unreadable = True
        self.meta = None
        self.read_only = False
        return {}

    @staticmethod
    def _sealed_facts(meta: SessionMeta, data: dict) -> SessionMeta:
        """The privilege facts and the set_expiry() cap as the sealed payload states them; the
        hash's copies are ignored (and usually equal: then ``meta`` itself, no copy made)."""
        facts = data.get(FACTS) or {}
        changed = {}
        for name in FACT_NAMES:
            value = _fact(name, facts.get(name))
            if getattr(meta, name) != value:
                changed[name] = value
        app_idle, app_until = app_cap(data.get(EXPIRY))
        if (app_idle, app_until) != (meta.app_idle, meta.app_until):
            changed.update(app_idle=app_idle, app_until=app_until)
        return replace(meta, **changed) if changed else meta

    @staticmethod
    def _in_grace(meta: SessionMeta) -> bool:
        return clock.now() - meta.obsolete_at <= limits().grace

    @staticmethod
    def _successor(h: str | None, hops: int = 4) -> SessionMeta | None:
        """Follow a tombstone's successors (a rotation may follow a rotation) to the session it
        became: live, or ended (with its reason); None if that is gone or too far."""
        for _ in range(hops):
            if not h:
                return None
            with guarded():
                pipe = connection().pipeline(transaction=False)
                pipe.hgetall(meta_key(h))
                pipe.exists(data_key(h))
                raw, has_data = pipe.execute()
            meta = SessionMeta.from_hash(raw) if raw else None
            if meta is None:
                return None
            if meta.end_reason:
                return meta
            if not has_data:
                return None
            if meta.obsolete_at is None:
                return meta
            h = meta.successor
        return None

    def _forget(self, lookup: str) -> None:
        """Strict mode: the presented key is never adopted; a new one is made on save."""
        self.lookup = lookup
        self._session_key = None

    # --- the browser's cookie is never changed by a read-only (obsolete) key ------------------
    @property
    def modified(self) -> bool:
        """Never 'modified' while read-only: SessionMiddleware would send a Set-Cookie with the
        obsolete key, replacing the live one the browser got from the rotation this raced."""
        return self._modified and not getattr(self, "read_only", False)

    @modified.setter
    def modified(self, value: bool) -> None:
        self._modified = value

    def is_empty(self):
        """A read-only session is never 'empty': SessionMiddleware would delete the cookie, and
        the browser would lose the live key it got from the rotation this request raced."""
        if self.read_only:
            return False
        return super().is_empty()

    def flush(self):
        """Django's auth flushes a session whose password hash is stale (a request racing a
        password change). A read-only key only forgets its data, for this request."""
        if self.read_only:
            self._session_cache = {}
            self.modified = False
            return
        super().flush()

    def hold_cookie(self) -> None:
        """Answer this request without touching the cookie (a JSON 401 for an ended session):
        the next navigation still presents the ended key and is told why it ended."""
        self.read_only = True
        self.modified = False

    # --- privilege facts and metadata written with the next save -------------------------------
    def set_privileges(self, **facts) -> None:
        """Set ``auth_at`` / ``elevated_until`` / ``factors`` / ``factor_at`` in the sealed payload
        (and the hash's copy)."""
        unknown = set(facts) - set(FACT_NAMES)
        if unknown:
            raise ValueError(f"not a privilege fact: {sorted(unknown)}")
        sealed = dict(self.get(FACTS) or {})
        sealed.update(facts)
        # A fact that is not there (None, or no factors) is left out, not sealed as null: the
        # payload is read as if it were (``_sealed_facts``), and every byte is in Redis's memory.
        self[FACTS] = {name: value for name, value in sealed.items() if value not in (None, "")}
        self.set_meta(**facts)

    def set_meta(self, **fields) -> None:
        """Metadata fields to write, field by field, in the same script as the next save."""
        self._meta_writes.update(fields)
        base = self.meta or SessionMeta(clock.now(), clock.now())
        known = {k: v for k, v in fields.items() if k in base.__dict__}
        self.meta = replace(base, **known)
        self.modified = True

    def exists(self, session_key):
        """True if the key names a live, writable session (not a tombstone, not ended)."""
        if not self._validate_session_key(session_key):
            return False
        h = crypto.key_digest(session_key)
        with guarded():
            pipe = connection().pipeline(transaction=False)
            pipe.exists(data_key(h))
            pipe.hmget(meta_key(h), "obsolete_at", "end_reason")
            has_data, flags = pipe.execute()
        return bool(has_data) and not any(flags)

    def create(self):
        for _ in range(10):
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError("Unable to create a new session key.")

    def save(self, must_create=False):
        if self.read_only:
            return
        if self.session_key is None:
            return self.create()
        now = clock.now()
        h = crypto.key_digest(self._session_key)
        data = self._get_session(no_load=must_create)
        uid = str(data.get(SESSION_KEY, "") or "")
        meta = self.meta if (self.meta and not must_create) else SessionMeta(now, now)
        meta = replace(meta, uid=uid or meta.uid)
        if self._meta_writes:
            meta = replace(
                meta, **{k: v for k, v in self._meta_writes.items() if k in meta.__dict__}
            )
        # The set_expiry() cap, from the payload about to be sealed; the hash gets a copy (for
        # listing) when it changes.
        capped = _with_cap(meta, data)
        cap_writes = {
            name: getattr(capped, name)
            for name in CAP_NAMES
            if getattr(capped, name) != getattr(meta, name)
        }
        meta = capped
        lim = limits()
        data_ttl = max(ttl_ms(meta, lim, now), 1000)
        meta_ttl = max(meta_ttl_ms(meta, lim, now), 1000)
        plaintext = self._dump(data)
        if (
            not must_create
            and not self._meta_writes
            and self._stored == (self._session_key, plaintext)
        ):
            # Nothing changed since it was read or written: no write (and none to refuse, if
            # the session ended meanwhile; its next request is told why).
            return
        token = crypto.encrypt(plaintext, digest=h)
        fields = registry.field_args({**self._meta_writes, **cap_writes})
        # The index entry when this save signs a user in: a different key slot, so not inside
        # the script; undone below if the script refused.
        new_uid = bool(uid) and (
            must_create or "uid" in self._meta_writes or (self.meta and self.meta.uid) != uid
        )
        if self._rotation is not None:
            if new_uid and self._rotation[2] in (None, uid):
                return self._save_rotating(meta=meta, plaintext=plaintext, uid=uid)
            self._rotate_now()  # not the sign-in it was deferred for: rotate first, as before
            return self.save(must_create=must_create)
        body = _CREATE if must_create else _UPDATE
        session_keys = [data_key(h), meta_key(h)]
        with guarded():
            if new_uid and cluster_mode():
                # Cluster: two ordered round trips. The index entry first (an entry whose
                # session never appears is pruned by listing), then the session with its badge.
                count = registry.index_claim(
                    uid=uid, digest=h, last_seen=meta.last_seen, reservation=self.reservation
                )
                if count >= 0:
                    fields += ["sessions", count]
                ok = script(
                    connection(), body, session_keys, token, data_ttl, meta_ttl, now, uid, *fields
                )
                claimed = count >= 0
                replicas = 0  # Cluster: no WAIT (docs/deployment.md, "Redis Cluster")
            else:
                # One server: one round trip, the script and the index entry pipelined.
                pipe = connection().pipeline(transaction=False)
                script(pipe, body, session_keys, token, data_ttl, meta_ttl, now, uid, *fields)
                if new_uid:
                    registry.index_add(
                        pipe,
                        uid=uid,
                        digest=h,
                        last_seen=meta.last_seen,
                        reservation=self.reservation,
                    )
                # A sign-in is acknowledged once replicas hold it: WAIT on this same connection.
                replicas, wait_ms = replication.sign_in_replicas() if new_uid else (0, 0)
                if replicas:
                    replication.queue_wait(pipe, replicas, wait_ms)
                replies = pipe.execute()
                ok = replies[0]
                claimed = new_uid and bool(replies[1])
            if new_uid and self.reservation:
                self.reservation, self.reservation_kept = None, claimed
            if not ok and new_uid:
                connection().zrem(user_index_key(uid), h)
        if not ok:
            raise CreateError if must_create else UpdateError
        if replicas:
            replication.require(replies[-1], replicas=replicas, wait_ms=wait_ms, digest=h, uid=uid)
        self._meta_writes = {}
        self._stored = (self._session_key, plaintext)
        self.meta = meta

    def delete(self, session_key=None):
        key = session_key or self._session_key
        if not key or not self._validate_session_key(key):
            return
        registry.end_session(digest=crypto.key_digest(key), reason="logout")

    # --- rotation ------------------------------------------------------------------------
    # Set by services.sign_in around login(): the next cycle_key() leaves the rotation to the
    # save that follows (one server), which rotates, writes and indexes in one script.
    rotate_with_save = False
    _rotation: tuple[str, str, str | None] | None = None  # deferred: (old key, old h, old uid)

    def cycle_key(self):
        """Rotate: the data moves to a new key; the old one becomes a read-only tombstone."""
        data = self._session
        old_key = self._session_key
        if self.read_only:
            # A tombstone is read-only: rotating it would give one key two live successors.
            raise SessionInterrupted("An obsolete (rotated) session key cannot be rotated.")
        if old_key is None or self.meta is None:
            self.create()
            self._session_cache = data
            return
        old_h = crypto.key_digest(old_key)
        now = clock.now()
        uid = str(data.get(SESSION_KEY, "") or "") or self.meta.uid or ""
        if self.rotate_with_save and self._rotation is None and not cluster_mode():
            self._defer_rotation(data, old_key, old_h, uid)
            return
        carried = replace(
            self.meta, **{k: v for k, v in self._meta_writes.items() if k in self.meta.__dict__}
        )
        carried = _with_cap(replace(carried, last_seen=now, uid=uid or None), data)
        plaintext = self._dump(data)
        done = -1
        for _ in range(3):
            new_key = self._new_key_in_family(old_key)
            new_h = crypto.key_digest(new_key)
            token = crypto.encrypt(plaintext, digest=new_h)
            done = registry.rotate(
                old_digest=old_h, new_digest=new_h, token=token, meta=carried, now=now
            )
            if done != -1:
                break
        if done != 1:
            # Ended (a logout in another tab) or rotated by a concurrent request since it was
            # loaded: never carry its data, and with it a sign-in, into a new key.
            raise SessionInterrupted(
                "The session was ended or rotated by a concurrent request; not rotated."
            )
        self._session_key = new_key
        self._session_cache = data
        self._stored = (new_key, plaintext)
        self._meta_writes = {}
        self.meta = carried
        self.modified = True

    def _new_key_in_family(self, old_key: str) -> str:
        # The family (the first characters) stays: in Cluster mode it is the hash tag, so the
        # new key lands in the old one's slot; the rest (124 bits) is new.
        return old_key[: crypto.FAMILY_LEN] + get_random_string(32 - crypto.FAMILY_LEN, KEY_CHARS)

    def _defer_rotation(self, data: dict, old_key: str, old_h: str, uid: str) -> None:
        """The sign-in's rotation, left to the save ``signals.record_sign_in`` makes right
        after ``login()``: that save rotates and writes in one script (``_save_rotating``).
        The new key is chosen now, so the request holds it from here on; the old key is
        untouched in Redis until then (an error before the save leaves it as it was, and
        SessionMiddleware, on the 5xx, sends no cookie)."""
        self._rotation = (old_key, old_h, uid or None)
        self._session_key = self._new_key_in_family(old_key)
        self._session_cache = data
        self._stored = None
        self.modified = True

    def _rotate_now(self) -> None:
        """A deferred rotation whose save is not the sign-in it was deferred for: rotate first,
        on its own (``cycle_key`` as without deferral), then save as usual."""
        old_key = self._rotation[0]
        self._rotation, self.rotate_with_save = None, False
        self._session_key = old_key
        self.cycle_key()

    def _save_rotating(self, *, meta: SessionMeta, plaintext: bytes, uid: str) -> None:
        """One server: the deferred rotation and the save signing the user in, in one round
        trip: ``registry._ROTATE_CLAIM`` (old key a tombstone, the new key written with the
        signed-in payload, the reservation swapped for its digest), then the Sentinel WAIT.
        Refused (the old key ended or rotated meanwhile): the key is the old one again and
        ``UpdateError`` is raised (a 400, never a sign-in carried forward), as ``cycle_key``."""
        old_key, old_h, old_uid = self._rotation
        now = clock.now()
        replicas, wait_ms = replication.sign_in_replicas()
        done = -1
        for _ in range(3):
            h = crypto.key_digest(self._session_key)
            token = crypto.encrypt(plaintext, digest=h)
            with guarded():
                pipe = connection().pipeline(transaction=False)
                registry.queue_rotate_and_claim(
                    pipe,
                    old_digest=old_h,
                    old_uid=old_uid,
                    new_digest=h,
                    token=token,
                    meta=meta,
                    now=now,
                    reservation=self.reservation,
                )
                if replicas:
                    replication.queue_wait(pipe, replicas, wait_ms)
                replies = pipe.execute()
            done, claimed = (int(x) for x in replies[0])
            if done != -1:
                break
            self._session_key = self._new_key_in_family(old_key)
        self._rotation = None
        if done != 1:
            self._session_key = old_key
            if done == 0:
                self.reservation = None  # given back by the script
            raise UpdateError
        if self.reservation:
            self.reservation, self.reservation_kept = None, bool(claimed)
        if replicas:
            replication.require(replies[-1], replicas=replicas, wait_ms=wait_ms, digest=h, uid=uid)
        self._meta_writes = {}
        self._stored = (self._session_key, plaintext)
        self.meta = meta

    # --- set_expiry(): Django's own, honoured as a cap (policy.app_cap) -----------------------
    def get_expiry_date(self, **kwargs):
        """When this session expires, as the server will enforce it.

        Without an application expiry (none, or 0) this is Django's documented default, now +
        SESSION_COOKIE_AGE, which this store never uses (the cookie has no Max-Age; the
        server's deadline is policy.expires_at). With one, it is that expiry as honoured: never
        later than the idle and absolute deadlines. ``modification`` is, as in Django, the
        moment of the last activity of a session not loaded from the store.
        """
        expiry = kwargs["expiry"] if "expiry" in kwargs else self.get(EXPIRY)
        if not expiry:
            return super().get_expiry_date(**kwargs)
        modification = kwargs.get("modification")
        at = modification.timestamp() if modification else clock.now()
        meta = self.meta if self.meta is not None else SessionMeta(at, at)
        return _moment(expires_at(_with_cap(meta, {EXPIRY: expiry}), limits()))

    def get_expiry_age(self, **kwargs):
        """Seconds from ``modification`` (default: now) to ``get_expiry_date``."""
        expiry = kwargs["expiry"] if "expiry" in kwargs else self.get(EXPIRY)
        if not expiry:
            return super().get_expiry_age(**kwargs)
        modification = kwargs.get("modification") or _moment(clock.now())
        delta = self.get_expiry_date(**{**kwargs, "expiry": expiry}) - modification
        return delta.days * 86400 + delta.seconds  # Django's own rounding

    async def aget_expiry_date(self, **kwargs):
        return await sync_to_async(self.get_expiry_date)(**kwargs)

    async def aget_expiry_age(self, **kwargs):
        return await sync_to_async(self.get_expiry_age)(**kwargs)

    def get_expire_at_browser_close(self):
        """Always, while SESSION_EXPIRE_AT_BROWSER_CLOSE is on (the cookie contract: no
        Expires or Max-Age, whatever set_expiry() said; the server enforces its expiry).
        Django would make the cookie persistent after set_expiry(n)."""
        if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE:
            return True
        return super().get_expire_at_browser_close()

    async def aget_expire_at_browser_close(self):
        if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE:
            return True
        return await super().aget_expire_at_browser_close()

    @classmethod
    def clear_expired(cls):
        """Redis expires payloads by TTL; the per-user indexes are pruned on read."""
        return None

    async def acycle_key(self):
        """Django's async default would delete the old key; keep the tombstone semantics."""
        return await sync_to_async(self.cycle_key)()

    # --- serialization: AES-GCM authenticates, so no second signing layer is needed ----------
    # The store seals and opens bytes (``_dump``, ``_parse``); Django's encode() and decode()
    # are the same as text.
    def _dump(self, session_dict) -> bytes:
        return self.serializer().dumps(session_dict)

    def _parse(self, payload: bytes) -> dict:
        try:
            return self.serializer().loads(payload)
        except (ValueError, TypeError):
            # As Django's own decode(): a corrupted payload is an empty session, and logged.
            logger.warning("Session data corrupted")
            return {}

    def encode(self, session_dict):
        return self._dump(session_dict).decode()

    def decode(self, session_data):
        return self._parse(session_data.encode())


def _fact(name: str, value):
    """A sealed fact as the metadata holds it: text for TEXT_FACTS, else a timestamp (or None)."""
    return str(value or "") if name in TEXT_FACTS else _number(value)


def _number(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _with_cap(meta: SessionMeta, data: dict) -> SessionMeta:
    """``meta`` with the set_expiry() cap the payload ``data`` holds (policy.app_cap)."""
    app_idle, app_until = app_cap(data.get(EXPIRY))
    return replace(meta, app_idle=app_idle, app_until=app_until)


def _moment(timestamp: float) -> datetime:
    """A policy timestamp as the datetime Django would use (aware UTC, or naive local time)."""
    if settings.USE_TZ:
        return datetime.fromtimestamp(timestamp, tz=UTC)
    return datetime.fromtimestamp(timestamp)
