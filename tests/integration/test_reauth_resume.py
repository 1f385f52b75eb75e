"""Issue 10, item 12: a password asked for in the middle of an action finishes that action.

A POST stopped by a gate (recent authentication for "Your sessions", sudo mode for the console)
is kept in the session (path and fields, never the CSRF token or a password) for a few minutes;
the correct password then completes it and shows its result. Where it cannot be completed, the
page says plainly that it was not done. Never silently nothing.

The tests act as a browser does: they follow the gate's redirect, read the form the
re-authentication page renders, and submit it with the password.
"""

import re

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from sessions_admin import crypto
from sessions_admin.gates import PENDING_ACTION
from sessions_admin.models import SecurityEvent
from sessions_admin.store import SessionStore
from tests.conftest import PASSWORD
from tests.devices import PHONE, WINDOWS

pytestmark = pytest.mark.django_db

COOKIE = settings.SESSION_COOKIE_NAME
STAFF_DESK = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)", "REMOTE_ADDR": "203.0.113.1"}
WINDOW = 60  # ELEVATION_TIMEOUT: sudo mode, and the recent-authentication window


@pytest.fixture(autouse=True)
def short_window(session_settings, frozen_clock):
    session_settings(ELEVATION_TIMEOUT=WINDOW, MAX_PER_USER=10)


@pytest.fixture
def people(make_user):
    return {
        "alice": make_user("alice"),
        "bob": make_user("bob"),
        "carol": make_user("carol", staff=True),
    }


@pytest.fixture
def device(sign_in):
    def make(username, profile):
        client = Client(**profile)
        assert sign_in(client, username).status_code == 302
        return client

    return make


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[COOKIE].value)


def handle_of(client) -> str:
    return crypto.handle_for(digest_of(client))


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def hidden_fields(html: str) -> dict:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            value = re.search(r'value="([^"]*)"', tag)
            fields[name] = value.group(1) if value else ""
    return fields


def confirm_password(client, asked, password=PASSWORD):
    """Follow the gate to the password page and submit its form as a browser would."""
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/elevate/")
    page = client.get(asked["Location"])
    assert page.status_code == 200
    fields = hidden_fields(page.content.decode())
    fields["password"] = password
    return client.post("/accounts/elevate/", fields)


def shown(client, response) -> str:
    """The page a redirect lands on, with its messages."""
    assert response.status_code == 302, response.status_code
    return client.get(response["Location"]).content.decode()


def pending_action(client) -> dict | None:
    store = SessionStore(client.cookies[COOKIE].value)
    return store.load().get(PENDING_ACTION)


def after_the_window(frozen_clock, *clients):
    frozen_clock.advance(WINDOW + 1)
    for client in clients:  # activity, so no session is idle
        client.get("/dashboard/")


def test_item12_member_ends_a_session_after_the_window_then_it_is_ended(
    people, device, frozen_clock
):
    laptop, phone = device("alice", WINDOWS), device("alice", PHONE)
    after_the_window(frozen_clock, laptop, phone)

    asked = laptop.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    assert signed_in(phone), "nothing is done before the password"
    page = laptop.get(asked["Location"]).content.decode()
    assert "After you confirm" in page and "end one of your other sessions" in page

    done = confirm_password(laptop, asked)
    assert done["Location"] == "/sessions/"
    assert "Ended the session on Safari 17 on iPhone." in shown(laptop, done)
    assert not signed_in(phone)
    assert SecurityEvent.objects.filter(name="session_ended_by_user").count() == 1
    assert pending_action(laptop) is None, "one use"


def test_item12_member_signs_out_everywhere_else_after_the_window(people, device, frozen_clock):
    laptop, phone = device("alice", WINDOWS), device("alice", PHONE)
    after_the_window(frozen_clock, laptop, phone)
    asked = laptop.post("/sessions/end-others/", {"next": "/sessions/"})
    assert signed_in(phone)
    done = confirm_password(laptop, asked)
    assert "Signed out 1 other session." in shown(laptop, done)
    assert not signed_in(phone) and signed_in(laptop)


def test_item12_the_kept_action_holds_no_csrf_token_and_no_password(people, device, frozen_clock):
    laptop, phone = device("alice", WINDOWS), device("alice", PHONE)
    after_the_window(frozen_clock, laptop, phone)
    laptop.post(
        f"/sessions/{handle_of(phone)}/end/",
        {"next": "/sessions/", "csrfmiddlewaretoken": "x" * 64, "password": "hunter2"},
    )
    kept = pending_action(laptop)
    assert kept["path"] == f"/sessions/{handle_of(phone)}/end/"
    assert kept["fields"] == {"next": ["/sessions/"]}


def test_item12_staff_end_a_session_in_the_console_after_sudo_ran_out(people, device, frozen_clock):
    phone, laptop = device("alice", PHONE), device("alice", WINDOWS)
    carol = device("carol", STAFF_DESK)
    assert confirm_password(carol, carol.get("/console/sessions/")).status_code == 302
    after_the_window(frozen_clock, phone, laptop, carol)

    console = "/console/sessions/?user=alice&q=al"
    asked = carol.post(
        f"/console/sessions/{people['alice'].pk}/end/{handle_of(phone)}/",
        {"q": "al", "next": console},
    )
    assert signed_in(phone)
    done = confirm_password(carol, asked)
    assert done["Location"] == "/console/sessions/?user=alice&q=al"
    page = shown(carol, done)
    assert "Ended alice&#x27;s session on Safari 17 on iPhone." in page
    assert not signed_in(phone) and signed_in(laptop)
    assert SecurityEvent.objects.get(name="session_ended_by_staff").actor == people["carol"]


def test_item12_staff_disable_an_account_after_sudo_ran_out(people, device, frozen_clock):
    bobs = device("bob", PHONE)
    carol = device("carol", STAFF_DESK)
    assert confirm_password(carol, carol.get("/console/sessions/")).status_code == 302
    after_the_window(frozen_clock, bobs, carol)

    asked = carol.post(
        f"/console/sessions/{people['bob'].pk}/disable/",
        {"q": "", "next": "/console/sessions/?user=bob"},
    )
    assert User.objects.get(username="bob").is_active
    done = confirm_password(carol, asked)
    assert "Disabled bob and ended 1 session." in shown(carol, done)
    assert not User.objects.get(username="bob").is_active
    assert not signed_in(bobs)


def test_item12_an_action_that_waited_too_long_is_reported_not_done(people, device, frozen_clock):
    laptop, phone = device("alice", WINDOWS), device("alice", PHONE)
    after_the_window(frozen_clock, laptop, phone)
    asked = laptop.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    page = laptop.get(asked["Location"])
    frozen_clock.advance(301)  # longer than a kept action lives
    laptop.get("/dashboard/")
    fields = {**hidden_fields(page.content.decode()), "password": PASSWORD}
    done = laptop.post("/accounts/elevate/", fields)
    landed = shown(laptop, done)
    assert "was not done" in landed and "end one of your other sessions" in landed
    assert signed_in(phone)
    # ...and the page offers it again.
    assert f"/sessions/{handle_of(phone)}/end/" in landed


def test_item12_an_action_that_no_longer_applies_is_reported_not_done(people, device, frozen_clock):
    laptop, phone = device("alice", WINDOWS), device("alice", PHONE)
    after_the_window(frozen_clock, laptop, phone)
    asked = laptop.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    phone.post("/accounts/logout/")  # the session is gone before the password is entered
    done = confirm_password(laptop, asked)
    assert done.status_code == 302
    landed = shown(laptop, done)
    assert "was not done" in landed
    assert not SecurityEvent.objects.filter(name="session_ended_by_user").exists()


def test_item12_a_wrong_password_keeps_the_action_for_the_next_try(people, device, frozen_clock):
    laptop, phone = device("alice", WINDOWS), device("alice", PHONE)
    after_the_window(frozen_clock, laptop, phone)
    asked = laptop.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    wrong = confirm_password(laptop, asked, password="not it")
    assert wrong.status_code == 200 and "After you confirm" in wrong.content.decode()
    assert signed_in(phone)
    done = confirm_password(laptop, asked)
    assert "Ended the session on Safari 17 on iPhone." in shown(laptop, done)
    assert not signed_in(phone)


def test_item12_a_password_form_that_did_not_announce_the_action_does_not_run_it(
    people, device, frozen_clock
):
    """Only the form that said "After you confirm, ..." resumes; any other says it was not done."""
    laptop, phone = device("alice", WINDOWS), device("alice", PHONE)
    after_the_window(frozen_clock, laptop, phone)
    laptop.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    done = laptop.post("/accounts/elevate/", {"password": PASSWORD, "next": "/sessions/"})
    landed = shown(laptop, done)
    assert "was not done" in landed and "end one of your other sessions" in landed
    assert signed_in(phone)
    assert pending_action(laptop) is None
