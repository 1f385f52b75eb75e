"""Issue 17: the second factor with real Redis and the Django test client (TOTP and recovery
codes here; passkeys in Chromium, e2e/test_second_factor.py).

The sign-in's second step, the assurance sealed in the session, sudo mode with a code, the
console's step-up for staff under STAFF_REQUIRE_SECOND_FACTOR, enrolment and removal on the
Security page, throttling, events.
"""

import pyotp
import pytest
from django.conf import settings
from django.test import Client

from second_factor import factors
from second_factor.models import RecoveryCode, TotpDevice
from sessions_admin import clock, crypto, registry
from sessions_admin.models import SecurityEvent
from sessions_admin.store import SessionStore

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
DESK = {"REMOTE_ADDR": "203.0.113.20", "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)"}
PHONE = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)"}
CONSOLE = "/console/sessions/"
VERIFY = "/accounts/login/verify/"


def key_of(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def facts_of(client):
    store = SessionStore(key_of(client))
    store.load()
    return store.meta


def with_totp(user) -> pyotp.TOTP:
    secret = factors.start_totp(user)
    TotpDevice.objects.filter(user=user).update(confirmed=True)
    return pyotp.TOTP(secret)


def code_at(totp, offset=0) -> str:
    return totp.at(clock.now() + offset)


@pytest.fixture
def people(make_user, session_settings, frozen_clock):
    session_settings(ELEVATION_TIMEOUT=60, MAX_PER_USER=10, MAX_PER_STAFF=10)
    return {"alice": make_user("alice"), "carol": make_user("carol", staff=True)}


def password_step(client, username="alice"):
    client.get("/accounts/login/")
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


# --- the sign-in's second step -----------------------------------------------------------------
def test_a_user_with_a_factor_is_not_signed_in_by_the_password_alone(people, sign_in):
    totp = with_totp(people["alice"])
    client = Client(**DESK)
    client.get("/accounts/login/")
    before = key_of(client)
    asked = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert asked.status_code == 302 and asked["Location"] == VERIFY
    assert key_of(client) != before, "the pre-login key rotates after the password"
    assert client.get("/dashboard/").status_code == 302, "nobody is signed in yet"
    assert registry.list_sessions(people["alice"].pk) == []
    # the prompt policy's page cannot complete a sign-in that waits for its second factor
    assert client.post("/accounts/login/choose/", {"handle": "x"})["Location"] == "/accounts/login/"

    page = client.get(VERIFY)
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    pending_key = key_of(client)
    done = client.post(VERIFY, {"code": code_at(totp)})
    assert done.status_code == 302 and done["Location"] == "/dashboard/"
    assert key_of(client) != pending_key, "the key rotates at the factor step"
    assert client.get("/dashboard/").status_code == 200
    meta = facts_of(client)
    assert meta.factors == "password,totp"
    assert meta.factor_at == clock.now()


def test_users_without_a_factor_sign_in_as_before_with_the_password_as_their_factor(people):
    client = Client(**DESK)
    assert password_step(client)["Location"] == "/dashboard/"
    assert facts_of(client).factors == "password"
    assert facts_of(client).factor_at is None


def test_a_wrong_code_is_refused_logged_and_the_right_one_works_once(people):
    totp = with_totp(people["alice"])
    client = Client(**DESK)
    password_step(client)
    wrong = client.post(VERIFY, {"code": "000000" if code_at(totp) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not correct" in wrong.content.decode()
    assert SecurityEvent.objects.filter(name="mfa_failed", user=people["alice"]).count() == 1
    code = code_at(totp)
    assert client.post(VERIFY, {"code": code})["Location"] == "/dashboard/"

    # the same code cannot sign in a second browser (each code is used once)
    other = Client(**PHONE)
    password_step(other)
    assert other.post(VERIFY, {"code": code}).status_code == 200
    assert other.get("/dashboard/").status_code == 302


def test_the_pending_sign_in_is_bound_to_the_browser_that_typed_the_password(people):
    totp = with_totp(people["alice"])
    client = Client(**DESK)
    password_step(client)
    thief = Client(**PHONE)
    thief.cookies[settings.SESSION_COOKIE_NAME] = key_of(client)
    assert thief.post(VERIFY, {"code": code_at(totp)})["Location"] == "/accounts/login/"


def test_a_recovery_code_signs_in_once(people):
    with_totp(people["alice"])
    codes = factors.new_recovery_codes(people["alice"])
    client = Client(**DESK)
    password_step(client)
    assert client.post(VERIFY, {"code": codes[0]})["Location"] == "/dashboard/"
    assert SecurityEvent.objects.filter(name="recovery_code_used").count() == 1
    assert RecoveryCode.objects.filter(used_at=None).count() == 9
    again = Client(**PHONE)
    password_step(again)
    assert again.post(VERIFY, {"code": codes[0]}).status_code == 200
    assert again.get("/dashboard/").status_code == 302


def test_codes_are_throttled_per_pending_sign_in_and_count_before_they_are_checked(people):
    totp = with_totp(people["alice"])
    client = Client(**DESK)
    password_step(client)
    for _ in range(settings.ACCOUNTS["LOGIN_FAILURE_LIMIT"]):
        client.post(VERIFY, {"code": "12345x"})
    refused = client.post(VERIFY, {"code": code_at(totp)})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert client.get("/dashboard/").status_code == 302
    # another sign-in (the real user, who has the password) is not locked out by that one
    fresh = Client(**PHONE)
    password_step(fresh)
    assert fresh.post(VERIFY, {"code": code_at(totp)})["Location"] == "/dashboard/"


# --- sudo mode and the console ----------------------------------------------------------------
def signed_in_carol(totp=None):
    client = Client(**DESK)
    password_step(client, "carol")
    if totp is not None:
        client.post(VERIFY, {"code": code_at(totp)})
    assert client.get("/dashboard/").status_code == 200
    return client


def test_where_required_the_console_needs_a_second_factor_and_sends_staff_without_one_to_enroll(
    people, session_settings
):
    session_settings(STAFF_REQUIRE_SECOND_FACTOR=True)
    carol = signed_in_carol()
    assert (
        carol.post("/accounts/elevate/", {"password": PASSWORD, "next": CONSOLE}).status_code == 302
    )
    asked = carol.get(CONSOLE)
    assert asked.status_code == 302
    assert asked["Location"] == "/accounts/security/verify/?next=%2Fconsole%2Fsessions%2F"
    enroll = carol.get(asked["Location"])
    assert enroll.status_code == 302 and enroll["Location"].startswith("/accounts/security/")


def test_where_required_a_code_within_the_elevation_window_opens_the_console(
    people, session_settings, frozen_clock
):
    session_settings(STAFF_REQUIRE_SECOND_FACTOR=True)
    totp = with_totp(people["carol"])
    carol = signed_in_carol(totp)
    # sudo mode with the password; the sign-in's code is still within the window
    carol.post("/accounts/elevate/", {"password": PASSWORD, "next": CONSOLE})
    assert carol.get(CONSOLE).status_code == 200
    frozen_clock.advance(61)  # sudo mode and the code both lapse
    assert carol.get(CONSOLE)["Location"].startswith("/accounts/elevate/")
    carol.post("/accounts/elevate/", {"password": PASSWORD, "next": CONSOLE})
    step_up = carol.get(CONSOLE)
    assert step_up["Location"].startswith("/accounts/security/verify/")
    page = carol.get(step_up["Location"])
    assert page.status_code == 200 and 'name="code"' in page.content.decode()
    before = key_of(carol)
    done = carol.post(
        "/accounts/reauth/code/", {"code": code_at(totp, 30), "next": CONSOLE, "from": "step_up"}
    )
    assert done["Location"] == CONSOLE
    assert key_of(carol) != before
    assert carol.get(CONSOLE).status_code == 200


def test_sudo_mode_with_a_code_alone(people, session_settings):
    session_settings(STAFF_REQUIRE_SECOND_FACTOR=True)
    totp = with_totp(people["carol"])
    carol = signed_in_carol(totp)
    page = carol.get(f"/accounts/elevate/?next={CONSOLE}").content.decode()
    assert 'name="code"' in page and 'name="password"' in page
    done = carol.post("/accounts/reauth/code/", {"code": code_at(totp, 30), "next": CONSOLE})
    assert done["Location"] == CONSOLE
    assert carol.get(CONSOLE).status_code == 200
    assert facts_of(carol).factors == "password,totp"


def test_off_the_console_needs_only_sudo_mode(people, session_settings):
    session_settings(STAFF_REQUIRE_SECOND_FACTOR=False)
    carol = signed_in_carol()
    carol.post("/accounts/elevate/", {"password": PASSWORD, "next": CONSOLE})
    assert carol.get(CONSOLE).status_code == 200


def test_the_production_default_is_on_and_demo_mode_turns_it_off():
    import subprocess
    import sys

    code = (
        "import os; os.environ.pop('STAFF_REQUIRE_SECOND_FACTOR', None);"
        "os.environ.update(SECRET_KEY='x'*50, DEMO_MODE=os.environ['M']);"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings';"
        "from sessions_admin.conf import app_settings;"
        "print(app_settings.STAFF_REQUIRE_SECOND_FACTOR)"
    )
    for mode, expected in (("0", "True"), ("1", "False")):
        env = {
            k: v for k, v in __import__("os").environ.items() if k != "STAFF_REQUIRE_SECOND_FACTOR"
        }
        env["M"] = mode
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected


# --- the Security page ------------------------------------------------------------------------
def test_adding_an_authenticator_needs_a_recent_authentication_and_ends_other_sessions(
    people, frozen_clock
):
    alice = Client(**DESK)
    password_step(alice)
    phone = Client(**PHONE)
    password_step(phone)
    frozen_clock.advance(61)
    assert alice.get("/accounts/security/")["Location"].startswith("/accounts/elevate/")
    alice.post("/accounts/elevate/", {"password": PASSWORD})
    assert alice.get("/accounts/security/").status_code == 200

    setup = alice.post("/accounts/security/totp/start/")
    assert setup.status_code == 200
    secret = setup.content.decode().split("data-totp-secret>")[1].split("<")[0]
    assert not TotpDevice.objects.get().confirmed
    assert TotpDevice.objects.get().secret_sealed != secret, "the secret is encrypted at rest"
    before = key_of(alice)
    done = alice.post(
        "/accounts/security/totp/confirm/", {"code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert done.status_code == 200
    shown = done.content.decode().count("data-recovery-code")
    assert shown == 10 and RecoveryCode.objects.count() == 10
    assert all(len(r.code_hash) == 64 for r in RecoveryCode.objects.all())
    assert key_of(alice) != before, "the key rotates at the factor step"
    assert phone.get("/dashboard/").status_code == 302, "the other session was ended"
    assert alice.get("/dashboard/").status_code == 200
    assert SecurityEvent.objects.filter(name="mfa_enrolled", user=people["alice"]).exists()

    other = Client(**PHONE)
    password_step(other)
    assert other.get("/dashboard/").status_code == 302  # now waits for the code
    removed = alice.post("/accounts/security/totp/remove/")
    assert removed["Location"] == "/accounts/security/"
    assert not TotpDevice.objects.exists() and not RecoveryCode.objects.exists()
    assert SecurityEvent.objects.filter(name="mfa_removed", user=people["alice"]).exists()


def test_the_demo_home_page_shows_carols_secret_in_demo_mode_only(people, settings):
    from django.core.management import call_command

    call_command("seed_demo", "--force", verbosity=0)
    secret = factors.unseal(TotpDevice.objects.get(user__username="carol").secret_sealed)
    settings.DEMO_MODE = False
    assert "data-demo-totp-secret" not in Client().get("/").content.decode()
    settings.DEMO_MODE = True
    page = Client().get("/").content.decode()
    assert f"data-demo-totp-secret>{secret}<" in page
    # seeding again resets factors: carol gets a new secret, nobody else has one
    call_command("seed_demo", "--force", "--no-second-factor", verbosity=0)
    assert not TotpDevice.objects.exists()


def test_the_console_is_not_opened_by_a_remembered_sign_in_factor(people):
    """A remembered sign-in seals no factor (services.sign_in without factors)."""
    from django.test import RequestFactory

    from sessions_admin import services

    request = RequestFactory().get("/")
    request.session = SessionStore()
    request.user = people["carol"]
    request.META.update(DESK)
    services.sign_in(request=request, user=people["carol"])
    assert request.session.meta.factors == ""
    assert request.session.meta.factor_at is None
    assert crypto.key_digest(request.session.session_key)
