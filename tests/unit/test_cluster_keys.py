"""The key layout in both modes, computed (no server): Redis Cluster's slot is CRC16 of the hash
tag (``redis.cluster.key_slot``), so where a key lands is a pure function of its name.

The cluster itself is exercised in tests/resilience/test_cluster.py.
"""

import hashlib
import hmac
import secrets

from django.test import override_settings
from django.utils.crypto import get_random_string
from redis.cluster import key_slot

from sessions_admin import crypto
from sessions_admin.redis_keys import data_key, meta_key, user_index_key, user_tombstones_key
from sessions_admin.store import KEY_CHARS

cluster = override_settings(REDIS_CLUSTER=True)


def _raw() -> str:
    return get_random_string(32, KEY_CHARS)


def _rotated(raw: str) -> str:
    """What ``SessionStore.cycle_key`` draws: the family kept, the rest new."""
    return raw[: crypto.FAMILY_LEN] + get_random_string(32 - crypto.FAMILY_LEN, KEY_CHARS)


def _slot(key: str) -> int:
    return key_slot(key.encode())


def test_one_server_keeps_the_contract_layout():
    raw = _raw()
    h = crypto.key_digest(raw)
    assert len(h) == 64 and "-" not in h
    assert data_key(h).endswith(f"sess:{{{h}}}:data")
    assert meta_key(h).endswith(f"sess:{{{h}}}:meta")
    assert user_index_key(7).endswith("user:7:sessions")


@cluster
def test_cluster_digest_is_family_then_key_and_keys_are_tagged_by_family():
    raw = _raw()
    digest = crypto.key_digest(raw)
    family, _, h = digest.partition("-")
    assert family == crypto.family_tag(raw) and len(family) == 16
    with override_settings(REDIS_CLUSTER=False):
        assert h == crypto.key_digest(raw)  # the HMAC of the whole key, as on one server
    assert data_key(digest).endswith(f"sess:{{{family}}}:{h}:data")
    assert meta_key(digest).endswith(f"sess:{{{family}}}:{h}:meta")
    assert _slot(data_key(digest)) == _slot(meta_key(digest))
    # A user's index and tombstone set share the user's slot.
    assert user_index_key(7).endswith("user:{7}:sessions")
    assert _slot(user_index_key(7)) == _slot(user_tombstones_key(7))


@cluster
def test_a_rotation_keeps_the_slot_and_changes_the_secret():
    for _ in range(50):
        old = _raw()
        new = _rotated(old)
        assert new != old and new[crypto.FAMILY_LEN :] != old[crypto.FAMILY_LEN :]
        old_d, new_d = crypto.key_digest(old), crypto.key_digest(new)
        assert old_d != new_d and old_d.split("-")[1] != new_d.split("-")[1]
        assert _slot(data_key(old_d)) == _slot(data_key(new_d)) == _slot(meta_key(new_d))


@cluster
def test_different_sign_ins_land_in_different_slots():
    slots = {_slot(data_key(crypto.key_digest(_raw()))) for _ in range(200)}
    # 200 random families in 16384 slots: a birthday collision or two at most.
    assert len(slots) >= 195


@cluster
def test_no_part_of_the_raw_key_is_in_a_key_name():
    for _ in range(20):
        raw = _raw()
        digest = crypto.key_digest(raw)
        for name in (data_key(digest), meta_key(digest), digest):
            assert raw not in name
            assert raw[: crypto.FAMILY_LEN] not in name
            assert raw[crypto.FAMILY_LEN :] not in name


@cluster
def test_the_family_tag_depends_on_the_pepper(settings):
    raw = _raw()
    tag = crypto.family_tag(raw)
    with override_settings(
        SESSIONS_ADMIN={**settings.SESSIONS_ADMIN, "KEY_PEPPER": secrets.token_hex(32)}
    ):
        assert crypto.family_tag(raw) != tag


def test_a_key_is_stored_under_the_hmac_of_the_current_pepper(settings):
    """The keyed HMAC is prepared once per pepper (crypto._keyed): a digest is still exactly
    HMAC-SHA256(pepper, raw key), and a new pepper is used from the next digest on."""
    raw = _raw()
    with override_settings(REDIS_CLUSTER=False):
        for pepper in (settings.SESSIONS_ADMIN["KEY_PEPPER"], secrets.token_hex(32)):
            with override_settings(
                SESSIONS_ADMIN={**settings.SESSIONS_ADMIN, "KEY_PEPPER": pepper}
            ):
                expected = hmac.new(pepper.encode(), raw.encode(), hashlib.sha256).hexdigest()
                assert crypto.key_digest(raw) == expected
                assert crypto.key_digest(raw) == expected  # the kept HMAC was copied, not fed
