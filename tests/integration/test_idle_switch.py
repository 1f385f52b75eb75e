"""The idle timeout's "without this control" switch (issue 14), with real Redis: switched off
for a learner's sandbox, a copied key outlives the idle timeout (the attack succeeds); back on,
the same replay is refused. A production configuration (no CONTROL_SWITCH) never marks a
session, whatever the lab has stored."""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model

from lab import state
from sessions_admin import switches
from sessions_admin.crypto import key_digest
from sessions_admin.redis_keys import connection, meta_key
from tests.integration.test_lab import _lab_settings, browser, sign_in_as, start_sandbox

pytestmark = pytest.mark.django_db

COOKIE = django_settings.SESSION_COOKIE_NAME
IDLE = 120


@pytest.fixture
def lab_idle(settings, redis_prefix, session_settings):
    """Demo mode with private sandboxes, as project/settings.py makes it (the lab's switch)."""
    _lab_settings(settings, sandboxes=True)
    session_settings(IDLE_TIMEOUT=IDLE, ABSOLUTE_TIMEOUT=900, ACTIVITY_RESOLUTION=5)
    return settings


def victim_of_a_sandbox():
    """A learner's sandbox with its first member signed in; (scope, victim client, key)."""
    victim = browser()
    members, password = start_sandbox(victim)
    sign_in_as(victim, members[0], password)
    scope = state.scope_of_user(get_user_model().objects.get(username=members[0]))
    return scope, victim


def replay(key):
    thief = browser()
    thief.cookies[COOKIE] = key
    return thief.get("/dashboard/")


def marked(key) -> bool:
    return connection().hget(meta_key(key_digest(key)), "idle_client_only") == b"1"


def test_switched_off_the_idle_key_replays_and_back_on_it_is_refused(lab_idle, frozen_clock):
    scope, victim = victim_of_a_sandbox()
    state.set_control(scope, switches.SERVER_IDLE_TIMEOUT, on=False)
    assert victim.get("/dashboard/").status_code == 200  # the victim's next page: marked
    key = victim.cookies[COOKIE].value
    assert marked(key)
    frozen_clock.advance(IDLE + 30)  # the victim's tab is closed; nobody uses the session
    response = replay(key)
    assert response.status_code == 200, "without the control, the idle key still works"

    # back on: the lab unmarks the live sessions at once; a fresh sign-in left idle is refused
    victim.get("/lab/")
    token = victim.get("/lab/").content.decode().split('data-lab-token="')[1].split('"')[0]
    assert (
        victim.post(
            "/lab/switch/", {"t": token, "control": switches.SERVER_IDLE_TIMEOUT, "on": "1"}
        ).status_code
        == 302
    )
    assert not marked(key)
    victim.get("/dashboard/")
    key = victim.cookies[COOKIE].value
    assert not marked(key)
    frozen_clock.advance(IDLE + 30)
    response = replay(key)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_production_configuration_never_marks_a_session(lab_idle, frozen_clock, settings):
    scope, victim = victim_of_a_sandbox()
    state.set_control(scope, switches.SERVER_IDLE_TIMEOUT, on=False)  # stored, but unreachable
    settings.SESSIONS_ADMIN = {
        k: v for k, v in settings.SESSIONS_ADMIN.items() if k != "CONTROL_SWITCH"
    }
    assert switches.configured() is None
    assert victim.get("/dashboard/").status_code == 200
    key = victim.cookies[COOKIE].value
    assert not marked(key)
    frozen_clock.advance(IDLE + 30)
    response = replay(key)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
