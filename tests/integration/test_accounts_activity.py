"""/accounts/activity/: your own security events, newest first, in plain words, 25 a page."""

import re

import pytest
from django.test import Client

from sessions_admin import events

pytestmark = pytest.mark.django_db

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
LAPTOP = {"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": CHROME_LINUX}


@pytest.fixture
def people(make_user, session_settings):
    session_settings(MAX_PER_USER=10)
    return {
        "alice": make_user("alice"),
        "bob": make_user("bob"),
        "carol": make_user("carol", staff=True),
    }


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-event="([a-z_]+)"', html)


def test_activity_lists_own_events_in_plain_words(people, sign_in, frozen_clock):
    alice = Client(**LAPTOP)
    alice.post("/accounts/login/", {"username": "alice", "password": "nope"})
    frozen_clock.advance(1)
    sign_in(alice, "alice")
    frozen_clock.advance(1)
    sign_in(Client(REMOTE_ADDR="198.51.100.99"), "bob")

    page = alice.get("/accounts/activity/").content.decode()
    assert "<caption" in page and '<th scope="col">Event</th>' in page
    assert rows(page) == ["login", "login_failed"], "newest first, and only alice's"
    assert "Signed in" in page and "Failed sign-in" in page
    assert "Chrome 156 on Linux" in page and "203.0.113.5" in page
    assert "198.51.100.99" not in page


def test_activity_names_another_actor(people, sign_in):
    alice = Client(**LAPTOP)
    sign_in(alice, "alice")
    events.record("session_ended_by_staff", user=people["alice"], actor=people["carol"])
    page = alice.get("/accounts/activity/").content.decode()
    assert "Session ended by an administrator" in page
    assert "ended by carol (staff)" in page
    assert page.count("ended by alice") == 0


def test_own_actions_name_no_actor(people, sign_in):
    alice = Client(**LAPTOP)
    sign_in(alice, "alice")
    events.record("session_ended_by_user", user=people["alice"], actor=people["alice"])
    page = alice.get("/accounts/activity/").content.decode()
    assert "Session ended" in page and "by alice" not in page


def test_activity_is_paginated_25_a_page(people, sign_in, frozen_clock):
    alice = Client(**LAPTOP)
    sign_in(alice, "alice")  # one login event
    for _ in range(29):
        frozen_clock.advance(1)
        events.record("elevation_dropped", user=people["alice"])
    first = alice.get("/accounts/activity/").content.decode()
    assert rows(first) == ["elevation_dropped"] * 25
    assert "page 1 of 2" in first and 'href="?page=2"' in first
    second = alice.get("/accounts/activity/?page=2").content.decode()
    assert rows(second) == ["elevation_dropped"] * 4 + ["login"]


def test_activity_needs_sign_in(people):
    response = Client().get("/accounts/activity/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
