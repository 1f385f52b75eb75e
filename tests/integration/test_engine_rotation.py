"""Rotation with tombstones and the tripwire, binding, and the guessing throttle."""

import secrets

import pytest
from django.conf import settings
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import MessageEncoder
from django.test import Client

from accounts.models import User
from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection, data_key
from sessions_admin.store import SessionStore

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME
PASSWORD = "correct horse battery staple"


def key_of(client) -> str:
    return client.cookies[COOKIE].value


def client_with(key: str, **defaults) -> Client:
    c = Client(**defaults)
    c.cookies[COOKIE] = key
    return c


@pytest.fixture
def elevated(client, make_user, sign_in, frozen_clock, session_settings):
    """carol signs in, then elevates (a rotation); returns (old key, new key)."""
    session_settings(MAX_PER_USER=5, MAX_PER_STAFF=5, ROTATION_GRACE=30)
    make_user("carol", staff=True)
    sign_in(client, "carol")
    old = key_of(client)
    response = client.post("/accounts/elevate/", {"password": PASSWORD})
    assert response.status_code == 302
    new = key_of(client)
    assert new != old
    return old, new


def test_obsolete_key_within_grace_is_read_only(elevated, frozen_clock):
    old, new = elevated
    # A message waiting in the old session: showing it would modify (and so save) the session.
    h = crypto.key_digest(old)
    store = SessionStore()
    data = store.decode(crypto.decrypt(connection().get(data_key(h)), digest=h).decode())
    data["_messages"] = MessageEncoder().encode([Message(constants.INFO, "waiting")])
    token = crypto.encrypt(store.encode(data).encode(), digest=h)
    connection().set(data_key(h), token, keepttl=True)
    frozen_clock.advance(30)  # T: the last second of grace
    stale = client_with(old)
    page = stale.get("/dashboard/")
    assert page.status_code == 200 and b"waiting" in page.content
    assert COOKIE not in page.cookies  # no new cookie handed to an obsolete key
    assert stale.post("/accounts/logout/").status_code == 409
    assert stale.post("/sessions/end-others/").status_code == 409
    assert key_of(stale) == old
    assert client_with(new).get("/dashboard/").status_code == 200  # nothing was ended
    assert not SecurityEvent.objects.filter(name="obsolete_session_reuse").exists()


def test_obsolete_key_reused_after_grace_ends_every_session(
    elevated, frozen_clock, sign_in, client
):
    old, new = elevated
    other_device = Client()
    sign_in(other_device, "carol")
    carol = User.objects.get(username="carol")
    assert len(registry.list_sessions(carol.pk)) == 2
    frozen_clock.advance(31)  # T+1
    response = client_with(old).get("/dashboard/")
    assert response.status_code == 302
    assert registry.list_sessions(carol.pk) == []
    assert client_with(new).get("/dashboard/").status_code == 302
    assert other_device.get("/dashboard/").status_code == 302
    events = SecurityEvent.objects.filter(name="obsolete_session_reuse")
    assert events.count() == 1 and events[0].user == carol
    assert events[0].detail["sessions_ended"] == 2


def test_concurrent_rotation_of_one_key_is_refused_once(client, make_user, sign_in):
    """Two requests rotating the same loaded session: the second gets no second successor."""
    from django.contrib.sessions.exceptions import SessionInterrupted

    from sessions_admin.store import SessionStore

    make_user("alice")
    sign_in(client)
    a, b = SessionStore(key_of(client)), SessionStore(key_of(client))
    a._get_session(), b._get_session()  # as the middleware loads them
    a.cycle_key()
    with pytest.raises(SessionInterrupted):
        b.cycle_key()


def test_rotation_of_a_session_ended_meanwhile_does_not_resurrect_it(client, make_user, sign_in):
    from django.contrib.sessions.exceptions import SessionInterrupted

    from sessions_admin.store import SessionStore

    make_user("alice")
    sign_in(client)
    loaded = SessionStore(key_of(client))
    loaded._get_session()
    client.post("/accounts/logout/")  # another tab
    with pytest.raises(SessionInterrupted):
        loaded.cycle_key()
    assert not connection().exists(data_key(crypto.key_digest(loaded.session_key)))


# --- binding ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("setting", "change", "signed_in"),
    [
        ({"BIND_UA": "terminate"}, {"HTTP_USER_AGENT": "curl/8"}, False),
        ({"BIND_UA": "log"}, {"HTTP_USER_AGENT": "curl/8"}, True),
        ({"BIND_UA": "off", "BIND_IP": "log"}, {"HTTP_USER_AGENT": "curl/8"}, True),
        ({"BIND_IP": "terminate"}, {"REMOTE_ADDR": "198.51.100.9"}, False),
        ({"BIND_IP": "log"}, {"REMOTE_ADDR": "198.51.100.9"}, True),
    ],
)
def test_binding(make_user, sign_in, session_settings, setting, change, signed_in):
    session_settings(**setting)
    make_user("alice")
    c = Client(HTTP_USER_AGENT="Browser/1", REMOTE_ADDR="203.0.113.5")
    sign_in(c)
    response = c.get("/dashboard/", **change)
    assert (response.status_code == 200) is signed_in
    logged = SecurityEvent.objects.filter(name="binding_mismatch")
    mode = next(iter(setting.values())) if len(setting) == 1 else "off"
    if mode == "off":
        assert not logged.exists()
    else:
        assert logged.count() == 1
        assert logged[0].detail.get("action", "terminated") == (
            "logged" if signed_in else "terminated"
        )
    if not signed_in:
        page = c.get(response["Location"], **change)
        assert b"browser or network changed" in page.content


def test_ipv6_move_inside_the_64_is_not_a_binding_change(make_user, sign_in, session_settings):
    session_settings(BIND_IP="terminate")
    make_user("alice")
    c = Client(REMOTE_ADDR="2001:db8:1:2::10")
    sign_in(c)
    assert c.get("/dashboard/", REMOTE_ADDR="2001:db8:1:2:abcd::1").status_code == 200
    assert c.get("/dashboard/", REMOTE_ADDR="2001:db8:1:3::10").status_code == 302


# --- guessing --------------------------------------------------------------------------------
def test_guessing_throttle(client, session_settings):
    session_settings(GUESS_LIMIT=3)
    statuses = []
    for _ in range(6):
        client.cookies[COOKIE] = secrets.token_hex(16)
        statuses.append(client.get("/accounts/login/").status_code)
    assert statuses == [200, 200, 200, 429, 429, 429]
    assert SecurityEvent.objects.filter(name="session_id_guessing").count() == 1
    # another client IP is not affected
    other = Client(REMOTE_ADDR="198.51.100.77")
    other.cookies[COOKIE] = secrets.token_hex(16)
    assert other.get("/accounts/login/").status_code == 200


def test_obsolete_key_cannot_be_rotated(elevated):
    from django.contrib.sessions.exceptions import SessionInterrupted

    from sessions_admin.store import SessionStore

    old, _ = elevated
    stale = SessionStore(old)
    assert stale.get("_auth_user_id")  # inside grace: the old privileges, read-only
    with pytest.raises(SessionInterrupted):
        stale.cycle_key()


def test_a_late_save_never_writes_into_a_rotated_away_key(
    client, make_user, sign_in, frozen_clock, session_settings
):
    """A request that loaded the session before another tab elevated must not revive the old key."""
    from django.contrib.sessions.backends.base import UpdateError

    session_settings(MAX_PER_USER=5, ROTATION_GRACE=30)
    make_user("carol", staff=True)
    sign_in(client, "carol")
    old = key_of(client)
    late = SessionStore(old)
    late._get_session()
    late["note"] = "written by a slow request"
    assert client.post("/accounts/elevate/", {"password": PASSWORD}).status_code == 302
    with pytest.raises(UpdateError):
        late.save()
    frozen_clock.advance(31)
    assert client.get("/dashboard/").status_code == 200  # the new key was not tripped


def test_obsolete_key_from_another_browser_is_refused_even_inside_grace(elevated):
    old, _new = elevated
    thief = client_with(old, HTTP_USER_AGENT="attacker-browser")
    response = thief.get("/dashboard/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert SecurityEvent.objects.filter(name="binding_mismatch").exists()


def test_ending_all_sessions_also_ends_one_that_rotated_meanwhile(
    make_user, sign_in, session_settings
):
    """List, then the other device elevates, then end: the rotated-into session ends too."""
    session_settings(MAX_PER_USER=5)
    carol = make_user("carol", staff=True)
    laptop, phone = Client(), Client()
    sign_in(laptop, "carol")
    sign_in(phone, "carol")
    listed = registry.list_sessions(carol.pk)
    assert phone.post("/accounts/elevate/", {"password": PASSWORD}).status_code == 302
    registry.end_many([i.digest for i in listed], reason="ended_by_staff", uid=str(carol.pk))
    assert phone.get("/dashboard/").status_code == 302
    assert registry.list_sessions(carol.pk) == []
