"""/demo/ and private sandboxes (issue 13): the contract, the limits, expiry, reset, and
isolation: two visitors in two clients, each with a sandbox, try every action the app offers on
the other's users and change nothing.

Sandboxes are turned on per test with the ``sandboxes`` fixture (DEMO_MODE and DEMO["SANDBOXES"]),
the way the room recipe runs them.
"""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from accounts import throttle
from accounts.models import User
from demo.models import Sandbox, SandboxUser
from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection

pytestmark = pytest.mark.django_db

DESK = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    ),
}
USERNAME = re.compile(r'data-demo-username="([^"]+)" data-demo-role="(member|staff)"')
PASSWORD = re.compile(r'data-demo-password="([^"]+)"')


@pytest.fixture
def sandboxes(settings):
    settings.DEMO_MODE = True
    settings.DEMO = {**settings.DEMO, "SANDBOXES": True}
    return settings


def visitor(ip: str) -> Client:
    return Client(REMOTE_ADDR=ip, **DESK)


def demo_users(response) -> tuple[dict[str, str], str]:
    """({username: role}, password) as an outside test reads them off /demo/."""
    html = response.content.decode()
    found = PASSWORD.search(html)
    return dict(USERNAME.findall(html)), found.group(1) if found else ""


def start(client) -> tuple[dict[str, str], str]:
    response = client.post("/demo/")
    assert response.status_code == 302, response.status_code
    page = client.get("/demo/")
    assert page.status_code == 200
    return demo_users(page)


def named(users: dict[str, str], role: str) -> list[str]:
    return [u for u, r in users.items() if r == role]


def sign_in_as(client, username, password):
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, (username, response.status_code)
    return client


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def elevate(client, password):
    response = client.post("/accounts/elevate/", {"password": password})
    assert response.status_code == 302, response.status_code
    return client


# --- The contract ---------------------------------------------------------------------------------
def test_demo_is_a_404_outside_demo_mode(settings, client):
    settings.DEMO_MODE = False
    settings.DEMO = {**settings.DEMO, "SANDBOXES": True}
    assert client.get("/demo/").status_code == 404
    assert client.post("/demo/").status_code == 404
    assert client.post("/demo/reset/").status_code == 404
    assert not Sandbox.objects.exists()


def test_without_sandboxes_the_page_shows_the_shared_demo_users(settings, client):
    settings.DEMO_MODE = True
    settings.DEMO = {**settings.DEMO, "SANDBOXES": False}
    page = client.get("/demo/")
    users, password = demo_users(page)
    assert users == {"alice": "member", "bob": "member", "carol": "staff"}
    assert password == "correct horse battery staple"
    assert b"Start a private demo" not in page.content
    assert client.post("/demo/").status_code == 404
    assert not Sandbox.objects.exists()


def test_start_a_private_demo(sandboxes, client):
    page = client.get("/demo/")
    assert page.status_code == 200
    assert re.search(rb'<button type="submit"[^>]*>Start a private demo</button>', page.content)
    assert demo_users(page) == ({}, "")

    users, password = start(client)
    assert sorted(users.values()) == ["member", "member", "staff"]
    suffix = next(iter(users)).rsplit("-", 1)[1]
    assert set(users) == {f"alice-{suffix}", f"bob-{suffix}", f"carol-{suffix}"}
    assert len(password) >= 16 and password != "correct horse battery staple"
    for username, role in users.items():
        user = User.objects.get(username=username)
        assert user.is_staff == (role == "staff") and user.is_active
        assert user.check_password(password)
    event = SecurityEvent.objects.get(name="sandbox_started")
    assert event.user.username == f"alice-{suffix}"
    assert sorted(event.detail["usernames"]) == sorted(users)
    # Each user really signs in with it.
    assert signed_in(sign_in_as(Client(**DESK), named(users, "staff")[0], password))


def test_two_sandboxes_seconds_apart_from_one_client_the_page_shows_the_latest(sandboxes, client):
    first, first_password = start(client)
    second, second_password = start(client)
    assert set(first).isdisjoint(second) and first_password != second_password
    assert demo_users(client.get("/demo/")) == (second, second_password)
    assert Sandbox.objects.count() == 2


def test_a_client_starting_too_many_gets_429_and_others_still_start(sandboxes, settings):
    settings.DEMO = {**settings.DEMO, "START_LIMIT": 3, "START_WINDOW": 600}
    greedy = visitor("198.51.100.20")
    for _ in range(3):
        start(greedy)
    refused = greedy.post("/demo/")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    assert "Too many demos started" in refused.content.decode()
    assert Sandbox.objects.count() == 3
    start(visitor("198.51.100.21"))
    assert Sandbox.objects.count() == 4


def test_past_the_overall_cap_the_page_says_so_with_503(sandboxes, settings, frozen_clock):
    settings.DEMO = {**settings.DEMO, "SANDBOX_MAX": 2, "SANDBOX_TTL": 3600}
    start(visitor("198.51.100.30"))
    frozen_clock.advance(600)
    start(visitor("198.51.100.31"))
    full = visitor("198.51.100.32").post("/demo/")
    assert full.status_code == 503
    assert "The demo is full" in full.content.decode()
    assert int(full["Retry-After"]) == 3000  # when the oldest expires
    assert Sandbox.objects.count() == 2
    frozen_clock.advance(3001)  # the first expired: the next start prunes it and fits
    start(visitor("198.51.100.32"))
    assert Sandbox.objects.count() == 2


# --- Whose sandbox -------------------------------------------------------------------------------
def test_a_signed_in_sandbox_user_reaches_their_sandbox_from_any_browser(sandboxes, client):
    users, password = start(client)
    elsewhere = sign_in_as(Client(**DESK), named(users, "member")[1], password)
    assert demo_users(elsewhere.get("/demo/")) == (users, password)
    # ...and a visitor who never started one sees none of it.
    assert demo_users(Client(**DESK).get("/demo/")) == ({}, "")


def test_signing_in_as_a_sandbox_user_keeps_the_sandbox_in_the_session(sandboxes, client):
    users, password = start(client)
    sign_in_as(client, named(users, "member")[0], password)
    assert demo_users(client.get("/demo/")) == (users, password)


# --- Isolation: two visitors, two clients, every action -----------------------------------------
@pytest.fixture
def two_visitors(sandboxes, session_settings):
    """Visitor A and visitor B, each with a sandbox; A's staff user is in sudo mode, and B's
    three users are signed in on B's devices."""
    session_settings(MAX_PER_USER=10, MAX_PER_STAFF=10, CONCURRENCY_POLICY="evict_oldest")
    a_users, a_password = start(visitor("192.0.2.10"))
    b_users, b_password = start(visitor("192.0.2.20"))
    a_staff = elevate(
        sign_in_as(visitor("192.0.2.10"), named(a_users, "staff")[0], a_password), a_password
    )
    a_member = sign_in_as(visitor("192.0.2.11"), named(a_users, "member")[0], a_password)
    b_devices = {u: sign_in_as(visitor("192.0.2.20"), u, b_password) for u in b_users}
    return {
        "a_users": a_users,
        "a_password": a_password,
        "a_staff": a_staff,
        "a_member": a_member,
        "b_users": b_users,
        "b_password": b_password,
        "b_devices": b_devices,
    }


def b_state(v):
    """Everything of B's that an action of A's could change."""
    state = {}
    for username in v["b_users"]:
        user = User.objects.get(username=username)
        state[username] = (
            user.password,
            user.is_active,
            sorted(i.handle for i in registry.list_sessions(user.pk)),
        )
    return state


def test_the_console_lists_only_the_staff_members_own_sandbox(two_visitors):
    v = two_visitors
    page = v["a_staff"].get("/console/sessions/")
    assert page.status_code == 200
    assert {u.username for u, _ in page.context["rows"]} == set(v["a_users"])
    assert page.context["total"] == 2  # A's staff and A's member, not B's three
    html = page.content.decode()
    for username in v["b_users"]:
        assert username not in html
        found = v["a_staff"].get(f"/console/sessions/?q={username}")
        assert found.context["rows"] == []  # the search term is echoed, nothing else
        assert f'data-live-count="{username}"' not in found.content.decode()
        assert v["a_staff"].get(f"/console/sessions/?user={username}").status_code == 404


def test_no_console_action_reaches_another_sandbox(two_visitors):
    v = two_visitors
    staff = v["a_staff"]
    before = b_state(v)
    for username, device in v["b_devices"].items():
        uid = User.objects.get(username=username).pk
        handle = crypto.handle_for(crypto.key_digest(device.cookies["__Host-id"].value))
        assert staff.post(f"/console/sessions/{uid}/end/{handle}/").status_code == 404
        assert staff.post(f"/console/sessions/{uid}/end-all/").status_code == 404
        assert staff.get(f"/console/sessions/{uid}/disable/").status_code == 404
        assert staff.post(f"/console/sessions/{uid}/disable/").status_code == 404
        assert staff.post(f"/console/sessions/{uid}/enable/").status_code == 404
    assert b_state(v) == before
    assert all(signed_in(d) for d in v["b_devices"].values())
    assert not SecurityEvent.objects.filter(
        name__in=["session_ended_by_staff", "account_disabled", "account_enabled"]
    ).exists()


def test_a_disabled_user_of_another_sandbox_cannot_be_enabled_from_here(two_visitors):
    v = two_visitors
    b_member = User.objects.get(username=named(v["b_users"], "member")[0])
    b_member.is_active = False
    b_member.save()
    assert v["a_staff"].post(f"/console/sessions/{b_member.pk}/enable/").status_code == 404
    b_member.refresh_from_db()
    assert not b_member.is_active


def test_the_console_still_acts_inside_its_own_sandbox(two_visitors):
    v = two_visitors
    a_member = User.objects.get(username=named(v["a_users"], "member")[0])
    response = v["a_staff"].post(f"/console/sessions/{a_member.pk}/disable/")
    assert response.status_code == 302
    assert not signed_in(v["a_member"])
    assert v["a_staff"].post(f"/console/sessions/{a_member.pk}/enable/").status_code == 302
    a_member.refresh_from_db()
    assert a_member.is_active


def test_sessions_page_activity_page_and_password_change_stay_in_the_sandbox(two_visitors):
    v = two_visitors
    before = b_state(v)
    member = v["a_member"]
    for path in ("/sessions/", "/accounts/activity/", "/dashboard/", "/demo/"):
        html = member.get(path).content.decode()
        for username in v["b_users"]:
            assert username not in html, (path, username)
    # Ending a session by a handle of B's ends nothing.
    b_device = next(iter(v["b_devices"].values()))
    handle = crypto.handle_for(crypto.key_digest(b_device.cookies["__Host-id"].value))
    member.post("/accounts/elevate/", {"password": v["a_password"]})
    assert member.post(f"/sessions/{handle}/end/").status_code == 404
    # A password change touches A's member alone.
    new = "a brand new passphrase 42"
    changed = member.post(
        "/accounts/password/",
        {"old_password": v["a_password"], "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    assert b_state(v) == before
    assert all(signed_in(d) for d in v["b_devices"].values())
    # A's activity page shows A's events; B's page shows none of A's.
    b_member = v["b_devices"][named(v["b_users"], "member")[0]]
    html = b_member.get("/accounts/activity/").content.decode()
    for username in v["a_users"]:
        assert username not in html


def test_the_shared_staff_user_sees_no_sandbox(two_visitors, make_user):
    shared = "correct horse battery staple"
    make_user("carol", password=shared, staff=True)
    make_user("alice", password=shared)
    carol = elevate(sign_in_as(visitor("203.0.113.5"), "carol", shared), shared)
    page = carol.get("/console/sessions/")
    assert {u.username for u, _ in page.context["rows"]} == {"alice", "carol"}


def test_reset_from_another_sandbox_is_impossible(two_visitors):
    """Reset acts on the caller's own sandbox: A's reset leaves B as it is."""
    v = two_visitors
    before = b_state(v)
    assert v["a_member"].post("/demo/reset/").status_code == 302
    assert b_state(v) == before
    assert all(signed_in(d) for d in v["b_devices"].values())


# --- Reset -------------------------------------------------------------------------------------
def test_reset_my_demo_restores_passwords_enables_and_ends_sessions(sandboxes, session_settings):
    session_settings(MAX_PER_USER=10, MAX_PER_STAFF=10, CONCURRENCY_POLICY="evict_oldest")
    me = visitor("192.0.2.50")
    users, password = start(me)
    alice, bob = named(users, "member")
    alice_device = sign_in_as(visitor("192.0.2.51"), alice, password)
    new = "a brand new passphrase 42"
    changed = alice_device.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": new, "new_password2": new},
    )
    assert changed.status_code == 302
    User.objects.filter(username=bob).update(is_active=False)

    sign_in_as(me, named(users, "staff")[0], password)
    response = me.post("/demo/reset/")
    assert response.status_code == 302
    assert not signed_in(alice_device) and not signed_in(me)
    for username in users:
        user = User.objects.get(username=username)
        assert user.is_active and user.check_password(password)
        assert registry.list_sessions(user.pk) == []
    # The visitor keeps the sandbox, now anonymous.
    assert demo_users(me.get("/demo/")) == (users, password)
    assert signed_in(sign_in_as(visitor("192.0.2.52"), bob, password))


def test_reset_without_a_sandbox_changes_nothing(sandboxes, client):
    start(visitor("192.0.2.60"))
    response = client.post("/demo/reset/", follow=True)
    assert "You have no private demo to reset" in response.content.decode()


# --- Expiry ------------------------------------------------------------------------------------
def test_prune_sandboxes_removes_expired_users_sessions_and_events(
    sandboxes, settings, frozen_clock
):
    settings.DEMO = {**settings.DEMO, "SANDBOX_TTL": 600}
    old_users, old_password = start(visitor("192.0.2.70"))
    device = sign_in_as(visitor("192.0.2.71"), named(old_users, "member")[0], old_password)
    uids = list(User.objects.filter(username__in=old_users).values_list("pk", flat=True))
    frozen_clock.advance(300)
    young_users, _ = start(visitor("192.0.2.72"))
    frozen_clock.advance(301)  # the first is 601 s old, the second 301 s
    digest = crypto.key_digest(device.cookies["__Host-id"].value)
    known = throttle.key("known", named(old_users, "member")[0])
    assert connection().exists(known)

    call_command("prune_sandboxes")
    assert not connection().exists(known)
    assert not User.objects.filter(username__in=old_users).exists()
    assert not SandboxUser.objects.filter(user_id__in=uids).exists()
    assert not SecurityEvent.objects.filter(user_id__in=uids).exists()
    assert not SecurityEvent.objects.filter(username__in=old_users).exists()
    assert registry.meta_of(digest) is None or registry.meta_of(digest).end_reason
    assert all(registry.list_sessions(uid) == [] for uid in uids)
    assert not signed_in(device)
    assert User.objects.filter(username__in=young_users).count() == 3
    assert Sandbox.objects.count() == 1


def test_an_expired_sandbox_is_removed_lazily_by_a_visit_to_demo(sandboxes, settings, frozen_clock):
    settings.DEMO = {**settings.DEMO, "SANDBOX_TTL": 600}
    me = visitor("192.0.2.80")
    users, _ = start(me)
    frozen_clock.advance(601)
    assert demo_users(Client(**DESK).get("/demo/")) == ({}, "")
    assert not User.objects.filter(username__in=users).exists()
    assert demo_users(me.get("/demo/")) == ({}, "")


def test_ttl_is_two_hours_by_default(sandboxes, client):
    start(client)
    sandbox = Sandbox.objects.get()
    assert sandbox.expires_at - sandbox.created_at == timedelta(hours=2)


@pytest.mark.parametrize("with_sandboxes", [False, True])
def test_the_demo_page_shows_carols_authenticator_key(settings, client, with_sandboxes):
    import pyotp
    from django.core.management import call_command

    settings.DEMO_MODE = True
    settings.DEMO = {**settings.DEMO, "SANDBOXES": with_sandboxes}
    call_command("seed_demo", verbosity=0)
    page = client.get("/demo/").content.decode()
    secret = re.search(r"<code data-demo-totp-secret>([A-Z2-7]+)</code>", page).group(1)
    assert len(pyotp.TOTP(secret).now()) == 6
