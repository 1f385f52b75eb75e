"""Management commands: list_sessions, end_sessions, end_all_sessions, prune_sessions."""

import io
import os
import pty

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client

from sessions_admin import crypto
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection, user_index_key
from tests.devices import PHONE

pytestmark = pytest.mark.django_db

LAPTOP = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    ),
    "REMOTE_ADDR": "192.0.2.44",
}


@pytest.fixture(autouse=True)
def roomy_limits(session_settings):
    session_settings(MAX_PER_USER=10, CONCURRENCY_POLICY="evict_oldest")


@pytest.fixture
def device(sign_in):
    def make(profile, username="alice"):
        client = Client(**profile)
        assert sign_in(client, username).status_code == 302
        return client

    return make


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def terminal():
    """A real pseudo-terminal: what is written to it can be read by the command as a TTY."""
    leader, follower = pty.openpty()
    reader = os.fdopen(follower, "r")
    writer = os.fdopen(leader, "w")

    def type_(text):
        writer.write(text)
        writer.flush()
        return reader

    yield type_
    reader.close()
    writer.close()


def test_list_sessions_shows_device_ip_and_handle(make_user, device):
    make_user("alice")
    phone = device(PHONE)
    device(LAPTOP)
    out = run("list_sessions", "alice")
    assert out.startswith("2 live sessions of alice:")
    assert "Safari 17 on iPhone" in out and "198.51.100.7" in out
    assert "Firefox 128 on Windows" in out and "192.0.2.44" in out
    handle = crypto.handle_for(crypto.key_digest(phone.cookies[settings.SESSION_COOKIE_NAME].value))
    assert handle in out


def test_list_sessions_of_unknown_user_fails(db):
    with pytest.raises(CommandError, match="No user named"):
        run("list_sessions", "nobody")


def test_end_sessions_ends_one_users_sessions_as_a_command(make_user, device):
    make_user("alice")
    make_user("bob")
    phone, laptop = device(PHONE), device(LAPTOP)
    bobs = device(PHONE, "bob")
    assert run("end_sessions", "alice").strip() == "Ended 2 sessions of alice."
    assert not signed_in(phone) and not signed_in(laptop)
    assert signed_in(bobs)
    events = SecurityEvent.objects.filter(name="session_ended_by_staff")
    assert events.count() == 2
    assert all(e.actor is None and e.detail == {"via": "command"} for e in events)


def test_end_all_sessions_refuses_without_a_terminal_or_yes(make_user, device):
    make_user("alice")
    phone = device(PHONE)
    with pytest.raises(CommandError, match="--yes"):
        run("end_all_sessions", stdin=io.StringIO("yes\n"))
    assert signed_in(phone)


def test_end_all_sessions_with_yes_signs_everyone_out(make_user, device):
    make_user("alice")
    make_user("bob")
    clients = [device(PHONE), device(LAPTOP), device(PHONE, "bob")]
    assert run("end_all_sessions", "--yes").strip() == "Ended 3 sessions."
    assert not any(signed_in(c) for c in clients)
    assert SecurityEvent.objects.filter(name="session_ended_by_staff").count() == 3


def test_end_all_sessions_asks_on_a_terminal(make_user, device, terminal):
    make_user("alice")
    phone = device(PHONE)
    with pytest.raises(CommandError, match="Nothing was ended"):
        run("end_all_sessions", stdin=terminal("no\n"))
    assert signed_in(phone)
    out = run("end_all_sessions", stdin=terminal("yes\n"))
    assert "Type 'yes'" in out and "Ended 1 session." in out
    assert not signed_in(phone)


def test_prune_sessions_drops_dead_index_entries(make_user, device, frozen_clock):
    alice = make_user("alice")
    make_user("bob")
    device(PHONE)
    frozen_clock.advance(600)
    device(LAPTOP)
    device(LAPTOP, "bob")
    frozen_clock.advance(301)  # the phone is now idle for 901 s: past the 900 s timeout
    assert connection().zcard(user_index_key(alice.pk)) == 2
    out = run("prune_sessions")
    assert out.strip() == "Pruned 1 dead entry; 2 live sessions remain."
    assert connection().zcard(user_index_key(alice.pk)) == 1
