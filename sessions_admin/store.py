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
  rotated meanwhile (``SessionInterrupted``). A tombstone dies with the session it moved to.
"""

import logging
import re

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.utils.crypto import get_random_string

from . import clock, crypto, registry
from .conf import app_settings, limits
from .policy import SessionMeta, ttl_ms
from .redis_keys import connection, data_key, guarded, meta_key, user_index_key

VALID_KEY = re.compile(r"^[a-z0-9]{32}$")
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
logger = logging.getLogger("django.security.SuspiciousSession")

_CREATE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[3], 'last_seen', ARGV[3])
  if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'uid', ARGV[5]) end
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
  return 1
end
return 0
"""

_UPDATE = """
if redis.call('HEXISTS', KEYS[2], 'obsolete_at') == 1 then return 0 end
if redis.call('HEXISTS', KEYS[2], 'end_reason') == 1 then return 0 end
if redis.call('SET', KEYS[1], ARGV[1], 'XX', 'PX', ARGV[2]) then
  if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'uid', ARGV[4]) end
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  return 1
end
return 0
"""


class Lookup:
    """What the cookie's key named when the session was loaded."""

    NONE = "none"  # no cookie, or a brand-new session
    LIVE = "live"
    UNKNOWN = "unknown"  # no such session: forged, guessed, tampered, or long gone
    KNOWN_DEAD = "dead"  # a session we remember ending, or an obsolete (rotated) key


class SessionStore(SessionBase):
    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.lookup = Lookup.NONE
        self.meta: SessionMeta | None = None
        self.presented_digest: str | None = None
        self.read_only = False

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
            pipe = connection().pipeline(transaction=False)
            pipe.get(data_key(h))
            pipe.hgetall(meta_key(h))
            token, raw_meta = pipe.execute()
        self.meta = SessionMeta.from_hash(raw_meta) if raw_meta else None
        if self.meta is None:
            self._forget(Lookup.UNKNOWN)
            return {}
        if self.meta.obsolete_at is not None:
            # A tombstone: read-only, and only as alive as the session it moved to, so a
            # logout (or a remote end) also ends what the pre-rotation key can still read.
            self.read_only = True
            self.lookup = Lookup.KNOWN_DEAD
            if token is None or not self._successor_alive(self.meta.successor):
                return {}
        elif self.meta.end_reason or token is None:
            self._forget(Lookup.KNOWN_DEAD)
            return {}
        try:
            data = self.decode(crypto.decrypt(token).decode())
        except (crypto.PayloadUnreadable, UnicodeDecodeError):
            logger.warning("Session payload unreadable (tampered, or under a retired key).")
            self._forget(Lookup.UNKNOWN)
            self.meta = None
            self.read_only = False
            return {}
        if not self.read_only:
            self.lookup = Lookup.LIVE
        return data

    @staticmethod
    def _successor_alive(h: str | None, hops: int = 4) -> bool:
        """Follow a tombstone's successors (a rotation may follow a rotation) to a live one."""
        for _ in range(hops):
            if not h:
                return False
            with guarded():
                pipe = connection().pipeline(transaction=False)
                pipe.hmget(meta_key(h), "successor", "obsolete_at", "end_reason")
                pipe.exists(data_key(h))
                (successor, obsolete_at, end_reason), has_data = pipe.execute()
            if not has_data or end_reason:
                return False
            if not obsolete_at:
                return True
            h = successor.decode() if successor else None
        return False

    def _forget(self, lookup: str) -> None:
        """Strict mode: the presented key is never adopted; a new one is made on save."""
        self.lookup = lookup
        self._session_key = None

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
        data_ttl = max(ttl_ms(meta, limits(), now), 1000)
        meta_ttl = data_ttl + app_settings.END_REASON_RETENTION * 1000
        token = crypto.encrypt(self.encode(data).encode())
        # One round trip: the script, and the index entry when this save signs a user in
        # (a different key slot, so not inside the script; undone below if the script refused).
        new_uid = bool(uid) and (must_create or meta.uid != uid)
        with guarded():
            pipe = connection().pipeline(transaction=False)
            if must_create:
                pipe.eval(_CREATE, 2, data_key(h), meta_key(h), token, data_ttl, now, meta_ttl, uid)
            else:
                pipe.eval(_UPDATE, 2, data_key(h), meta_key(h), token, data_ttl, meta_ttl, uid)
            if new_uid:
                registry.index_add(pipe, uid=uid, digest=h, last_seen=meta.last_seen)
            ok = pipe.execute()[0]
            if not ok and new_uid:
                connection().zrem(user_index_key(uid), h)
        if not ok:
            raise CreateError if must_create else UpdateError
        self.meta = SessionMeta(**{**meta.__dict__, "uid": uid or meta.uid})

    def delete(self, session_key=None):
        key = session_key or self._session_key
        if not key or not self._validate_session_key(key):
            return
        registry.end_session(digest=crypto.key_digest(key), reason="logout")

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
        new_key = self._get_new_session_key()
        new_h = crypto.key_digest(new_key)
        now = clock.now()
        uid = str(data.get(SESSION_KEY, "") or "") or self.meta.uid or ""
        token = crypto.encrypt(self.encode(data).encode())
        for _ in range(3):
            done = registry.rotate(
                old_digest=old_h, new_digest=new_h, token=token, meta=self.meta, uid=uid, now=now
            )
            if done != -1:
                break
            new_key = self._get_new_session_key()
            new_h = crypto.key_digest(new_key)
        if done != 1:
            # Ended (a logout in another tab) or rotated by a concurrent request since it was
            # loaded: never carry its data, and with it a sign-in, into a new key.
            raise SessionInterrupted(
                "The session was ended or rotated by a concurrent request; not rotated."
            )
        self._session_key = new_key
        self._session_cache = data
        self.meta = SessionMeta(**{**self.meta.__dict__, "last_seen": now})
        self.modified = True

    @classmethod
    def clear_expired(cls):
        """Redis expires payloads by TTL; the per-user indexes are pruned on read."""
        return None

    async def acycle_key(self):
        """Django's async default would delete the old key; keep the tombstone semantics."""
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.cycle_key)()

    # --- serialization: Fernet authenticates, so no second signing layer is needed -----------
    def encode(self, session_dict):
        return self.serializer().dumps(session_dict).decode()

    def decode(self, session_data):
        try:
            return self.serializer().loads(session_data.encode())
        except (ValueError, TypeError):
            # As Django's own decode(): a corrupted payload is an empty session, and logged.
            logging.getLogger("django.security.SuspiciousSession").warning("Session data corrupted")
            return {}
