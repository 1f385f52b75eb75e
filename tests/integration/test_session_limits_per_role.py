"""Issue 16: staff accounts have their own session limit (SESSION_MAX_PER_STAFF), under the same
SESSION_CONCURRENCY_POLICY, at sign-in and when a staff session enters sudo mode."""

import re

import pytest
from django.test import Client

from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent
from sessions_admin.policy import is_elevated
from tests.devices import PHONE, WINDOWS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
DESK = {"HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0", "REMOTE_ADDR": "::1"}
POLICIES = ["evict_oldest", "deny_new", "prompt"]


@pytest.fixture
def people(make_user, frozen_clock):
    return {"alice": make_user("alice"), "carol": make_user("carol", staff=True)}


def post_login(client, username):
    client.get("/accounts/login/")
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def device(profile, username, frozen_clock) -> Client:
    frozen_clock.advance(60)
    client = Client(**profile)
    assert post_login(client, username).status_code == 302
    return client


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def digest_of(client) -> str:
    from django.conf import settings

    return crypto.key_digest(client.cookies[settings.SESSION_COOKIE_NAME].value)


@pytest.mark.parametrize("policy", POLICIES)
def test_members_keep_max_per_user_while_staff_meet_their_own_limit(
    people, session_settings, frozen_clock, policy
):
    session_settings(MAX_PER_USER=2, MAX_PER_STAFF=1, CONCURRENCY_POLICY=policy)
    # A member: two sessions, both admitted under every policy.
    a1, a2 = device(WINDOWS, "alice", frozen_clock), device(PHONE, "alice", frozen_clock)
    assert signed_in(a1) and signed_in(a2)
    # Staff: the second sign-in meets the policy at one.
    c1 = device(WINDOWS, "carol", frozen_clock)
    frozen_clock.advance(60)
    c2 = Client(**PHONE)
    response = post_login(c2, "carol")
    if policy == "evict_oldest":
        assert response.status_code == 302 and signed_in(c2) and not signed_in(c1)
    elif policy == "deny_new":
        assert response.status_code == 409
        assert "already signed in on 1 device, the most this account allows" in (
            response.content.decode()
        )
        assert signed_in(c1) and not signed_in(c2)
    else:
        assert response["Location"] == "/accounts/login/choose/"
        page = c2.get("/accounts/login/choose/").content.decode()
        assert "already signed in on 1 device," in page
        assert signed_in(c1)


def test_a_staff_limit_of_zero_is_no_limit(people, session_settings, frozen_clock):
    session_settings(MAX_PER_STAFF=0, CONCURRENCY_POLICY="deny_new")
    clients = [device(p, "carol", frozen_clock) for p in (WINDOWS, PHONE, DESK)]
    assert all(signed_in(c) for c in clients)


def elevate(client, **extra):
    return client.post(
        "/accounts/elevate/", {"password": PASSWORD, "next": "/console/sessions/", **extra}
    )


@pytest.fixture
def staff_on_two(people, session_settings, frozen_clock):
    """carol on two devices (signed in while the staff limit was 3), then the limit drops to 1."""
    session_settings(MAX_PER_STAFF=3)
    laptop, phone = device(WINDOWS, "carol", frozen_clock), device(PHONE, "carol", frozen_clock)
    frozen_clock.advance(60)
    return laptop, phone


def test_elevation_under_evict_oldest_ends_the_oldest_others(
    staff_on_two, session_settings, frozen_clock
):
    laptop, phone = staff_on_two
    desk = device(DESK, "carol", frozen_clock)
    session_settings(MAX_PER_STAFF=2, CONCURRENCY_POLICY="evict_oldest")
    response = elevate(desk)
    assert response.status_code == 302 and response["Location"] == "/console/sessions/"
    assert is_elevated(registry.meta_of(digest_of(desk)), frozen_clock.now())
    assert not signed_in(laptop) and signed_in(phone)  # the least recently active one
    assert SecurityEvent.objects.filter(name="session_evicted").count() == 1


def test_elevation_under_deny_new_is_refused_with_a_clear_message(
    staff_on_two, session_settings, frozen_clock
):
    laptop, phone = staff_on_two
    session_settings(MAX_PER_STAFF=1, CONCURRENCY_POLICY="deny_new")
    response = elevate(phone)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Sudo mode needs this account to be signed in on at most 1 device." in html
    meta = registry.meta_of(digest_of(phone))
    assert not is_elevated(meta, frozen_clock.now())
    assert meta.auth_at == frozen_clock.now()  # the password counts: ending sessions won't ask
    assert signed_in(laptop)
    event = SecurityEvent.objects.get(name="login_denied_concurrency")
    assert event.detail["step"] == "elevation"
    # Once the other session is ended (no second password), sudo mode is admitted.
    handle = crypto.handle_for(digest_of(laptop))
    assert phone.post(f"/sessions/{handle}/end/", {"next": "/sessions/"})["Location"] == (
        "/sessions/"
    )
    assert elevate(phone)["Location"] == "/console/sessions/"


def test_elevation_under_prompt_asks_which_session_to_end(
    staff_on_two, session_settings, frozen_clock
):
    laptop, phone = staff_on_two
    session_settings(MAX_PER_STAFF=1, CONCURRENCY_POLICY="prompt")
    page = elevate(phone)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Sudo mode needs this account to be signed in on at most 1 device" in html
    assert 'name="step" value="choose"' in html
    assert "Chrome 156 on Linux" not in html  # this session is never offered
    handles = re.findall(r'name="handle" value="([^"]+)"', html)
    assert handles == [crypto.handle_for(digest_of(laptop))]
    assert not is_elevated(registry.meta_of(digest_of(phone)), frozen_clock.now())
    done = phone.post("/accounts/elevate/", {"step": "choose", "handle": handles[0]})
    assert done["Location"] == "/console/sessions/"
    assert is_elevated(registry.meta_of(digest_of(phone)), frozen_clock.now())
    assert not signed_in(laptop)
    assert phone.get("/console/sessions/").status_code == 200


def test_elevation_prompt_can_be_cancelled_and_expires_with_the_password(
    staff_on_two, session_settings, frozen_clock
):
    laptop, phone = staff_on_two
    session_settings(MAX_PER_STAFF=1, CONCURRENCY_POLICY="prompt")
    elevate(phone)
    cancelled = phone.post("/accounts/elevate/", {"step": "choose", "cancel": "1"})
    assert cancelled.status_code == 302
    assert signed_in(laptop)
    assert not is_elevated(registry.meta_of(digest_of(phone)), frozen_clock.now())
    elevate(phone)
    frozen_clock.advance(601)  # past the recent-authentication window
    phone.get("/dashboard/")
    handle = crypto.handle_for(digest_of(laptop))
    late = phone.post("/accounts/elevate/", {"step": "choose", "handle": handle})
    assert late.status_code == 302
    assert not is_elevated(registry.meta_of(digest_of(phone)), frozen_clock.now())


@pytest.mark.parametrize("policy", POLICIES)
def test_members_confirming_their_password_meet_no_staff_limit(
    people, session_settings, frozen_clock, policy
):
    session_settings(MAX_PER_USER=3, MAX_PER_STAFF=1, CONCURRENCY_POLICY=policy)
    one, two = device(WINDOWS, "alice", frozen_clock), device(PHONE, "alice", frozen_clock)
    response = two.post("/accounts/elevate/", {"password": PASSWORD, "next": "/sessions/"})
    assert response["Location"] == "/sessions/"
    assert signed_in(one) and signed_in(two)
