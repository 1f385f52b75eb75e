"""Sudo mode for staff and 'confirm your password' for members: /accounts/elevate/ and drop.

ELEVATION_TIMEOUT is 60 seconds here; the console (/console/sessions/) is the gated page.
"""

import pytest
from django.conf import settings
from django.test import Client

from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
DESK = {"REMOTE_ADDR": "203.0.113.20", "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)"}
PHONE = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)"}
GATED = "/console/sessions/?q=al"


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[settings.SESSION_COOKIE_NAME].value)


@pytest.fixture
def people(make_user, session_settings, frozen_clock):
    session_settings(ELEVATION_TIMEOUT=60, MAX_PER_USER=10)
    return {"alice": make_user("alice"), "carol": make_user("carol", staff=True)}


@pytest.fixture
def device(sign_in):
    def make(username, profile=DESK):
        client = Client(**profile)
        assert sign_in(client, username).status_code == 302
        return client

    return make


def elevate(client, password=PASSWORD, next_url=GATED):
    return client.post("/accounts/elevate/", {"password": password, "next": next_url})


def test_gated_request_resumes_after_elevation(people, device):
    carol = device("carol")
    asked = carol.get(GATED)
    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/elevate/?next=%2Fconsole%2Fsessions%2F%3Fq%3Dal"

    form = carol.get(asked["Location"])
    assert form.status_code == 200
    assert 'name="password"' in form.content.decode()
    assert 'value="/console/sessions/?q=al"' in form.content.decode()
    before = digest_of(carol)

    done = carol.post("/accounts/elevate/", {"password": PASSWORD, "next": GATED})
    assert done.status_code == 302 and done["Location"] == GATED
    assert digest_of(carol) != before, "elevation must rotate the session key"
    assert carol.get(GATED).status_code == 200
    assert SecurityEvent.objects.filter(name="elevated", user=people["carol"]).count() == 1


def test_elevation_ignores_an_offsite_next(people, device):
    carol = device("carol")
    response = elevate(carol, next_url="https://evil.example/")
    assert response["Location"] == settings.LOGIN_REDIRECT_URL


@pytest.mark.parametrize(("after", "allowed"), [(59, True), (60, True), (61, False)])
def test_elevation_ends_after_its_timeout(people, device, frozen_clock, after, allowed):
    carol = device("carol")
    elevate(carol)
    frozen_clock.advance(after)
    response = carol.get(GATED)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/elevate/")


def test_header_shows_time_left_and_drop_then_elevate_link(people, device, frozen_clock):
    carol = device("carol")
    page = carol.get("/dashboard/").content.decode()
    assert ">Elevate</a>" in page and "Elevated ·" not in page
    elevate(carol)
    frozen_clock.advance(19)
    page = carol.get("/dashboard/").content.decode()
    assert 'role="status" data-elevation-status' in page
    assert "Elevated · 0:41 left" in page
    assert 'action="/accounts/elevate/drop/"' in page
    frozen_clock.advance(42)
    page = carol.get("/dashboard/").content.decode()
    assert "Elevated ·" not in page and ">Elevate</a>" in page


def test_members_see_no_elevation_controls(people, device):
    page = device("alice").get("/dashboard/").content.decode()
    assert "Elevated ·" not in page and ">Elevate</a>" not in page


def test_drop_ends_sudo_mode_and_rotates(people, device):
    carol = device("carol")
    elevate(carol)
    before = digest_of(carol)
    response = carol.post("/accounts/elevate/drop/", {"next": "/dashboard/"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert digest_of(carol) != before
    assert registry.meta_of(digest_of(carol)).elevated_until is None
    assert carol.get(GATED).status_code == 302
    assert SecurityEvent.objects.filter(name="elevation_dropped").count() == 1


def test_drop_is_post_only(people, device):
    carol = device("carol")
    elevate(carol)
    assert carol.get("/accounts/elevate/drop/").status_code == 405
    assert carol.get(GATED).status_code == 200


def test_wrong_password_is_refused_logged_and_counted(people, device):
    carol = device("carol")
    response = elevate(carol, password="not it")
    assert response.status_code == 200
    assert "That password is not correct." in response.content.decode()
    assert carol.get(GATED).status_code == 302
    failed = SecurityEvent.objects.get(name="login_failed")
    assert failed.user == people["carol"] and failed.detail["purpose"] == "elevation"

    for _ in range(4):
        elevate(carol, password="not it")
    refused = elevate(carol)  # the right password, but this session's budget is spent
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.content.decode()
    assert carol.get(GATED).status_code == 302
    # Re-authentication failures spend the session's own budget, never the account's: a
    # thief guessing in a stolen session cannot lock the real carol out of signing in.
    elsewhere = Client(**PHONE).post(
        "/accounts/login/", {"username": "carol", "password": PASSWORD}
    )
    assert elsewhere.status_code == 302


def test_member_confirms_password_to_end_a_session_after_the_window(people, device, frozen_clock):
    laptop, phone = device("alice"), device("alice", PHONE)
    frozen_clock.advance(61)  # the sign-in no longer counts as recent
    laptop.get("/sessions/")  # activity, so the session is not idle
    handle = crypto.handle_for(digest_of(phone))
    end_url = f"/sessions/{handle}/end/"

    asked = laptop.post(end_url, {"next": "/sessions/"})
    assert asked["Location"] == "/accounts/elevate/?next=%2Fsessions%2F"
    assert phone.get("/dashboard/").status_code == 200
    page = laptop.get(asked["Location"]).content.decode()
    assert "Confirm your password" in page

    back = elevate(laptop, next_url="/sessions/")
    assert back["Location"] == "/sessions/"
    meta = registry.meta_of(digest_of(laptop))
    assert meta.auth_at == frozen_clock.now() and meta.elevated_until is None
    assert laptop.post(end_url, {"next": "/sessions/"})["Location"] == "/sessions/"
    assert phone.get("/dashboard/").status_code == 302
    assert not SecurityEvent.objects.filter(name="elevated").exists()


def test_elevate_needs_a_signed_in_user():
    response = Client().get("/accounts/elevate/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
