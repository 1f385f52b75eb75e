"""The idle timeout's "without this control" mark (lab mode only, sessions_admin/switches.py):
a session marked ``idle_client_only`` is not ended by the server for inactivity, still ends at
the absolute timeout, and its deadline (the store's load, the Redis TTLs) follows."""

from sessions_admin.policy import (
    Limits,
    RequestFacts,
    SessionMeta,
    Verdict,
    evaluate,
    expires_at,
    idle_client_only_change,
    ttl_ms,
)

# A lab: a control switch is configured (conf.limits() says so from CONTROL_SWITCH).
LIMITS = Limits(
    idle=120, absolute=900, resolution=15, grace=30, elevation=120, idle_switch_configured=True
)
PRODUCTION = Limits(idle=120, absolute=900, resolution=15, grace=30, elevation=120)
FACTS = RequestFacts(ip="127.0.0.1", ua="UA")


def meta(**fields) -> SessionMeta:
    return SessionMeta(
        **{"created_at": 0.0, "last_seen": 0.0, "uid": "1", "ip": "127.0.0.1", "ua": "UA", **fields}
    )


def test_an_unmarked_session_ends_after_the_idle_timeout():
    assert evaluate(meta(), FACTS, LIMITS, 120).verdict is Verdict.OK
    assert evaluate(meta(), FACTS, LIMITS, 121).verdict is Verdict.IDLE_EXPIRED
    assert expires_at(meta(), LIMITS) == 120


def test_a_marked_session_is_left_to_the_page_until_the_absolute_timeout():
    marked = meta(idle_client_only=1)
    assert evaluate(marked, FACTS, LIMITS, 121).verdict is Verdict.OK
    assert evaluate(marked, FACTS, LIMITS, 900).verdict is Verdict.OK
    assert evaluate(marked, FACTS, LIMITS, 901).verdict is Verdict.ABSOLUTE_EXPIRED
    assert expires_at(marked, LIMITS) == 900
    assert ttl_ms(marked, LIMITS, 121) == (900 - 121 + 1) * 1000


def test_a_mark_is_ignored_without_a_configured_control_switch():
    """Someone who can write to Redis sets the mark on a production session: idle still ends it."""
    marked = meta(idle_client_only=1)
    assert evaluate(marked, FACTS, PRODUCTION, 121).verdict is Verdict.IDLE_EXPIRED
    assert expires_at(marked, PRODUCTION) == 120
    assert ttl_ms(marked, PRODUCTION, 100) == (120 - 100 + 1) * 1000


def test_the_mark_is_read_from_the_metadata_hash_as_one():
    raw = {b"created_at": b"0", b"last_seen": b"0", b"uid": b"1"}
    assert SessionMeta.from_hash(raw).idle_client_only is None
    assert SessionMeta.from_hash({**raw, b"idle_client_only": b"1"}).idle_client_only == 1
    assert SessionMeta.from_hash({**raw, b"idle_client_only": b"yes"}).idle_client_only is None


def test_the_change_to_write_follows_the_switch():
    assert idle_client_only_change(meta(), server_enforces_idle=True) is None
    assert idle_client_only_change(meta(), server_enforces_idle=False) is True
    marked = meta(idle_client_only=1)
    assert idle_client_only_change(marked, server_enforces_idle=False) is None
    assert idle_client_only_change(marked, server_enforces_idle=True) is False
    # never a signed-out session, never a tombstone
    assert idle_client_only_change(meta(uid=None), server_enforces_idle=False) is None
    assert idle_client_only_change(meta(obsolete_at=5.0), server_enforces_idle=False) is None
