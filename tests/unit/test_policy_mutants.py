"""Rules that survived a mutation run of policy.py (mutmut, 546 mutants) until these tests:
each would fail if the rule it names were weakened."""

import pytest

from sessions_admin.policy import (
    Admission,
    ConcurrencyPolicy,
    Limits,
    RequestFacts,
    SessionMeta,
    Verdict,
    admit_new_session,
    elevation_seconds_left,
    evaluate,
    grace_privileges,
    obsolete_key_may_serve,
    session_limit,
)

T = 1_800_000_000.0
LIMITS = Limits(idle=900, absolute=28800, resolution=15, grace=30, elevation=600, anonymous=600)
UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"


def meta(**fields) -> SessionMeta:
    base = dict(created_at=T, last_seen=T, uid="1", ip="203.0.113.7", ua=UA, auth_at=T)
    return SessionMeta(**{**base, **fields})


@pytest.mark.parametrize(
    "policy,admission",
    [
        (ConcurrencyPolicy.PROMPT, Admission.PROMPT),
        (ConcurrencyPolicy.DENY_NEW, Admission.DENY),
        (ConcurrencyPolicy.EVICT_OLDEST, Admission.EVICT),
    ],
)
def test_a_limit_of_one_is_a_limit(policy, admission):
    """Staff default to one live session (MAX_PER_STAFF): a second sign-in is not simply let in."""
    assert admit_new_session([("a", T)], 1, policy).admission is admission
    assert admit_new_session([], 1, policy).admission is Admission.ADMIT


def test_staff_and_members_have_their_own_limits():
    assert session_limit(is_staff=True, member_limit=3, staff_limit=1) == 1
    assert session_limit(is_staff=False, member_limit=3, staff_limit=1) == 3


def test_an_obsolete_key_with_no_live_successor_keeps_no_privilege():
    tombstone = meta(elevated_until=T + 300, factor_at=T, factors="password,totp")
    kept = grace_privileges(tombstone, None)
    assert (kept.auth_at, kept.elevated_until, kept.factor_at) == (None, None, None)


def test_an_obsolete_key_has_no_privilege_its_successor_lacks():
    tombstone = meta(elevated_until=T + 300, factor_at=T, auth_at=T)
    dropped = meta(elevated_until=None, factor_at=None, auth_at=T - 50)  # after "Drop sudo mode"
    kept = grace_privileges(tombstone, dropped)
    assert (kept.auth_at, kept.elevated_until, kept.factor_at) == (T - 50, None, None)
    # and never more than it had itself
    both = grace_privileges(
        meta(elevated_until=T + 10, factor_at=T - 5), meta(elevated_until=T + 600, factor_at=T)
    )
    assert (both.elevated_until, both.factor_at) == (T + 10, T - 5)


@pytest.mark.parametrize(
    "method,serves", [("GET", True), ("HEAD", True), ("POST", False), ("DELETE", False)]
)
def test_inside_the_grace_window_an_obsolete_key_only_reads(method, serves):
    assert obsolete_key_may_serve(method) is serves


@pytest.mark.parametrize("now,left", [(T - 1, 301), (T + 299.5, 1), (T + 300, 0), (T + 301, 0)])
def test_sudo_seconds_left_round_up_and_end_at_the_deadline(now, left):
    assert elevation_seconds_left(meta(elevated_until=T + 300), now) == left
    assert elevation_seconds_left(meta(elevated_until=None), now) == 0


def test_a_signed_in_session_is_bound_and_a_pre_login_one_is_not():
    stolen = RequestFacts(ip="198.51.100.9", ua="curl/8.0")
    decision = evaluate(meta(), stolen, LIMITS, T + 1)
    assert decision.verdict is Verdict.BINDING_MISMATCH
    assert "ua" in decision.binding_changes, "the event names what changed"
    # a visitor's pre-login session (CSRF token only) carries nothing to steal
    assert evaluate(meta(uid=None, auth_at=None), stolen, LIMITS, T + 1).verdict is Verdict.OK


def test_an_app_idle_cap_is_touched_every_tenth_of_it():
    """set_expiry(100): last_seen is written at least every 10 s, or the cap would end an active
    session (the same rule as for IDLE_TIMEOUT)."""
    capped = meta(app_idle=100.0)
    here = RequestFacts(ip="203.0.113.7", ua=UA)
    assert evaluate(capped, here, LIMITS, T + 9.5).touch is False
    assert evaluate(capped, here, LIMITS, T + 10).touch is True


def test_metadata_is_read_field_by_field_from_redis_bytes():
    raw = {
        b"created_at": b"100.5",
        b"last_seen": b"160",
        b"uid": b"7",
        b"auth_at": b"120",
        b"elevated_until": b"700",
        b"ip": b"",
        b"ua": b"Mozilla/5.0 \xff",
        b"obsolete_at": b"170",
        b"successor": b"abc",
        b"end_reason": b"remote",
        b"notice": b"evicted",
        b"app_idle": b"60",
        b"app_until": b"900",
        b"sessions": b"3",
        b"idle_client_only": b"1",
    }
    m = SessionMeta.from_hash(raw)
    assert (m.created_at, m.last_seen, m.uid, m.auth_at, m.elevated_until) == (
        100.5,
        160.0,
        "7",
        120.0,
        700.0,
    )
    assert m.ip == "", "an empty recorded address is still a binding, not a missing one"
    assert m.ua == "Mozilla/5.0 \ufffd", "undecodable bytes are replaced, never an error"
    assert (m.obsolete_at, m.successor, m.end_reason, m.notice) == (
        170.0,
        "abc",
        "remote",
        "evicted",
    )
    assert (m.app_idle, m.app_until, m.sessions) == (60.0, 900.0, 3)
    assert m.idle_client_only == 1, "the lab's switch mark (idle enforced in the browser only)"


@pytest.mark.parametrize("bad", [b"nan", b"inf", b"-inf", b"soon", b""])
def test_a_number_that_is_not_finite_counts_as_absent_never_as_for_ever(bad):
    m = SessionMeta.from_hash(
        {b"created_at": b"100", b"elevated_until": bad, b"app_until": bad, b"idle_client_only": bad}
    )
    assert m.elevated_until is None and m.app_until is None
    assert m.last_seen == 100.0, "no last_seen: the session was last seen when it was created"
    assert m.uid is None and m.ip is None and m.sessions is None
    assert m.idle_client_only is None, "unmarked: the server enforces the idle timeout"


@pytest.mark.parametrize(
    "raw", [{}, {b"uid": b"7"}, {b"created_at": b"nan"}, {b"created_at": b"x"}]
)
def test_metadata_without_a_creation_time_is_no_session(raw):
    assert SessionMeta.from_hash(raw) is None


def test_a_sign_in_is_durable_only_with_as_many_replicas_as_required():
    from sessions_admin.policy import sign_in_is_durable

    assert sign_in_is_durable(1, 1), "one replica asked, one acknowledged"
    assert sign_in_is_durable(2, 1)
    assert not sign_in_is_durable(0, 1), "no replica holds it: refused (fails closed)"
    assert not sign_in_is_durable(1, 2)
    assert sign_in_is_durable(0, 0), "no wait configured (one server)"


def test_a_signed_in_keys_tombstone_outlives_the_grace_window_by_the_retention():
    from sessions_admin.policy import tombstone_retention_ms

    signed_in = tombstone_retention_ms(signed_in=True, limits=LIMITS)
    assert signed_in == LIMITS.retention * 1000, "its reuse trips the wire for a day"
    pre_login = tombstone_retention_ms(signed_in=False, limits=LIMITS)
    assert pre_login == 2 * LIMITS.grace * 1000, "a pre-login key: its grace and as long again"
    no_grace = Limits(**{**LIMITS.__dict__, "grace": 0})
    assert tombstone_retention_ms(signed_in=False, limits=no_grace) == 2000
