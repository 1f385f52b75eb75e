"""Idle and absolute timeouts, and the activity write, on the frozen clock (no sleeping)."""

import pytest
from django.conf import settings
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import MessageEncoder

from sessions_admin import crypto
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection, data_key, meta_key
from sessions_admin.store import SessionStore

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME


@pytest.fixture
def short(session_settings, frozen_clock):
    session_settings(IDLE_TIMEOUT=60, ABSOLUTE_TIMEOUT=300, IDLE_WARNING=10, ACTIVITY_RESOLUTION=6)
    return frozen_clock


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[COOKIE].value)


def last_seen(client) -> float:
    return float(connection().hget(meta_key(digest_of(client)), "last_seen"))


@pytest.mark.parametrize(("idle_for", "signed_in"), [(59, True), (60, True), (61, False)])
def test_idle_timeout_boundary_over_http(client, make_user, sign_in, short, idle_for, signed_in):
    make_user("alice")
    sign_in(client)
    short.advance(idle_for)
    assert (client.get("/dashboard/").status_code == 200) is signed_in


def test_idle_expiry_signs_out_and_the_login_page_says_inactivity(
    client, make_user, sign_in, short
):
    make_user("alice")
    sign_in(client)
    h = digest_of(client)
    short.advance(61)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)
    page = client.get(response["Location"])
    assert b"inactivity" in page.content and b"1 minute" in page.content
    assert not connection().exists(data_key(h))
    assert connection().hget(meta_key(h), "end_reason") == b"idle"
    assert SecurityEvent.objects.filter(name="session_expired_idle").count() == 1
    # and the reason is said once
    assert b"inactivity" not in client.get(settings.LOGIN_URL).content


def test_activity_keeps_a_session_alive_past_the_idle_timeout(client, make_user, sign_in, short):
    make_user("alice")
    sign_in(client)
    for _ in range(5):  # 5 x 50 s = 250 s > 60 s idle, < 300 s absolute
        short.advance(50)
        assert client.get("/dashboard/").status_code == 200


def test_absolute_timeout_ends_an_active_session(client, make_user, sign_in, short):
    make_user("alice")
    sign_in(client)
    for _ in range(6):  # active every 50 s: 300 s is still inside, 301 is not
        short.advance(50)
        assert client.get("/dashboard/").status_code == 200
    short.advance(1)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert b"maximum length" in client.get(response["Location"]).content
    assert SecurityEvent.objects.filter(name="session_expired_absolute").count() == 1


def test_activity_is_written_at_most_once_per_resolution(client, make_user, sign_in, short):
    make_user("alice")
    sign_in(client)
    start = last_seen(client)
    for _ in range(5):  # 5 s: under the 6 s resolution
        short.advance(1)
        assert client.get("/dashboard/").status_code == 200
        assert last_seen(client) == start
    short.advance(1)  # 6 s: one write
    client.get("/dashboard/")
    assert last_seen(client) == start + 6
    client.get("/dashboard/")
    assert last_seen(client) == start + 6


def test_activity_write_moves_the_payload_ttl_even_when_the_view_saves(
    client, make_user, sign_in, short
):
    """A touch and a payload save in one request: the save must not undo the touch's TTL."""
    make_user("alice")
    sign_in(client)
    store = SessionStore(client.cookies[COOKIE].value)
    store.load()
    store["_messages"] = MessageEncoder().encode([Message(constants.INFO, "hello")])
    store.save()  # the next page shows (and so removes) the message: a save
    short.advance(30)
    page = client.get("/dashboard/")
    assert b"hello" in page.content
    assert SessionStore(client.cookies[COOKIE].value).get("_messages") is None
    pttl = connection().pttl(data_key(digest_of(client)))
    assert pttl > 55_000  # 60 s from this request, not the 30 s left since the sign-in
    short.advance(45)
    assert client.get("/dashboard/").status_code == 200


def test_status_endpoint_never_extends_the_session(
    client, make_user, sign_in, frozen_clock, session_settings
):
    """Polling /sessions/status/ must not keep an idle session alive; a page request does."""
    session_settings(IDLE_TIMEOUT=300, ACTIVITY_RESOLUTION=15)
    make_user("alice")
    sign_in(client)
    before = client.get("/sessions/status/", HTTP_ACCEPT="application/json").json()
    frozen_clock.advance(200)
    after = client.get("/sessions/status/", HTTP_ACCEPT="application/json").json()
    assert after["idle_deadline"] == before["idle_deadline"]
    frozen_clock.advance(101)  # 301 s after the last real activity
    response = client.get("/sessions/status/", HTTP_ACCEPT="application/json")
    assert response.status_code == 401 and response.json()["reason"] == "idle"
