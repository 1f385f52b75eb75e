"""Payload encryption: this engine's AES-256-GCM tokens (sessions_admin.crypto, key digest as
associated data, raw bytes) vs Fernet (AES-128-CBC + HMAC-SHA256, base64), as the engine used
before, through MultiFernet as it was configured. A typical payload of 300 bytes (auth keys,
CSRF secret, sealed privilege facts); encrypt + decrypt per session round, in microseconds."""

import json
import secrets
import time

from cryptography.fernet import Fernet, MultiFernet

from sessions_admin import crypto

from .stats import summary


def typical_payload(size: int = 300) -> bytes:
    body = {
        "_auth_user_id": "123456",
        "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
        "_auth_user_hash": secrets.token_hex(32),
        "_csrftoken": secrets.token_urlsafe(24),
        "_session_facts": {"auth_at": 1764000000.123, "elevated_until": None},
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    pad = size - len(raw) - len(',"p":""')
    if pad > 0:
        body["p"] = "x" * pad
        raw = json.dumps(body, separators=(",", ":")).encode()
    return raw


def _time(fn, *, batches: int, per_batch: int) -> dict:
    times = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(per_batch):
            fn()
        times.append((time.perf_counter() - t0) / per_batch)
    return summary(times, 1e6)


def run(*, batches: int = 30, per_batch: int = 500) -> dict:
    payload = typical_payload()
    digest = crypto.key_digest(secrets.token_hex(16))
    fernet = MultiFernet([Fernet(Fernet.generate_key())])
    aes_token = crypto.encrypt(payload, digest=digest)
    fernet_token = fernet.encrypt(payload)
    assert crypto.decrypt(aes_token, digest=digest) == payload
    assert fernet.decrypt(fernet_token) == payload
    cases = {
        "aes_gcm_encrypt": lambda: crypto.encrypt(payload, digest=digest),
        "aes_gcm_decrypt": lambda: crypto.decrypt(aes_token, digest=digest),
        "fernet_encrypt": lambda: fernet.encrypt(payload),
        "fernet_decrypt": lambda: fernet.decrypt(fernet_token),
        "key_digest_hmac": lambda: crypto.key_digest("k" * 32),
    }
    out = {"payload_bytes": len(payload)}
    for _ in range(2):  # warm-up pass, then the measured one
        for name, fn in cases.items():
            out[name] = _time(fn, batches=batches, per_batch=per_batch)
    for scheme in ("aes_gcm", "fernet"):
        out[f"{scheme}_roundtrip_us"] = round(
            out[f"{scheme}_encrypt"]["median"] + out[f"{scheme}_decrypt"]["median"], 2
        )
    out["aes_gcm_token_bytes"] = len(aes_token)
    out["fernet_token_bytes"] = len(fernet_token)
    out["fernet_vs_aes_gcm"] = round(out["fernet_roundtrip_us"] / out["aes_gcm_roundtrip_us"], 2)
    return out
