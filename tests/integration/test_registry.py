from sessions_admin import registry
from sessions_admin.policy import SessionMeta, elevation_seconds_left
from sessions_admin.redis_keys import connection, meta_key


def test_metadata_is_never_written_to_a_session_that_is_gone():
    """A notice racing an expiry must not leave a metadata hash with no TTL behind."""
    digest = "0" * 64
    assert registry.set_fields(digest, notice="New sign-in") is False
    assert not connection().exists(meta_key(digest))


def test_elevation_time_left_rounds_up_so_header_and_gate_agree():
    meta = SessionMeta(created_at=0, last_seen=0, elevated_until=100.0)
    assert elevation_seconds_left(meta, 99.5) == 1
    assert elevation_seconds_left(meta, 100.0) == 0
    assert elevation_seconds_left(meta, 100.5) == 0
