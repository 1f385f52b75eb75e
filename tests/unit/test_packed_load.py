"""The load's command, packed by hand (store._packed_load): byte for byte what redis-py packs."""

import pytest
from redis.connection import Connection

from sessions_admin.policy import HASH_FIELDS
from sessions_admin.store import _packed_load


@pytest.mark.parametrize(
    "prefix", ["", "app:", "préfixe ✓:"], ids=["no prefix", "ascii", "non-ascii"]
)
def test_the_packed_load_is_what_redis_py_would_send(prefix):
    data, meta = f"{prefix}sess:{{{'a1' * 32}}}:data", f"{prefix}sess:{{{'a1' * 32}}}:meta"
    expected = Connection().pack_commands([("GET", data), ("HMGET", meta, *HASH_FIELDS)])
    assert _packed_load(data, meta) == b"".join(bytes(part) for part in expected)
