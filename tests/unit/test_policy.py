"""policy.py is pure: these tests need no database, no Redis and no clock.

Every timeout is tested at its boundary, T-1, T and T+1 (inclusive on the valid side).
"""

import pytest

from sessions_admin.policy import (
    EXPIRED_CAP,
    HASH_FIELDS,
    Admission,
    Limits,
    RequestFacts,
    SessionMeta,
    Verdict,
    admit_new_session,
    app_cap,
    binding_changes,
    client_ip,
    end_reason_text,
    evaluate,
    expires_at,
    is_elevated,
    over_guess_limit,
    recently_authenticated,
    same_client_ip,
    ttl_ms,
)

T0 = 1_700_000_000.0
IDLE, ABSOLUTE, GRACE, ELEVATION, RESOLUTION = 900, 28800, 30, 600, 15
LIMITS = Limits(
    idle=IDLE, absolute=ABSOLUTE, resolution=RESOLUTION, grace=GRACE, elevation=ELEVATION
)
UA = "Mozilla/5.0 (X11; Linux x86_64) Chromium/156"
FACTS = RequestFacts(ip="203.0.113.7", ua=UA)


def meta(**fields) -> SessionMeta:
    base = dict(created_at=T0, last_seen=T0, uid="1", ip=FACTS.ip, ua=FACTS.ua, auth_at=T0)
    return SessionMeta(**{**base, **fields})


def limits(**fields) -> Limits:
    return Limits(**{**LIMITS.__dict__, **fields})


# --- timeouts --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("elapsed", "verdict"),
    [(IDLE - 1, Verdict.OK), (IDLE, Verdict.OK), (IDLE + 1, Verdict.IDLE_EXPIRED)],
)
def test_idle_timeout_boundary(elapsed, verdict):
    # created long enough ago to be active, last seen `elapsed` seconds ago
    m = meta(created_at=T0 - 60, last_seen=T0)
    assert evaluate(m, FACTS, LIMITS, T0 + elapsed).verdict is verdict


@pytest.mark.parametrize(
    ("elapsed", "verdict"),
    [
        (ABSOLUTE - 1, Verdict.OK),
        (ABSOLUTE, Verdict.OK),
        (ABSOLUTE + 1, Verdict.ABSOLUTE_EXPIRED),
    ],
)
def test_absolute_timeout_boundary_whatever_the_activity(elapsed, verdict):
    m = meta(created_at=T0, last_seen=T0 + elapsed)  # active right now
    assert evaluate(m, FACTS, LIMITS, T0 + elapsed).verdict is verdict


def test_absolute_wins_over_idle_when_both_passed():
    m = meta()
    assert evaluate(m, FACTS, LIMITS, T0 + ABSOLUTE + IDLE).verdict is Verdict.ABSOLUTE_EXPIRED


@pytest.mark.parametrize(
    ("elapsed", "verdict"),
    [(GRACE - 1, Verdict.GRACE), (GRACE, Verdict.GRACE), (GRACE + 1, Verdict.TRIPWIRE)],
)
def test_rotation_grace_boundary(elapsed, verdict):
    m = meta(obsolete_at=T0)
    assert evaluate(m, FACTS, LIMITS, T0 + elapsed).verdict is verdict


def test_obsolete_key_is_judged_before_its_end_reason_and_timeouts():
    m = meta(obsolete_at=T0, end_reason="logout")
    assert evaluate(m, FACTS, LIMITS, T0 + ABSOLUTE * 2).verdict is Verdict.TRIPWIRE


def test_ended_session_is_ended():
    assert evaluate(meta(end_reason="logout"), FACTS, LIMITS, T0).verdict is Verdict.ENDED


def test_unknown_session():
    assert evaluate(None, FACTS, LIMITS, T0).verdict is Verdict.UNKNOWN


@pytest.mark.parametrize(
    ("elapsed", "touch"),
    [(RESOLUTION - 1, False), (RESOLUTION, True), (RESOLUTION + 1, True)],
)
def test_activity_is_written_once_per_resolution(elapsed, touch):
    assert evaluate(meta(), FACTS, LIMITS, T0 + elapsed).touch is touch


@pytest.mark.parametrize(
    ("elapsed", "elevated"), [(-1, True), (0, True), (1, False)], ids=["T-1", "T", "T+1"]
)
def test_elevation_window_boundary(elapsed, elevated):
    m = meta(elevated_until=T0 + ELEVATION)
    assert is_elevated(m, T0 + ELEVATION + elapsed) is elevated


def test_never_elevated():
    assert is_elevated(meta(), T0) is False
    assert is_elevated(None, T0) is False


@pytest.mark.parametrize(
    ("elapsed", "recent"),
    [(ELEVATION - 1, True), (ELEVATION, True), (ELEVATION + 1, False)],
)
def test_recent_authentication_boundary(elapsed, recent):
    assert recently_authenticated(meta(auth_at=T0), LIMITS, T0 + elapsed) is recent


def test_no_authentication_is_not_recent():
    assert recently_authenticated(meta(auth_at=None), LIMITS, T0) is False
    assert recently_authenticated(None, LIMITS, T0) is False


# --- binding ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("bind_ua", "bind_ip", "facts", "verdict", "changes"),
    [
        ("terminate", "log", RequestFacts(FACTS.ip, "curl/8"), Verdict.BINDING_MISMATCH, ("ua",)),
        ("log", "log", RequestFacts(FACTS.ip, "curl/8"), Verdict.OK, ("ua",)),
        ("off", "log", RequestFacts(FACTS.ip, "curl/8"), Verdict.OK, ()),
        ("terminate", "log", RequestFacts("198.51.100.1", UA), Verdict.OK, ("ip",)),
        ("terminate", "terminate", RequestFacts("198.51.100.1", UA), Verdict.BINDING_MISMATCH,
         ("ip",)),
        ("terminate", "off", RequestFacts("198.51.100.1", UA), Verdict.OK, ()),
        ("log", "terminate", RequestFacts("198.51.100.1", "curl/8"), Verdict.BINDING_MISMATCH,
         ("ua", "ip")),
        ("terminate", "terminate", FACTS, Verdict.OK, ()),
    ],
)  # fmt: skip
def test_binding(bind_ua, bind_ip, facts, verdict, changes):
    decision = evaluate(meta(), facts, limits(bind_ua=bind_ua, bind_ip=bind_ip), T0 + 1)
    assert decision.verdict is verdict
    assert decision.binding_changes == changes


def test_anonymous_sessions_are_not_bound():
    decision = evaluate(meta(uid=None), RequestFacts("198.51.100.1", "curl/8"), LIMITS, T0)
    assert decision.verdict is Verdict.OK and decision.binding_changes == ()


def test_binding_unrecorded_fields_are_not_a_change():
    assert binding_changes(meta(ip=None, ua=None), RequestFacts("x", "y"), LIMITS) == ()


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", True),  # same /64
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),  # next /64
        ("203.0.113.7", "203.0.113.8", False),  # IPv4 has no such allowance
        ("203.0.113.7", "203.0.113.7", True),
        ("::ffff:203.0.113.7", "2001:db8::1", False),
        ("not-an-ip", "2001:db8::1", False),
        (None, "2001:db8::1", False),
    ],
)
def test_same_client_ip(a, b, same):
    assert same_client_ip(a, b) is same


def test_ipv6_privacy_address_inside_the_64_is_the_same_client():
    m = meta(ip="2001:db8:1:2::1")
    facts = RequestFacts("2001:db8:1:2:dead:beef:0:1", UA)
    decision = evaluate(m, facts, limits(bind_ip="terminate"), T0)
    assert decision.verdict is Verdict.OK and decision.binding_changes == ()
    moved = RequestFacts("2001:db8:1:3::1", UA)
    assert evaluate(m, moved, limits(bind_ip="terminate"), T0).verdict is Verdict.BINDING_MISMATCH


# --- client IP behind proxies ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("remote", "xff", "trusted", "expected"),
    [
        ("10.0.0.1", None, 0, "10.0.0.1"),
        ("10.0.0.1", "6.6.6.6", 0, "10.0.0.1"),  # no trusted proxy: XFF is the client's word
        ("10.0.0.1", "203.0.113.7", 1, "203.0.113.7"),
        ("10.0.0.1", "6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # spoofed leftmost ignored
        ("10.0.0.2", "6.6.6.6, 203.0.113.7, 10.0.0.1", 2, "203.0.113.7"),
        ("10.0.0.1", "203.0.113.7", 2, "10.0.0.1"),  # fewer hops than proxies: don't trust
        ("10.0.0.1", "garbage", 1, "10.0.0.1"),
        ("10.0.0.1", "6.6.6.6,  2001:db8::1 ", 1, "2001:db8::1"),
        ("10.0.0.1", "", 1, "10.0.0.1"),
    ],
)
def test_client_ip(remote, xff, trusted, expected):
    assert client_ip(remote, xff, trusted) == expected


# --- concurrency -----------------------------------------------------------------------------
LIVE = [("a", T0 + 3), ("b", T0 + 1), ("c", T0 + 2)]


@pytest.mark.parametrize("policy", ["evict_oldest", "deny_new", "prompt"])
def test_admission_below_the_limit_admits(policy):
    assert admit_new_session(LIVE[:2], 3, policy).admission is Admission.ADMIT


@pytest.mark.parametrize(
    ("policy", "admission", "evict"),
    [
        ("evict_oldest", Admission.EVICT, ("b",)),
        ("deny_new", Admission.DENY, ()),
        ("prompt", Admission.PROMPT, ()),
    ],
)
def test_admission_at_the_limit(policy, admission, evict):
    decision = admit_new_session(LIVE, 3, policy)
    assert decision.admission is admission and decision.evict == evict


@pytest.mark.parametrize(
    ("policy", "admission", "evict"),
    [
        ("evict_oldest", Admission.EVICT, ("b", "c")),
        ("deny_new", Admission.DENY, ()),
        ("prompt", Admission.PROMPT, ()),
    ],
)
def test_admission_past_the_limit(policy, admission, evict):
    decision = admit_new_session(LIVE, 2, policy)
    assert decision.admission is admission and decision.evict == evict


def test_no_limit_admits():
    assert admit_new_session(LIVE * 10, 0, "deny_new").admission is Admission.ADMIT


# --- TTLs and small helpers ------------------------------------------------------------------
def test_ttl_follows_the_sooner_deadline_plus_a_second():
    m = meta()
    assert ttl_ms(m, LIMITS, T0) == (IDLE + 1) * 1000
    late = meta(created_at=T0 - ABSOLUTE + 100)  # absolute deadline in 100 s
    assert ttl_ms(late, LIMITS, T0) == 101 * 1000


def test_ttl_past_the_deadline_is_not_positive():
    assert ttl_ms(meta(), LIMITS, T0 + IDLE + 1) <= 0
    assert ttl_ms(meta(), LIMITS, T0 + IDLE + 5) < 0


@pytest.mark.parametrize(("count", "over"), [(49, False), (50, False), (51, True)])
def test_guess_limit_boundary(count, over):
    assert over_guess_limit(count, 50) is over


def test_end_reason_text_names_the_timeout():
    assert "15 minutes of inactivity" in end_reason_text("idle", LIMITS)
    assert "8 hours" in end_reason_text("absolute", LIMITS)
    assert end_reason_text("no-such-reason", LIMITS) is None
    assert end_reason_text(None, LIMITS) is None


def test_meta_from_hash_tolerates_garbage():
    assert SessionMeta.from_hash({}) is None
    assert SessionMeta.from_hash({b"created_at": b"nope"}) is None
    m = SessionMeta.from_hash({b"created_at": b"5", b"last_seen": b"x", b"uid": b"7"})
    assert m.created_at == 5 and m.last_seen == 5 and m.uid == "7"


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {b"created_at": b"nope", b"uid": b"7"},
        {b"created_at": b"5", b"last_seen": b"x", b"uid": b"7"},
        {b"created_at": b"5", b"ip": b"", b"ua": b"", b"factors": b"", b"idle_client_only": b"1"},
        {
            b"created_at": b"1795668801.616",
            b"last_seen": b"1795668901.5",
            b"uid": b"42",
            b"auth_at": b"1795668801.616",
            b"elevated_until": b"inf",
            b"ip": b"203.0.113.9",
            b"ua": "Mozilla/5.0 \u00e9".encode(),
            b"obsolete_at": b"1795668902",
            b"successor": b"ab" * 32,
            b"end_reason": b"evicted",
            b"notice": b"a new sign-in",
            b"app_idle": b"60",
            b"app_until": b"",
            b"sessions": b"3",
            b"factors": b"password,totp",
            b"factor_at": b"1795668850",
            b"idle_client_only": b"yes",
            b"not_a_field": b"ignored",
        },
    ],
)
def test_the_load_reads_the_fields_by_name_as_the_hash_would_be_read(raw):
    """The store's HMGET of HASH_FIELDS (values in that order, None where absent) gives the
    same metadata as the whole hash would."""
    values = [raw.get(name.encode()) for name in HASH_FIELDS]
    assert SessionMeta.from_values(values) == SessionMeta.from_hash(raw)


def test_policy_imports_no_django_redis_or_clock():
    import ast
    import inspect

    import sessions_admin.policy as policy

    tree = ast.parse(inspect.getsource(policy))
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {n for n in names if n and n.split(".")[0] in {"django", "redis", "time"}}
    assert "clock" not in str(names)


def test_obsolete_key_inside_grace_is_still_bound_to_its_browser():
    """A pre-rotation key from another browser is no free 30 seconds of access."""
    limits = Limits(idle=900, absolute=28800, resolution=15, grace=30, elevation=600)
    meta = SessionMeta(
        created_at=0, last_seen=0, uid="1", ua="victim", ip="192.0.2.1", obsolete_at=10
    )
    same = evaluate(meta, RequestFacts(ip="192.0.2.1", ua="victim"), limits, 20)
    other = evaluate(meta, RequestFacts(ip="192.0.2.1", ua="attacker"), limits, 20)
    assert same.verdict is Verdict.GRACE
    assert other.verdict is Verdict.BINDING_MISMATCH


# --- set_expiry() as a cap (app_cap): shorter, never longer ----------------------------------
@pytest.mark.parametrize(
    ("expiry", "cap"),
    [
        (None, (None, None)),
        (0, (None, None)),  # Django's "at browser close": the cookie always is, so no cap
        (0.0, (None, None)),
        (60, (60.0, None)),
        (10**6, (10.0**6, None)),
        (-10, (-10.0, None)),
        (2.5, (2.5, None)),
        ("2023-11-14T22:15:00+00:00", (None, 1_700_000_100.0)),
        ("2023-11-14T23:15:00+01:00", (None, 1_700_000_100.0)),
        ("not a date", (None, EXPIRED_CAP)),  # fails closed
        ("", (None, EXPIRED_CAP)),
        (float("inf"), (None, EXPIRED_CAP)),
        (float("nan"), (None, EXPIRED_CAP)),
        (True, (None, EXPIRED_CAP)),
        ([60], (None, EXPIRED_CAP)),
    ],
)
def test_app_cap_reads_what_django_set_expiry_stores(expiry, cap):
    assert app_cap(expiry) == cap


def capped(expiry, **fields) -> SessionMeta:
    app_idle, app_until = app_cap(expiry)
    return meta(app_idle=app_idle, app_until=app_until, **fields)


def test_no_cap_leaves_the_deadline_alone():
    assert expires_at(capped(0), LIMITS) == expires_at(meta(), LIMITS) == T0 + IDLE


@pytest.mark.parametrize(
    ("expiry", "deadline"),
    [
        (60, T0 + 60),  # shorter than the idle timeout: it wins
        (IDLE, T0 + IDLE),
        (IDLE + 1, T0 + IDLE),  # longer: the idle timeout wins
        (10**6, T0 + IDLE),
        (-10, T0 - 10),  # as in Django, a negative age expires it at once
        ("2023-11-14T22:15:00+00:00", T0 + 100),  # a date: a fixed deadline
        ("2099-01-01T00:00:00+00:00", T0 + IDLE),  # never later than the policy
        ("garbage", EXPIRED_CAP),
    ],
)
def test_expires_at_takes_the_stricter_of_policy_and_app(expiry, deadline):
    assert expires_at(capped(expiry), LIMITS) == deadline


def test_a_seconds_cap_counts_from_the_last_activity_a_date_does_not():
    late = dict(created_at=T0, last_seen=T0 + 500)
    assert expires_at(capped(60, **late), LIMITS) == T0 + 560
    assert expires_at(capped("2023-11-14T22:15:00+00:00", **late), LIMITS) == T0 + 100


def test_a_cap_never_lengthens_the_absolute_timeout():
    old = dict(created_at=T0 - ABSOLUTE + 30, last_seen=T0)
    assert expires_at(capped(10**6, **old), LIMITS) == T0 + 30
    assert expires_at(capped("2099-01-01T00:00:00+00:00", **old), LIMITS) == T0 + 30


def test_a_cap_never_lengthens_a_pre_login_session():
    anonymous = capped(10**6, uid=None)
    assert expires_at(anonymous, LIMITS) == T0 + LIMITS.anonymous


@pytest.mark.parametrize(
    ("elapsed", "verdict"),
    [(59, Verdict.OK), (60, Verdict.OK), (61, Verdict.APP_IDLE_EXPIRED)],
)
def test_a_seconds_cap_is_an_idle_timeout_with_its_boundary(elapsed, verdict):
    assert evaluate(capped(60), FACTS, LIMITS, T0 + elapsed).verdict is verdict


@pytest.mark.parametrize(
    ("elapsed", "verdict"),
    [(99, Verdict.OK), (100, Verdict.OK), (101, Verdict.APP_DEADLINE_EXPIRED)],
)
def test_a_date_cap_is_a_fixed_deadline_with_its_boundary(elapsed, verdict):
    m = capped("2023-11-14T22:15:00+00:00", last_seen=T0 + elapsed)  # however active
    assert evaluate(m, FACTS, LIMITS, T0 + elapsed).verdict is verdict


def test_a_longer_cap_changes_no_verdict():
    for elapsed in (IDLE, IDLE + 1):
        plain = evaluate(meta(), FACTS, LIMITS, T0 + elapsed)
        assert evaluate(capped(10**6), FACTS, LIMITS, T0 + elapsed) == plain


def test_an_unreadable_or_past_cap_expires_at_once():
    assert evaluate(capped("garbage"), FACTS, LIMITS, T0).verdict is Verdict.APP_DEADLINE_EXPIRED
    assert evaluate(capped(-1), FACTS, LIMITS, T0).verdict is Verdict.APP_IDLE_EXPIRED


def test_ttl_follows_the_cap():
    assert ttl_ms(capped(60), LIMITS, T0) == 61 * 1000
    assert ttl_ms(capped(10**6), LIMITS, T0) == (IDLE + 1) * 1000
    assert ttl_ms(capped(-10), LIMITS, T0) <= 0  # the store deletes, Redis refuses PX <= 0


def test_a_short_cap_shortens_the_activity_resolution_too():
    """Activity is written at least every tenth of the cap, as of the idle timeout, so a busy
    session with set_expiry(60) is not ended for want of a touch."""
    m = capped(60)
    assert evaluate(m, FACTS, LIMITS, T0 + 5).touch is False
    assert evaluate(m, FACTS, LIMITS, T0 + 6).touch is True
    assert evaluate(capped(10**6), FACTS, LIMITS, T0 + 6).touch is False  # RESOLUTION: 15


def test_the_hash_copy_of_the_cap_is_read():
    m = SessionMeta.from_hash({b"created_at": b"5", b"app_idle": b"60.0", b"app_until": b""})
    assert m.app_idle == 60 and m.app_until is None
