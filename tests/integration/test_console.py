"""The staff console: gate (staff and sudo mode), search, counts, end one/all, disable an account
(after a confirmation that lists what it ends), enable it again, and the user scope hook.

Sudo mode is granted the only way there is: the password, entered at /accounts/elevate/ (writing
``elevated_until`` into Redis by hand grants nothing: tests/integration/test_hardening.py).
"""

import re

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import User
from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PHONE = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Mobile Safari/537.36"
    ),
    "REMOTE_ADDR": "198.51.100.7",
}
LAPTOP = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    ),
    "REMOTE_ADDR": "192.0.2.44",
}
STAFF_DESK = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    ),
    "REMOTE_ADDR": "203.0.113.1",
}


@pytest.fixture(autouse=True)
def roomy_limits(session_settings):
    session_settings(MAX_PER_USER=10, CONCURRENCY_POLICY="evict_oldest")


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[settings.SESSION_COOKIE_NAME].value)


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


@pytest.fixture
def device(sign_in):
    def make(profile, username="alice"):
        client = Client(**profile)
        assert sign_in(client, username).status_code == 302
        return client

    return make


@pytest.fixture
def elevate(session_settings):
    """Put a signed-in client's session in sudo mode through /accounts/elevate/."""

    def do(client, seconds=600):
        session_settings(ELEVATION_TIMEOUT=seconds)
        response = client.post("/accounts/elevate/", {"password": PASSWORD})
        assert response.status_code == 302, response.status_code
        return client

    return do


@pytest.fixture
def people(make_user):
    return {
        "alice": make_user("alice"),
        "bob": make_user("bob"),
        "carol": make_user("carol", staff=True),
    }


@pytest.fixture
def staff(people, device, elevate):
    return elevate(device(STAFF_DESK, "carol"))


def test_members_are_refused(people, device, elevate):
    member = elevate(device(LAPTOP, "alice"))
    assert member.get("/console/sessions/").status_code == 403


def test_staff_not_in_sudo_mode_are_asked_for_their_password(people, device):
    carol = device(STAFF_DESK, "carol")
    response = carol.get("/console/sessions/?q=al")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/elevate/?next=%2Fconsole%2Fsessions%2F%3Fq%3Dal"


def test_elevation_that_ran_out_is_asked_again(people, device, elevate, frozen_clock):
    carol = elevate(device(STAFF_DESK, "carol"), seconds=60)
    assert carol.get("/console/sessions/").status_code == 200
    frozen_clock.advance(61)
    assert carol.get("/console/sessions/").status_code == 302


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/console/sessions/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_elevated_staff_see_users_counts_and_a_users_sessions(people, device, staff):
    device(PHONE, "alice")
    device(LAPTOP, "alice")
    response = staff.get("/console/sessions/?user=alice")
    assert response.status_code == 200
    counts = {u.username: n for u, n in response.context["rows"]}
    assert counts == {"alice": 2, "bob": 0, "carol": 1}
    assert response.context["total"] == 3
    devices = sorted(c.device for c in response.context["cards"])
    assert devices == ["Chrome 126 on Android", "Firefox 128 on Windows"]
    html = response.content.decode()
    assert 'aria-label="End session on Chrome 126 on Android, 198.51.100.7"' in html
    assert ">End all sessions of alice</button>" in html
    assert (
        f'href="/console/sessions/{people["alice"].pk}/disable/">Disable account alice…</a>' in html
    )


def test_search_filters_users_by_username(people, staff):
    response = staff.get("/console/sessions/?q=BO")
    assert [u.username for u, _ in response.context["rows"]] == ["bob"]


def test_users_are_paginated(people, make_user, staff):
    for i in range(30):
        make_user(f"user{i:02d}")
    first = staff.get("/console/sessions/")
    assert len(first.context["rows"]) == 25
    second = staff.get("/console/sessions/?page=2")
    assert len(second.context["rows"]) == 33 - 25
    assert "Page 2 of 2" in second.content.decode()


def test_staff_end_one_session(people, device, staff):
    phone = device(PHONE, "alice")
    laptop = device(LAPTOP, "alice")
    handle = crypto.handle_for(digest_of(phone))
    response = staff.post(f"/console/sessions/{people['alice'].pk}/end/{handle}/")
    assert response.status_code == 302 and "user=alice" in response["Location"]
    response = phone.get("/dashboard/")
    assert response["Location"].startswith("/accounts/login/")
    assert "ended by an administrator" in phone.get(response["Location"]).content.decode()
    assert signed_in(laptop)
    event = SecurityEvent.objects.get(name="session_ended_by_staff")
    assert event.actor == people["carol"] and event.user == people["alice"]


def test_a_handle_of_another_user_is_404_in_the_console(people, device, staff):
    bobs_phone = device(PHONE, "bob")
    handle = crypto.handle_for(digest_of(bobs_phone))
    response = staff.post(f"/console/sessions/{people['alice'].pk}/end/{handle}/")
    assert response.status_code == 404
    assert signed_in(bobs_phone)


def test_staff_end_all_sessions_of_a_user(people, device, staff):
    phone = device(PHONE, "alice")
    laptop = device(LAPTOP, "alice")
    bobs = device(PHONE, "bob")
    staff.post(f"/console/sessions/{people['alice'].pk}/end-all/")
    assert not signed_in(phone) and not signed_in(laptop)
    assert signed_in(bobs) and signed_in(staff)
    ended = SecurityEvent.objects.filter(name="session_ended_by_staff")
    assert ended.count() == 2 and {e.actor for e in ended} == {people["carol"]}


def test_disabling_an_account_ends_its_sessions_and_its_sign_ins(people, device, staff, sign_in):
    phone = device(PHONE, "alice")
    laptop = device(LAPTOP, "alice")
    response = staff.post(f"/console/sessions/{people['alice'].pk}/disable/")
    assert response.status_code == 302
    assert not User.objects.get(username="alice").is_active
    response = phone.get("/dashboard/")
    assert "This account has been disabled." in phone.get(response["Location"]).content.decode()
    assert not signed_in(laptop)
    assert registry.list_sessions(people["alice"].pk) == []
    event = SecurityEvent.objects.get(name="account_disabled")
    assert event.actor == people["carol"] and event.detail["sessions_ended"] == 2
    assert sign_in(Client(**PHONE), "alice").status_code == 200  # the form refuses her


def test_disable_first_asks_and_lists_the_sessions_it_will_end(people, device, staff):
    phone = device(PHONE, "alice")
    laptop = device(LAPTOP, "alice")
    page = staff.get(f"/console/sessions/{people['alice'].pk}/disable/?q=al")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Disable alice?</h1>" in html
    assert "These 2 sessions will end at once:" in html
    handles = sorted(re.findall(r'data-session-to-end="([^"]+)"', html))
    assert handles == sorted(crypto.handle_for(digest_of(c)) for c in (phone, laptop))
    assert "Chrome 126 on Android, 198.51.100.7" in html
    assert "Firefox 128 on Windows, 192.0.2.44" in html
    assert ">Disable alice and end 2 sessions</button>" in html
    assert 'href="/console/sessions/?user=alice&amp;q=al">Cancel</a>' in html
    # Asking changed nothing.
    assert User.objects.get(username="alice").is_active
    assert signed_in(phone) and signed_in(laptop)
    assert not SecurityEvent.objects.filter(name="account_disabled").exists()


def test_the_confirmation_of_a_user_without_sessions_says_none_will_end(people, staff):
    html = staff.get(f"/console/sessions/{people['bob'].pk}/disable/").content.decode()
    assert "bob has no live sessions, so none will end." in html
    assert ">Disable bob and end 0 sessions</button>" in html


def test_enable_brings_a_disabled_account_back(people, device, staff, sign_in):
    device(PHONE, "alice")
    staff.post(f"/console/sessions/{people['alice'].pk}/disable/")
    page = staff.get("/console/sessions/?user=alice").content.decode()
    assert ">Enable account alice</button>" in page and "Disable account alice" not in page
    response = staff.post(f"/console/sessions/{people['alice'].pk}/enable/", {"q": "al"})
    assert response.status_code == 302
    assert response["Location"] == "/console/sessions/?user=alice&q=al"
    shown = staff.get(response["Location"]).content.decode()
    assert "Enabled alice: they can sign in again." in shown
    assert User.objects.get(username="alice").is_active
    event = SecurityEvent.objects.get(name="account_enabled")
    assert event.actor == people["carol"] and event.user == people["alice"]
    assert sign_in(Client(**PHONE), "alice").status_code == 302
    # Enabling an active account records nothing.
    staff.post(f"/console/sessions/{people['alice'].pk}/enable/")
    assert SecurityEvent.objects.filter(name="account_enabled").count() == 1


def test_enable_is_gated_and_post_only(people, device):
    alice = people["alice"]
    alice.is_active = False
    alice.save()
    member = device(LAPTOP, "bob")
    carol = device(STAFF_DESK, "carol")
    assert member.post(f"/console/sessions/{alice.pk}/enable/").status_code == 403
    response = carol.post(f"/console/sessions/{alice.pk}/enable/")
    assert response["Location"].startswith("/accounts/elevate/")
    assert carol.get(f"/console/sessions/{alice.pk}/disable/")["Location"].startswith(
        "/accounts/elevate/"
    )
    assert not User.objects.get(username="alice").is_active
    assert not SecurityEvent.objects.filter(name="account_enabled").exists()


def test_staff_cannot_disable_or_end_all_of_themselves(people, staff):
    """The services' staff rule refuses; the console says why and where to go instead."""
    said = {
        "disable/": "You cannot disable your own account.",
        "end-all/": "To end your own other sessions, use Your sessions.",
        "enable/": "You cannot enable your own account.",
    }
    for action, message in said.items():
        page = staff.post(f"/console/sessions/{people['carol'].pk}/{action}", follow=True)
        assert page.status_code == 200
        assert message in page.content.decode()
    assert staff.get(f"/console/sessions/{people['carol'].pk}/disable/").status_code == 302
    assert User.objects.get(username="carol").is_active
    assert signed_in(staff)


@pytest.mark.parametrize("action", ["end-all/", "disable/", "enable/"])
def test_console_actions_are_gated(people, device, action):
    phone = device(PHONE, "alice")
    member = device(LAPTOP, "bob")
    carol = device(STAFF_DESK, "carol")
    assert member.post(f"/console/sessions/{people['alice'].pk}/{action}").status_code == 403
    response = carol.post(f"/console/sessions/{people['alice'].pk}/{action}")
    assert response["Location"].startswith("/accounts/elevate/")
    assert signed_in(phone) and User.objects.get(username="alice").is_active
    assert not SecurityEvent.objects.filter(
        name__in=["session_ended_by_staff", "account_disabled", "account_enabled"]
    ).exists()


def test_console_actions_are_post_only(people, device, staff):
    """GET on disable is its confirmation page (above); every other action is POST only."""
    phone = device(PHONE, "alice")
    assert staff.get(f"/console/sessions/{people['alice'].pk}/end-all/").status_code == 405
    assert staff.get(f"/console/sessions/{people['alice'].pk}/enable/").status_code == 405
    assert staff.get(f"/console/sessions/{people['alice'].pk}/disable/").status_code == 200
    assert signed_in(phone) and User.objects.get(username="alice").is_active


def test_no_django_admin_is_mounted(client):
    assert client.get("/admin/").status_code == 404


def test_staff_cannot_act_on_a_superuser_or_themselves_whatever_the_view(rf, make_user):
    """The rule lives in the services, so any caller (view, command, script) gets it."""
    from django.core.exceptions import PermissionDenied

    from sessions_admin import services

    staff = make_user("carol", staff=True)
    boss = make_user("root", staff=True, is_superuser=True)
    request = rf.post("/")
    for call in (services.end_user_sessions, services.disable_account):
        with pytest.raises(PermissionDenied):
            call(request=request, actor=staff, user=boss)
        with pytest.raises(PermissionDenied):
            call(request=request, actor=staff, user=staff)
    boss.refresh_from_db()
    assert boss.is_active
    for user in (boss, staff):
        user.is_active = False
        user.save()
        with pytest.raises(PermissionDenied):
            services.enable_account(request=request, actor=staff, user=user)
        user.refresh_from_db()
        assert not user.is_active
    assert not SecurityEvent.objects.filter(name="account_enabled").exists()


# --- The user scope hook (SESSIONS_ADMIN["CONSOLE_USER_SCOPE"]) ---------------------------------
def only_bob_and_carol(request):
    """A scope for the test below: what a tenant's scope function looks like."""
    return User.objects.filter(username__in=["bob", "carol"])


def test_without_a_scope_the_console_covers_every_user(people, device, staff, session_settings):
    session_settings(CONSOLE_USER_SCOPE=None)
    device(PHONE, "alice")
    page = staff.get("/console/sessions/")
    assert {u.username for u, _ in page.context["rows"]} == {"alice", "bob", "carol"}
    assert page.context["total"] == 2 and "across all users" in page.content.decode()


def test_a_scope_limits_every_page_and_action(people, device, staff, session_settings):
    session_settings(CONSOLE_USER_SCOPE=f"{__name__}.only_bob_and_carol")
    phone = device(PHONE, "alice")
    bobs = device(LAPTOP, "bob")
    page = staff.get("/console/sessions/")
    assert {u.username for u, _ in page.context["rows"]} == {"bob", "carol"}
    assert page.context["total"] == 2  # bob's and carol's, not alice's
    assert "across the users you manage" in page.content.decode()
    alice = people["alice"]
    handle = crypto.handle_for(digest_of(phone))
    assert staff.get("/console/sessions/?user=alice").status_code == 404
    assert staff.post(f"/console/sessions/{alice.pk}/end/{handle}/").status_code == 404
    assert staff.post(f"/console/sessions/{alice.pk}/end-all/").status_code == 404
    assert staff.get(f"/console/sessions/{alice.pk}/disable/").status_code == 404
    assert staff.post(f"/console/sessions/{alice.pk}/disable/").status_code == 404
    assert staff.post(f"/console/sessions/{alice.pk}/enable/").status_code == 404
    assert signed_in(phone) and User.objects.get(username="alice").is_active
    assert staff.post(f"/console/sessions/{people['bob'].pk}/end-all/").status_code == 302
    assert not signed_in(bobs)
