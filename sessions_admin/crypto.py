"""Secrets at rest: session keys are stored as HMACs, payloads as AES-256-GCM tokens.

Each payload is sealed with the digest of its own session key as associated data, so a payload
copied onto another key (by someone with write access to Redis) does not open there: it is
unreadable, and that key is a stranger. As Apache's mod_session_crypto does with its keys, the
first configured key encrypts and every key decrypts; a token names its key by a 4-byte id, so a
key can be rotated in (put it first), live sessions re-encrypted (``manage.py
reencrypt_sessions``), and the old key retired.

Token: ``0x01 | key id (4) | nonce (12) | ciphertext + tag (16)``, raw bytes (Redis stores
bytes; no base64). Keys are configured in Fernet's format (32 url-safe base64 bytes,
``Fernet.generate_key()``) so existing deployments keep their keys; the AES key is derived from
them with a label, never used for anything else. Fernet was replaced because it has no
associated data (and is 2-3x slower: bench/).
"""

import base64
import hashlib
import hmac
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .conf import app_settings

VERSION = b"\x01"
KID_LEN, NONCE_LEN = 4, 12
HEADER_LEN = 1 + KID_LEN + NONCE_LEN


class PayloadUnreadable(Exception):
    """The payload was tampered with, truncated, moved to another key, or sealed under a retired
    key."""


def _key_lines(raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in raw.replace(",", "\n").splitlines() if k.strip())


@lru_cache(maxsize=4)
def _read_key_file(path: str, mtime_ns: int) -> str:
    return Path(path).read_text()


def _configured_raw() -> str:
    path = app_settings.ENCRYPTION_KEYS_FILE
    # The file is read again only when it changes (one stat per request, not one read).
    return _read_key_file(path, os.stat(path).st_mtime_ns) if path else app_settings.ENCRYPTION_KEYS


def configured_keys() -> tuple[str, ...]:
    return _keys_of(_configured_raw())


def _keys_of(raw: str) -> tuple[str, ...]:
    if not raw:
        raise ImproperlyConfigured(
            "Set SESSION_ENCRYPTION_KEYS (or SESSION_ENCRYPTION_KEYS_FILE) to one or more keys "
            "(python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'), or run with DEMO_MODE=1."
        )
    return _key_lines(raw)


def _key_material(key: str) -> bytes:
    """32 bytes from a configured key: a Fernet-format key, or a marked demo secret (derived)."""
    if key.startswith(app_settings.DEMO_SECRET_MARK):
        return hashlib.sha256(key.encode()).digest()
    try:
        raw = base64.urlsafe_b64decode(key.encode())
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            "Each SESSION_ENCRYPTION_KEYS entry must be 32 url-safe base64-encoded bytes "
            "(Fernet.generate_key())."
        )
    return raw


# How many opened payloads each keyring remembers (``open_sealed``), per process: a few hundred
# bytes each.
OPENED_REMEMBERED = 1024


class _Keyring:
    def __init__(self, keys: tuple[str, ...]):
        self.by_id: dict[bytes, AESGCM] = {}
        self.first: bytes = b""
        for key in keys:
            material = _key_material(key)
            kid = hashlib.sha256(b"sessions_admin/kid/v1" + material).digest()[:KID_LEN]
            aes = AESGCM(hashlib.sha256(b"sessions_admin/aead/v1" + material).digest())
            self.by_id.setdefault(kid, aes)
            self.first = self.first or kid
        # The ring's own memory of what it opened: a ring with other keys (one retired, say)
        # is another ring, and remembers nothing this one opened.
        self.opened = lru_cache(maxsize=OPENED_REMEMBERED)(self.decrypt)

    def decrypt(self, token: bytes, digest: str) -> bytes:
        if not isinstance(token, bytes | bytearray) or len(token) < HEADER_LEN + 16:
            raise PayloadUnreadable
        if token[:1] != VERSION:
            raise PayloadUnreadable
        aes = self.by_id.get(bytes(token[1 : 1 + KID_LEN]))
        if aes is None:
            raise PayloadUnreadable
        nonce = bytes(token[1 + KID_LEN : HEADER_LEN])
        try:
            return aes.decrypt(nonce, bytes(token[HEADER_LEN:]), _aad(digest))
        except InvalidTag as exc:
            raise PayloadUnreadable from exc


@lru_cache(maxsize=8)
def _keyring_for(raw: str) -> _Keyring:
    return _Keyring(_keys_of(raw))


def keyring() -> _Keyring:
    """The keys, parsed and derived once per configured value (every request needs them)."""
    return _keyring_for(_configured_raw())


def _aad(digest: str) -> bytes:
    return b"sess:" + digest.encode()


def encrypt(plaintext: bytes, *, digest: str) -> bytes:
    """Seal a payload for the session whose key has this digest, under the first key."""
    ring = keyring()
    nonce = os.urandom(NONCE_LEN)
    return (
        VERSION
        + ring.first
        + nonce
        + ring.by_id[ring.first].encrypt(nonce, plaintext, _aad(digest))
    )


def decrypt(token: bytes, *, digest: str) -> bytes:
    """Open a payload sealed for the session whose key has this digest, or raise
    PayloadUnreadable."""
    return keyring().decrypt(token, digest)


def open_sealed(token: bytes, *, digest: str) -> bytes:
    """``decrypt``, remembered: a session's payload changes only when it is written, so most of
    its requests would open the same bytes again (about 18 µs inside a page, docs/performance.md).
    Remembered by the exact token and the digest it was opened for, so a token copied onto
    another key is opened (and refused) afresh; by the keyring, so a retired key's payloads are
    refused as soon as it is gone. A refusal is never remembered."""
    if type(token) is not bytes:
        return decrypt(token, digest=digest)
    return keyring().opened(token, digest)


def reencrypt(token: bytes, *, digest: str) -> bytes:
    """Re-seal under the first key (key rotation)."""
    return encrypt(decrypt(token, digest=digest), digest=digest)


def sealed_with_first_key(token: bytes) -> bool:
    return bytes(token[1 : 1 + KID_LEN]) == keyring().first


def pepper() -> bytes:
    value = app_settings.KEY_PEPPER
    if not value:
        raise ImproperlyConfigured(
            "Set SESSION_KEY_PEPPER to a long random value (the HMAC key for session keys at "
            "rest), or run with DEMO_MODE=1."
        )
    return value.encode()


# The first characters of a raw session key name its family: kept by a rotation, so that in
# Redis Cluster the old key, its tombstone and the new key share one hash slot (redis_keys).
FAMILY_LEN = 8


@lru_cache(maxsize=4)
def _keyed(pepper_value: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with the pepper and fed nothing: every MAC below starts from a copy
    of it. Keying (OpenSSL's fetch and pad hashing) once per pepper instead of once per call
    takes the session key's HMAC from about 26 to about 14 µs inside a request
    (docs/performance.md)."""
    return hmac.new(pepper_value, digestmod=hashlib.sha256)


def mac(data: bytes) -> str:
    """HMAC-SHA256(pepper, data), hex: every name this app derives from a secret (session keys,
    handles, event hashes, remember-me validators) is one, each ``data`` with its own label."""
    keyed = _keyed(pepper()).copy()
    keyed.update(data)
    return keyed.hexdigest()


def key_digest(raw_key: str) -> str:
    """The name a session has in Redis: HMAC-SHA256(pepper, raw key), hex. Never reversible.

    In Cluster mode, ``f-h``: the family's HMAC (its hash tag, see ``family_tag``) first."""
    h = mac(raw_key.encode())
    if getattr(settings, "REDIS_CLUSTER", False):
        return f"{family_tag(raw_key)}-{h}"
    return h


def family_tag(raw_key: str) -> str:
    """HMAC(pepper, "family:" + the key's first FAMILY_LEN characters), 16 hex digits: the hash
    tag of every key of a session and of those it rotates into. Stable and not secret, yet no
    part of the cookie: a dump of Redis shows only HMACs (it links a session's keys, as the
    tombstones' ``successor`` fields already do)."""
    return mac(b"family:" + raw_key[:FAMILY_LEN].encode())[:16]


def handle_for(digest: str) -> str:
    """The opaque handle shown in URLs: derived from the digest, useless as a cookie."""
    return mac(b"handle:" + digest.encode())[:24]


def event_hash(digest: str) -> str:
    """What the security log records of a session: salted again, so logs never join to Redis."""
    return mac(b"event:" + digest.encode())[:32]


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
