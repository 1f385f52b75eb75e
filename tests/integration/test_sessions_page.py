"""'Your sessions': listing, marking this device, ending one or the others, ownership, recent auth.

Each device is its own Django test Client with its own user agent and address, signed in through
the real login form against the real Redis.
"""

import re
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.test import Client

from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent
from tests.devices import PHONE, WINDOWS

pytestmark = pytest.mark.django_db

LAPTOP = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    ),
    "REMOTE_ADDR": "203.0.113.10",
}
ENDED_TEXT = "This session was ended from another device."


@pytest.fixture(autouse=True)
def roomy_limits(session_settings):
    """Enough concurrent sessions that three devices never meet the concurrency policy."""
    session_settings(MAX_PER_USER=10, CONCURRENCY_POLICY="evict_oldest")


@pytest.fixture
def device(sign_in):
    """``device(PHONE, "alice")``: a new client for that device, signed in as that user."""

    def make(profile, username="alice"):
        client = Client(**profile)
        response = sign_in(client, username)
        assert response.status_code == 302, "sign-in failed"
        return client

    return make


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[settings.SESSION_COOKIE_NAME].value)


def handle_of(client) -> str:
    return crypto.handle_for(digest_of(client))


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def cards_html(response) -> list[str]:
    html = response.content.decode()
    return html.split("data-session-card")[1:]


def test_lists_every_live_session_with_its_device_newest_activity_first(make_user, device):
    make_user("alice")
    laptop = device(LAPTOP)
    device(WINDOWS)
    device(PHONE)
    response = laptop.get("/sessions/")
    assert response.status_code == 200
    cards = response.context["cards"]
    assert [c.device for c in cards] == [
        "Safari 17 on iPhone",
        "Firefox 128 on Windows",
        "Chrome 156 on Linux",
    ]
    by_device = {c.device: c for c in cards}
    assert by_device["Safari 17 on iPhone"].ip == "198.51.100.7"
    assert by_device["Safari 17 on iPhone"].kind == "phone"
    assert by_device["Firefox 128 on Windows"].ip == "192.0.2.44"
    assert by_device["Chrome 156 on Linux"].kind == "desktop"
    html = response.content.decode()
    for name in ("Chrome 156 on Linux", "Safari 17 on iPhone", "Firefox 128 on Windows"):
        assert name in html
    assert "img/device-phone" in html and "img/device-desktop" in html


def test_newest_activity_comes_first(make_user, device, frozen_clock):
    make_user("alice")
    laptop = device(LAPTOP)
    frozen_clock.advance(60)
    windows = device(WINDOWS)
    frozen_clock.advance(60)
    device(PHONE)
    frozen_clock.advance(60)
    windows.get("/dashboard/")  # activity moves Windows above the phone that signed in later
    frozen_clock.advance(1)
    # This request's own activity is recorded before the view: the laptop is the newest.
    cards = laptop.get("/sessions/").context["cards"]
    assert [c.device for c in cards] == [
        "Chrome 156 on Linux",
        "Firefox 128 on Windows",
        "Safari 17 on iPhone",
    ]


def test_this_device_is_marked_and_has_no_end_button(make_user, device):
    make_user("alice")
    laptop = device(LAPTOP)
    phone = device(PHONE)
    response = laptop.get("/sessions/")
    current = [c for c in response.context["cards"] if c.current]
    assert [c.device for c in current] == ["Chrome 156 on Linux"]
    blocks = cards_html(response)
    mine = [b for b in blocks if "Chrome 156 on Linux" in b]
    other = [b for b in blocks if "Safari 17 on iPhone" in b]
    assert "This device" in mine[0] and "This device" not in other[0]
    assert f"/sessions/{handle_of(laptop)}/end/" not in response.content.decode()
    assert f"/sessions/{handle_of(phone)}/end/" in other[0]


def test_end_buttons_are_named_by_the_session_they_end(make_user, device):
    make_user("alice")
    laptop = device(LAPTOP)
    device(PHONE)
    html = laptop.get("/sessions/").content.decode()
    assert 'aria-label="End session on Safari 17 on iPhone, 198.51.100.7"' in html
    assert ">End session</button>" in html
    assert ">Sign out all other sessions</button>" in html


def test_last_active_expiry_and_elevation_are_shown(make_user, device, frozen_clock):
    make_user("alice")
    phone = device(PHONE)
    seen = frozen_clock.now()
    frozen_clock.advance(125)
    laptop = device(LAPTOP)
    registry.set_fields(digest_of(laptop), elevated_until=frozen_clock.now() + 300)
    response = laptop.get("/sessions/")
    cards = {c.device: c for c in response.context["cards"]}
    phone_card = cards["Safari 17 on iPhone"]
    assert phone_card.last_active_ago == "2 minutes ago"
    assert phone_card.signed_in_at == datetime.fromtimestamp(seen, tz=UTC)
    assert phone_card.expires_in == "in 12 minutes"  # idle 900 s - 125 s = 775 s
    assert not phone_card.elevated and cards["Chrome 156 on Linux"].elevated
    iso = datetime.fromtimestamp(seen, tz=UTC).isoformat()
    html = response.content.decode()
    assert re.search(rf'<time datetime="{re.escape(iso)}" title="[^"]+UTC"', html)
    assert ">2 minutes ago</time>" in html
    blocks = {
        ("phone" if "Safari 17 on iPhone" in b else "laptop"): b for b in cards_html(response)
    }
    assert "Not elevated" in blocks["phone"] and "Not elevated" not in blocks["laptop"]
    assert phone.get("/dashboard/").status_code == 200


@pytest.mark.parametrize(("idle_for", "listed"), [(900, True), (901, False)])
def test_expired_sessions_are_not_listed(make_user, device, frozen_clock, idle_for, listed):
    make_user("alice")
    device(PHONE)
    frozen_clock.advance(idle_for - 10)
    laptop = device(LAPTOP)
    frozen_clock.advance(10)
    devices = [c.device for c in laptop.get("/sessions/").context["cards"]]
    assert ("Safari 17 on iPhone" in devices) is listed
    assert "Chrome 156 on Linux" in devices


def test_ending_a_session_signs_that_device_out_at_once(make_user, device, client):
    alice = make_user("alice")
    laptop = device(LAPTOP)
    phone = device(PHONE)
    phone_digest = digest_of(phone)
    response = laptop.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    assert response.status_code == 302 and response["Location"] == "/sessions/"
    response = phone.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert ENDED_TEXT in phone.get(response["Location"]).content.decode()
    assert signed_in(laptop)
    event = SecurityEvent.objects.get(name="session_ended_by_user")
    assert event.user == alice and event.actor == alice
    assert event.session_hash == crypto.event_hash(phone_digest)
    assert [c.device for c in laptop.get("/sessions/").context["cards"]] == ["Chrome 156 on Linux"]


def test_sign_out_all_other_sessions_keeps_only_this_one(make_user, device):
    make_user("alice")
    laptop = device(LAPTOP)
    phone = device(PHONE)
    windows = device(WINDOWS)
    response = laptop.post("/sessions/end-others/")
    assert response.status_code == 302
    page = laptop.get("/sessions/")
    assert [c.current for c in page.context["cards"]] == [True]
    assert "Signed out 2 other sessions." in page.content.decode()
    assert not signed_in(phone) and not signed_in(windows)
    assert signed_in(laptop)
    assert SecurityEvent.objects.filter(name="session_ended_by_user").count() == 2


def test_another_users_handle_is_404_and_ends_nothing(make_user, device):
    make_user("alice")
    make_user("bob")
    laptop = device(LAPTOP, "alice")
    bobs_phone = device(PHONE, "bob")
    response = laptop.post(f"/sessions/{handle_of(bobs_phone)}/end/")
    assert response.status_code == 404
    assert signed_in(bobs_phone)
    assert not SecurityEvent.objects.filter(name="session_ended_by_user").exists()
    assert laptop.post("/sessions/not-a-handle/end/").status_code == 404


def test_sign_out_others_never_touches_another_user(make_user, device):
    make_user("alice")
    make_user("bob")
    laptop = device(LAPTOP, "alice")
    bobs_phone = device(PHONE, "bob")
    laptop.post("/sessions/end-others/")
    assert signed_in(bobs_phone)


def test_the_current_session_cannot_be_ended_by_handle(make_user, device):
    make_user("alice")
    laptop = device(LAPTOP)
    response = laptop.post(f"/sessions/{handle_of(laptop)}/end/")
    assert response.status_code == 302
    assert signed_in(laptop)


@pytest.mark.parametrize(("since_auth", "allowed"), [(600, True), (601, False)])
def test_ending_needs_a_recent_authentication(make_user, device, frozen_clock, since_auth, allowed):
    make_user("alice")
    phone = device(PHONE)
    laptop = device(LAPTOP)
    frozen_clock.advance(since_auth)  # ELEVATION_TIMEOUT (600) is the window
    phone.get("/dashboard/")  # keep the phone's session from idling out
    response = laptop.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    assert response.status_code == 302
    if allowed:
        assert response["Location"] == "/sessions/"
        assert not signed_in(phone)
    else:
        assert response["Location"] == "/accounts/elevate/?next=%2Fsessions%2F"
        assert signed_in(phone)
        assert not SecurityEvent.objects.filter(name="session_ended_by_user").exists()


def test_sign_out_others_needs_a_recent_authentication(make_user, device, frozen_clock):
    make_user("alice")
    phone = device(PHONE)
    laptop = device(LAPTOP)
    frozen_clock.advance(601)
    phone.get("/dashboard/")
    response = laptop.post("/sessions/end-others/", {"next": "/sessions/"})
    assert response["Location"] == "/accounts/elevate/?next=%2Fsessions%2F"
    assert signed_in(phone)


def test_ending_is_post_only(make_user, device):
    make_user("alice")
    laptop = device(LAPTOP)
    phone = device(PHONE)
    assert laptop.get(f"/sessions/{handle_of(phone)}/end/").status_code == 405
    assert laptop.get("/sessions/end-others/").status_code == 405
    assert signed_in(phone)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/sessions/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.post("/sessions/end-others/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_page_has_no_inline_script_or_style_and_is_not_stored(make_user, device):
    make_user("alice")
    laptop = device(LAPTOP)
    device(PHONE)
    response = laptop.get("/sessions/")
    html = response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "/static/css/sessions." in html
    assert html.count("<h1") == 1
