"""Secrets at rest: session keys are stored as HMACs, payloads as MultiFernet tokens.

As Apache's mod_session_crypto does, the first key encrypts and every key decrypts, so a key can
be rotated in (put it first), live sessions re-encrypted (``manage.py reencrypt_sessions``),
and the old key retired.
"""

import hashlib
import hmac
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.core.exceptions import ImproperlyConfigured

from .conf import app_settings


class PayloadUnreadable(Exception):
    """The payload was tampered with, truncated, or encrypted under a retired key."""


def _key_lines(raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in raw.replace(",", "\n").splitlines() if k.strip())


def configured_keys() -> tuple[str, ...]:
    path = app_settings.ENCRYPTION_KEYS_FILE
    raw = Path(path).read_text() if path else app_settings.ENCRYPTION_KEYS
    if not raw:
        raise ImproperlyConfigured(
            "Set SESSION_ENCRYPTION_KEYS (or SESSION_ENCRYPTION_KEYS_FILE) to one or more Fernet "
            "keys (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'), or run with DEMO_MODE=1."
        )
    return _key_lines(raw)


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_as_fernet_key(k)) for k in keys])


def _as_fernet_key(key: str) -> bytes:
    """Accept a real Fernet key; derive one from a demo secret (which check --deploy rejects)."""
    from django.conf import settings

    if key.startswith(settings.DEMO_SECRET_MARK):
        import base64

        return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest())
    return key.encode()


def fernet() -> MultiFernet:
    return _fernet_for(configured_keys())


def encrypt(plaintext: bytes) -> bytes:
    return fernet().encrypt(plaintext)


def decrypt(token: bytes) -> bytes:
    try:
        return fernet().decrypt(token)
    except (InvalidToken, TypeError, ValueError) as exc:
        raise PayloadUnreadable from exc


def reencrypt(token: bytes) -> bytes:
    """Re-encrypt under the first key (MultiFernet.rotate), keeping the original timestamp."""
    try:
        return fernet().rotate(token)
    except (InvalidToken, TypeError, ValueError) as exc:
        raise PayloadUnreadable from exc


def pepper() -> bytes:
    value = app_settings.KEY_PEPPER
    if not value:
        raise ImproperlyConfigured(
            "Set SESSION_KEY_PEPPER to a long random value (the HMAC key for session keys at "
            "rest), or run with DEMO_MODE=1."
        )
    return value.encode()


def key_digest(raw_key: str) -> str:
    """The name a session has in Redis: HMAC-SHA256(pepper, raw key), hex. Never reversible."""
    return hmac.new(pepper(), raw_key.encode(), hashlib.sha256).hexdigest()


def handle_for(digest: str) -> str:
    """The opaque handle shown in URLs: derived from the digest, useless as a cookie."""
    return hmac.new(pepper(), b"handle:" + digest.encode(), hashlib.sha256).hexdigest()[:24]


def event_hash(digest: str) -> str:
    """What the security log records of a session: salted again, so logs never join to Redis."""
    return hmac.new(pepper(), b"event:" + digest.encode(), hashlib.sha256).hexdigest()[:32]


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
