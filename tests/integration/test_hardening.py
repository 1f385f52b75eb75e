"""The outside review's attacks on the session engine, one test per numbered item of the issue.

Each test plays the attacker against the real Redis through Django's test client; the parallel
attacks (items 3 and 5) are in tests/resilience/ against real gunicorn.
"""

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from sessions_admin import crypto, registry, services
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection, data_key, meta_key
from tests.devices import PHONE, WINDOWS

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME
PASSWORD = "correct horse battery staple"
LAPTOP = {
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36",
    "REMOTE_ADDR": "203.0.113.5",
}


def key_of(client) -> str:
    return client.cookies[COOKIE].value


def digest_of(client) -> str:
    return crypto.key_digest(key_of(client))


def with_key(key: str, **profile) -> Client:
    c = Client(**profile)
    c.cookies[COOKIE] = key
    return c


def post_login(client, username="alice", password=PASSWORD):
    client.get("/accounts/login/")
    return client.post("/accounts/login/", {"username": username, "password": password})


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def live(user) -> set[str]:
    return {i.digest for i in registry.list_sessions(user.pk)}


@pytest.fixture
def alice(make_user, frozen_clock, session_settings):
    session_settings(MAX_PER_USER=2, CONCURRENCY_POLICY="prompt", ROTATION_GRACE=30)
    return make_user("alice")


@pytest.fixture
def carol(make_user, frozen_clock, session_settings):
    session_settings(MAX_PER_USER=5, MAX_PER_STAFF=5, ROTATION_GRACE=30)
    return make_user("carol", staff=True)


def device(profile, username="alice") -> Client:
    client = Client(**profile)
    assert post_login(client, username).status_code == 302
    return client


# --- 1. Fixation through the prompt policy ------------------------------------------------------
def test_item1_prompt_rotates_the_key_and_a_planted_key_sees_nothing(alice, frozen_clock):
    laptop, phone = device(LAPTOP), device(PHONE)
    victim = Client(**WINDOWS)
    victim.get("/accounts/login/")
    planted = key_of(victim)  # the attacker planted (or noted) this pre-login key

    response = victim.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response["Location"] == "/accounts/login/choose/"
    assert key_of(victim) != planted, "the key must rotate at the prompt step too"

    attacker = with_key(planted, **WINDOWS)
    page = attacker.get("/accounts/login/choose/")
    assert page.status_code == 302 and page["Location"] == "/accounts/login/"
    handle = crypto.handle_for(digest_of(laptop))
    done = attacker.post("/accounts/login/choose/", {"handle": handle})
    assert done.status_code == 409  # an obsolete key is read-only
    assert not signed_in(attacker)
    assert live(alice) == {digest_of(laptop), digest_of(phone)}

    # The browser that entered the password still completes its sign-in.
    finished = victim.post("/accounts/login/choose/", {"handle": handle})
    assert finished["Location"] == "/dashboard/" and signed_in(victim)


def test_item1_pending_choice_is_bound_to_the_browser_that_entered_the_password(alice):
    laptop, _phone = device(LAPTOP), device(PHONE)
    victim = Client(**WINDOWS)
    post_login(victim)
    thief = with_key(key_of(victim), **PHONE)  # even the rotated key, from another browser
    page = thief.get("/accounts/login/choose/")
    assert page.status_code in (302, 401)
    assert b"Chrome" not in page.content and b"203.0.113.5" not in page.content
    thief.post("/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(laptop))})
    assert digest_of(laptop) in live(alice)
    assert not signed_in(with_key(key_of(victim), **PHONE))


def test_item1_pending_choice_is_consumed_once(alice):
    laptop, phone = device(LAPTOP), device(PHONE)
    victim = Client(**WINDOWS)
    post_login(victim)
    pending_key = key_of(victim)
    victim.post("/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(laptop))})
    replay = with_key(pending_key, **WINDOWS)
    replay.post("/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(phone))})
    assert digest_of(phone) in live(alice)


def test_item1_abandoned_prompt_is_a_security_event(alice):
    device(LAPTOP), device(PHONE)
    victim = Client(**WINDOWS)
    post_login(victim)
    victim.post("/accounts/login/choose/", {"cancel": "1"})
    assert SecurityEvent.objects.filter(name="login_prompt_abandoned", user=alice).count() == 1


# --- 2. The tripwire is not a permanent kill switch -------------------------------------------
def elevate(client):
    response = client.post("/accounts/elevate/", {"password": PASSWORD})
    assert response.status_code == 302, response.status_code


def test_item2_tripwire_fires_once_then_the_old_key_is_just_unknown(carol, frozen_clock):
    client = device(LAPTOP, "carol")
    old = key_of(client)
    elevate(client)
    frozen_clock.advance(31)
    with_key(old, **LAPTOP).get("/dashboard/")
    assert SecurityEvent.objects.filter(name="obsolete_session_reuse").count() == 1
    assert not connection().exists(meta_key(crypto.key_digest(old))), "tombstone must be gone"

    again = device(LAPTOP, "carol")
    replay = with_key(old, **LAPTOP).get("/dashboard/")
    assert replay.status_code == 302
    assert signed_in(again), "a second replay must not end the new sign-in"
    assert SecurityEvent.objects.filter(name="obsolete_session_reuse").count() == 1


@pytest.mark.parametrize("how", ["password_change", "end_sessions", "disable_and_enable"])
def test_item2_ending_everything_deletes_the_users_tombstones(carol, frozen_clock, how, make_user):
    client = device(LAPTOP, "carol")
    old = key_of(client)
    elevate(client)
    tomb = crypto.key_digest(old)
    assert connection().exists(meta_key(tomb))
    if how == "password_change":
        new_password = "a brand new passphrase 42"
        r = client.post(
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": new_password,
                "new_password2": new_password,
            },
        )
        assert r.status_code == 302
    elif how == "end_sessions":
        services.end_user_sessions(request=None, actor=None, user=carol)
    else:
        services.disable_account(request=None, actor=None, user=carol)
        carol.is_active = True
        carol.save()
    assert not connection().exists(meta_key(tomb))
    assert not connection().exists(data_key(tomb))


# --- 7. Signing in again over a live session ----------------------------------------------------
def test_item7_signing_in_again_over_a_live_session_rotates_the_key(alice, frozen_clock):
    client = device(LAPTOP)
    first = key_of(client)
    created = registry.meta_of(digest_of(client)).created_at
    frozen_clock.advance(120)
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert key_of(client) != first
    meta = registry.meta_of(digest_of(client))
    # policy.absolute_start: a password entered at the sign-in form starts a new session.
    assert meta.created_at == created + 120
    assert meta.auth_at == created + 120
    assert len(live(alice)) == 1


# --- 8. A request racing a password change keeps the new cookie --------------------------------
def test_item8_a_response_to_an_obsolete_key_never_sets_a_cookie(alice, frozen_clock):
    client = device(LAPTOP)
    old = key_of(client)
    new_password = "a brand new passphrase 42"
    r = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert r.status_code == 302 and key_of(client) != old
    for path in ("/dashboard/", "/accounts/password/", "/sessions/", "/accounts/login/"):
        racing = with_key(old, **LAPTOP).get(path)
        assert COOKIE not in racing.cookies, (path, racing.cookies)
    assert signed_in(client)


# --- 10. Pre-login state is bounded -------------------------------------------------------------
def test_item10_anonymous_sessions_live_at_most_the_login_timeout(db, session_settings):
    session_settings(ANONYMOUS_TIMEOUT=600)
    client = Client()
    client.get("/accounts/login/")
    h = digest_of(client)
    for key in (data_key(h), meta_key(h)):
        assert 0 < connection().pttl(key) <= 601_000, key


# --- 14. A typo in a policy setting fails closed, at start-up -----------------------------------
@pytest.mark.parametrize(
    "name,value",
    [("BIND_UA", "terminat"), ("BIND_IP", "Terminate"), ("CONCURRENCY_POLICY", "evict-oldest")],
)
def test_item14_unknown_policy_values_are_errors(session_settings, name, value):
    from sessions_admin.conf import validate

    session_settings(**{name: value})
    with pytest.raises(ImproperlyConfigured, match=name):
        validate()


# --- 17. An obsolete key has no more privilege than its successor -------------------------------
def test_item17_the_pre_drop_key_loses_sudo_mode_with_its_successor(carol, frozen_clock):
    client = device(LAPTOP, "carol")
    elevate(client)
    elevated_key = key_of(client)
    assert client.get("/console/sessions/").status_code == 200
    dropped = client.post("/accounts/elevate/drop/")
    assert dropped.status_code == 302 and key_of(client) != elevated_key
    stale = with_key(elevated_key, **LAPTOP).get("/console/sessions/")
    assert stale.status_code == 302 and stale["Location"].startswith("/accounts/elevate/")


# --- 11. Stored state is bound to its key -------------------------------------------------------
def test_item11_a_payload_copied_onto_another_key_does_not_sign_it_in(make_user, frozen_clock):
    make_user("alice")
    victim = device(LAPTOP)
    attacker = Client(**LAPTOP)
    attacker.get("/accounts/login/")  # a key of the attacker's own
    theirs, mine = digest_of(victim), digest_of(attacker)
    # Opened once where it belongs, in this process (crypto.open_sealed remembers it there).
    assert signed_in(victim)
    conn = connection()
    conn.set(data_key(mine), conn.get(data_key(theirs)), keepttl=True)
    conn.hset(meta_key(mine), mapping=conn.hgetall(meta_key(theirs)))
    response = attacker.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert SecurityEvent.objects.filter(name="session_payload_rejected").count() == 1
    assert signed_in(victim)


def test_item11_writing_elevated_until_by_hand_grants_nothing(carol, frozen_clock):
    client = device(LAPTOP, "carol")
    now = frozen_clock.now()
    connection().hset(
        meta_key(digest_of(client)), mapping={"elevated_until": now + 600, "auth_at": now}
    )
    response = client.get("/console/sessions/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/elevate/")
    frozen_clock.advance(700)  # sign-in no longer recent; a hand-written auth_at is not believed
    connection().hset(meta_key(digest_of(client)), mapping={"auth_at": frozen_clock.now()})
    other = device(PHONE, "carol")
    handle = crypto.handle_for(digest_of(other))
    ended = client.post(f"/sessions/{handle}/end/")
    assert ended.status_code == 302 and ended["Location"].startswith("/accounts/elevate/")
    assert signed_in(other)


def test_writing_a_second_factor_into_the_hash_by_hand_proves_nothing(carol, frozen_clock):
    """The hash's copies of the factors are read (for listing), never believed: a load takes
    the sealed payload's, so the session stays password-only."""
    from sessions_admin.store import SessionStore

    client = device(LAPTOP, "carol")
    connection().hset(
        meta_key(digest_of(client)),
        mapping={"factors": "password,totp", "factor_at": frozen_clock.now()},
    )
    assert signed_in(client)
    store = SessionStore(key_of(client))
    store.load()
    assert store.meta.factors == "password"
    assert store.meta.factor_at is None


# --- Controls the review could delete with every test still green ------------------------------
def test_staff_cannot_end_one_session_of_a_superuser(make_user, frozen_clock, session_settings):
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory

    session_settings(MAX_PER_USER=5)
    staff = make_user("carol", staff=True)
    boss = make_user("root", staff=True, is_superuser=True)
    boss_laptop = device(LAPTOP, "root")
    handle = crypto.handle_for(digest_of(boss_laptop))
    request = RequestFactory().post("/")
    request.session = with_key(key_of(device(PHONE, "carol"))).session
    with pytest.raises(PermissionDenied):
        services.end_session(request=request, actor=staff, user=boss, handle=handle, by_staff=True)
    assert signed_in(boss_laptop)


def test_keepalive_extends_the_session_even_inside_the_activity_window(
    make_user, frozen_clock, session_settings
):
    session_settings(IDLE_TIMEOUT=300, ACTIVITY_RESOLUTION=15)
    make_user("alice")
    client = device(LAPTOP)
    frozen_clock.advance(10)  # inside the activity window: a page view would not write
    kept = client.post("/sessions/keepalive/", HTTP_ACCEPT="application/json")
    assert kept.status_code == 200
    assert kept.json()["idle_deadline"] == frozen_clock.now() + 300
    frozen_clock.advance(295)  # 305 s after sign-in, 295 s after the keepalive
    assert client.get("/sessions/status/", HTTP_ACCEPT="application/json").status_code == 200


def test_listing_shows_only_the_users_own_sessions_whatever_the_index_holds(
    make_user, frozen_clock
):
    from sessions_admin.redis_keys import user_index_key

    alice, _bob = make_user("alice"), make_user("bob")
    mine, theirs = device(LAPTOP, "alice"), device(PHONE, "bob")
    connection().zadd(user_index_key(alice.pk), {digest_of(theirs): frozen_clock.now()})
    assert live(alice) == {digest_of(mine)}
    handle = crypto.handle_for(digest_of(theirs))
    assert handle not in mine.get("/sessions/").content.decode()
    assert signed_in(theirs)


# --- Forwarded headers: believed only from a declared proxy's address ------------------------
@pytest.mark.parametrize("peer,seen", [("127.0.0.2", "203.0.113.9"), ("127.0.0.1", "127.0.0.1")])
def test_forwarded_for_is_believed_only_from_a_declared_proxy(
    make_user, frozen_clock, session_settings, settings, peer, seen
):
    session_settings(TRUSTED_PROXY_COUNT=1)
    settings.TRUSTED_PROXY_IPS = ["127.0.0.2"]
    make_user("alice")
    client = Client(REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert post_login(client).status_code == 302
    assert registry.meta_of(digest_of(client)).ip == seen
