"""Pure policy added by the hardening round: one client rule, enums, pre-login TTLs, the
absolute start after a password, and an obsolete key's privileges."""

import pytest

from sessions_admin.policy import (
    Admission,
    AuthStep,
    BindMode,
    ConcurrencyPolicy,
    Limits,
    RequestFacts,
    SessionMeta,
    Verdict,
    admit_new_session,
    client_key,
    evaluate,
    grace_privileges,
    meta_ttl_ms,
    session_start,
    ttl_ms,
)

LIMITS = Limits(idle=900, absolute=28800, resolution=15, grace=30, elevation=600, anonymous=600)
T = 1_800_000_000.0


@pytest.mark.parametrize(
    "a,b,same",
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", True),  # one /64: privacy addresses rotate
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("192.0.2.1", "192.0.2.2", False),
        ("::ffff:192.0.2.1", "192.0.2.1", True),  # an IPv4-mapped address is that IPv4 client
        ("not an address", "not an address", True),
        ("", "", True),
    ],
)
def test_item6_client_key_is_one_rule_for_which_client_this_is(a, b, same):
    assert (client_key(a) == client_key(b)) is same


@pytest.mark.parametrize("value", ["terminat", "Terminate", "", "kill"])
def test_item14_an_unknown_bind_mode_cannot_exist(value):
    with pytest.raises(ValueError):
        Limits(idle=1, absolute=2, resolution=1, grace=1, elevation=1, bind_ua=value)


def test_item14_an_unknown_concurrency_policy_is_an_error_not_prompt():
    with pytest.raises(ValueError):
        admit_new_session([("a", T), ("b", T)], 2, "evict-oldest")
    decision = admit_new_session([("a", T), ("b", T + 1)], 2, ConcurrencyPolicy.EVICT_OLDEST)
    assert decision.admission is Admission.EVICT and decision.evict == ("a",)


def test_item14_bind_modes_compare_as_their_setting_strings():
    assert BindMode("terminate") is BindMode.TERMINATE and BindMode.LOG == "log"


def test_item10_pre_login_state_lives_at_most_the_anonymous_timeout():
    anonymous = SessionMeta(created_at=T, last_seen=T + 500)
    assert ttl_ms(anonymous, LIMITS, T + 500) == 101_000  # created + 600, then +1 s of slack
    assert meta_ttl_ms(anonymous, LIMITS, T + 500) == 101_000  # no end-reason retention
    signed_in = SessionMeta(created_at=T, last_seen=T + 500, uid="7")
    assert ttl_ms(signed_in, LIMITS, T + 500) == 901_000
    assert meta_ttl_ms(signed_in, LIMITS, T + 500) == 901_000 + 86_400_000
    facts = RequestFacts(ip="192.0.2.1", ua="x")
    assert evaluate(anonymous, facts, LIMITS, T + 600).verdict is Verdict.OK
    assert evaluate(anonymous, facts, LIMITS, T + 601).verdict is Verdict.IDLE_EXPIRED


def test_item7_a_password_at_the_sign_in_form_restarts_the_absolute_timeout_only_there():
    meta = SessionMeta(created_at=T, last_seen=T + 100, uid="7")
    assert session_start(AuthStep.SIGN_IN, meta, T + 100) == T + 100
    for step in (AuthStep.ELEVATE, AuthStep.REAUTHENTICATE, AuthStep.PASSWORD_CHANGE):
        assert session_start(step, meta, T + 100) == T
    assert session_start(AuthStep.ELEVATE, None, T + 100) == T + 100


def test_item17_an_obsolete_key_has_no_more_privilege_than_its_successor():
    elevated = SessionMeta(created_at=T, last_seen=T, uid="7", auth_at=T, elevated_until=T + 600)
    dropped = SessionMeta(created_at=T, last_seen=T, uid="7", auth_at=T, elevated_until=None)
    assert grace_privileges(elevated, dropped).elevated_until is None
    reauthed = SessionMeta(created_at=T, last_seen=T, uid="7", auth_at=T + 50)
    assert grace_privileges(elevated, reauthed).auth_at == T  # the later password is not its
    assert grace_privileges(elevated, None).auth_at is None
    both = SessionMeta(created_at=T, last_seen=T, uid="7", auth_at=T, elevated_until=T + 300)
    assert grace_privileges(elevated, both).elevated_until == T + 300
