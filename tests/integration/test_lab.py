"""/lab/ (issue 14): the exercises' contract, solved detected from the server's own events,
the "without this control" switches (one sandbox only), and that no production configuration
can reach any of it (every URL a 404, ``control_on`` always True, check --deploy refuses it).

Real Redis, the Django test client as the victim's and the attacker's browsers.
"""

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from lab import checks
from lab.exercises import EXERCISES
from sessions_admin import switches
from sessions_admin.models import SecurityEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
COOKIE = django_settings.SESSION_COOKIE_NAME
SLUGS = [
    "fixation",
    "replay-after-logout",
    "remote-end",
    "idle-timeout",
    "rotation-tripwire",
    "ua-binding",
    "brute-force",
    "back-button",
    "csrf",
    "guessing",
]
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0"
OTHER_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Gecko/20100101 Firefox/140.0"
USERNAME = re.compile(r'data-demo-username="([^"]+)" data-demo-role="(member|staff)"')
DEMO_PASSWORD = re.compile(r'data-demo-password="([^"]+)"')
EXERCISE = re.compile(r'data-exercise="([a-z-]+)" data-state="(open|solved)"')


def _lab_settings(settings, *, sandboxes: bool):
    settings.DEMO_MODE = True
    settings.DEMO = {**settings.DEMO, "SANDBOXES": sandboxes}
    middleware = list(settings.MIDDLEWARE)
    if "lab.detect.LabMiddleware" not in middleware:
        middleware.insert(
            middleware.index("sessions_admin.middleware.SessionPolicyMiddleware"),
            "lab.detect.LabMiddleware",
        )
    settings.MIDDLEWARE = middleware
    templates = copy.deepcopy(settings.TEMPLATES)
    processors = templates[0]["OPTIONS"]["context_processors"]
    if "lab.context_processors.lab" not in processors:
        processors.append("lab.context_processors.lab")
    settings.TEMPLATES = templates
    settings.SESSIONS_ADMIN = {
        **settings.SESSIONS_ADMIN,
        "CONTROL_SWITCH": "lab.switches.control_on",
        "GUESS_LIMIT": 10,
    }
    return settings


@pytest.fixture
def lab(settings, redis_prefix):
    """Demo mode as project/settings.py makes it, shared demo users (no sandboxes)."""
    return _lab_settings(settings, sandboxes=False)


@pytest.fixture
def lab_sandboxes(settings, redis_prefix):
    return _lab_settings(settings, sandboxes=True)


def browser(ua=UA, ip="127.0.0.1") -> Client:
    return Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=ua)


def sign_in_as(client, username, password="correct horse battery staple"):  # noqa: S107
    client.get("/accounts/login/")
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, (username, response.status_code)
    return client


def states(client, path="/lab/") -> dict[str, str]:
    return dict(EXERCISE.findall(client.get(path).content.decode()))


def polled(token: str = "", ip="127.0.0.1") -> dict[str, str]:
    response = Client(REMOTE_ADDR=ip).get("/lab/state/", {"t": token} if token else {})
    assert response.status_code == 200
    assert COOKIE not in response.cookies  # the poll never creates or touches a session
    return {slug: e["state"] for slug, e in response.json()["exercises"].items()}


def key_of(client) -> str:
    return client.cookies[COOKIE].value


def start_sandbox(client) -> tuple[list[str], str]:
    assert client.post("/demo/").status_code == 302
    html = client.get("/demo/").content.decode()
    members = [u for u, role in USERNAME.findall(html) if role == "member"]
    return members, DEMO_PASSWORD.search(html).group(1)


def token_of(client) -> str:
    html = client.get("/lab/").content.decode()
    return re.search(r'data-lab-token="([^"]*)"', html).group(1)


# --- contract --------------------------------------------------------------------------------
def test_every_exercise_is_listed_open_with_its_explanation(lab, make_user):
    make_user("alice")
    client = browser()
    response = client.get("/lab/")
    assert response.status_code == 200
    found = states(client)
    assert list(found) == SLUGS
    assert set(found.values()) == {"open"}
    html = response.content.decode()
    for exercise in EXERCISES:
        assert exercise.code[0] in html
        assert exercise.guidance[0].split("“")[0].strip() in html
    # the key panel shows this window's own key (a teaching aid, in lab mode only)
    assert f'value="{key_of(client)}"' in client.get("/lab/").content.decode()
    assert "only in lab mode" in html
    # the header links to the lab in demo mode, marked as the current page here
    assert '<a href="/lab/" aria-current="page">Lab</a>' in html
    assert 'aria-current="page">Lab' not in client.get("/accounts/login/").content.decode()


def test_a_production_configuration_cannot_reach_the_lab_or_its_switch(client, settings):
    settings.DEMO_MODE = False
    assert 'href="/lab/"' not in client.get("/accounts/login/").content.decode()
    for path in ("/lab/", "/lab/state/", "/lab/csrf-attack.html", "/lab/beacon/"):
        assert client.get(path).status_code == 404, path
    for path in ("/lab/reset/", "/lab/switch/"):
        assert client.post(path, {"control": "rotate_at_sign_in", "on": "0"}).status_code == 404
    # settings as production loads them: no switch, no lab middleware, no lab context
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTEST"))},
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEMO_MODE": "0",
        "SECRET_KEY": "x" * 50,
    }
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "from sessions_admin import switches; "
        "print(json.dumps([s.SESSIONS_ADMIN.get('CONTROL_SWITCH'), "
        "'lab.detect.LabMiddleware' in s.MIDDLEWARE, switches.configured(), "
        "switches.control_on(object(), 'rotate_at_sign_in')]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [None, False, None, True]


def test_control_on_is_true_without_a_configured_switch_whatever_the_lab_stored(
    lab_sandboxes, make_user, rf
):
    from lab import state

    state.set_control("1", "rotate_at_sign_in", on=False)
    lab_sandboxes.SESSIONS_ADMIN = {
        k: v for k, v in lab_sandboxes.SESSIONS_ADMIN.items() if k != "CONTROL_SWITCH"
    }
    request = rf.get("/")
    request.user = make_user("alice")
    assert switches.control_on(request, "rotate_at_sign_in") is True


def test_a_broken_switch_leaves_the_control_on(settings, rf):
    settings.SESSIONS_ADMIN = {**settings.SESSIONS_ADMIN, "CONTROL_SWITCH": "no.such.function"}
    assert switches.control_on(rf.get("/"), "server_side_logout") is True


def test_check_deploy_refuses_lab_mode_and_any_control_switch(settings):
    settings.DEMO_MODE = False
    settings.SESSIONS_ADMIN = {
        k: v for k, v in settings.SESSIONS_ADMIN.items() if k != "CONTROL_SWITCH"
    }
    assert checks.check_lab_not_deployed(None) == []
    settings.DEMO_MODE = True
    assert [e.id for e in checks.check_lab_not_deployed(None)] == ["lab.E001"]
    settings.DEMO_MODE = False
    settings.SESSIONS_ADMIN = {**settings.SESSIONS_ADMIN, "CONTROL_SWITCH": "lab.switches.x"}
    assert [e.id for e in checks.check_lab_not_deployed(None)] == ["lab.E002"]


# --- solved, from the server's events ---------------------------------------------------------
def test_replay_after_logout_is_solved_when_the_dead_key_is_refused(lab, make_user):
    make_user("alice")
    victim = browser()
    victim.get("/lab/")
    assert polled()["replay-after-logout"] == "open"
    sign_in_as(victim, "alice")
    # the lab page watches from outside: no idle countdown there (it would sign the tab out)
    page = victim.get("/lab/").content.decode()
    assert "data-session-timeout" not in page and "Signed in as" in page
    assert "data-session-timeout" in victim.get("/dashboard/").content.decode()
    stolen = key_of(victim)
    victim.post("/accounts/logout/")
    attacker = browser()
    attacker.cookies[COOKIE] = stolen
    response = attacker.get("/dashboard/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert polled()["replay-after-logout"] == "solved"
    assert states(victim)["replay-after-logout"] == "solved"


def test_fixation_is_solved_when_the_planted_key_stays_signed_out(lab, make_user):
    make_user("alice")
    attacker = browser()
    attacker.get("/lab/")
    planted = key_of(attacker)
    victim = browser()
    victim.cookies[COOKIE] = planted
    sign_in_as(victim, "alice")
    assert key_of(victim) != planted
    response = attacker.get("/dashboard/")
    assert response.status_code == 302
    assert polled()["fixation"] == "solved"


def test_ua_binding_and_guessing_and_csrf_are_solved(lab, make_user):
    make_user("alice")
    victim = browser()
    victim.get("/lab/")
    sign_in_as(victim, "alice")
    thief = browser(ua=OTHER_UA)
    thief.cookies[COOKIE] = key_of(victim)
    thief.get("/dashboard/")
    guesser = browser()
    for i in range(12):
        guesser.cookies[COOKIE] = f"{i:02d}" + "q" * 30
        guesser.get("/")
    forger = Client(REMOTE_ADDR="127.0.0.1", HTTP_SEC_FETCH_SITE="cross-site")
    assert forger.post("/sessions/end-others/").status_code == 403
    found = polled()
    assert found["ua-binding"] == "solved"
    assert found["guessing"] == "solved"
    assert found["csrf"] == "solved"


def test_reset_starts_the_lab_again(lab, make_user):
    make_user("alice")
    victim = browser()
    victim.get("/lab/")
    sign_in_as(victim, "alice")
    thief = browser(ua=OTHER_UA)
    thief.cookies[COOKIE] = key_of(victim)
    thief.get("/dashboard/")
    assert polled()["ua-binding"] == "solved"
    learner = browser()
    learner.get("/lab/")
    assert learner.post("/lab/reset/").status_code == 302
    assert polled()["ua-binding"] == "open"


def test_the_back_button_beacon_counts_only_after_the_session_ended(lab, make_user):
    make_user("alice")
    victim = browser()
    victim.get("/lab/")
    sign_in_as(victim, "alice")
    html = victim.get("/dashboard/").content.decode()
    token = re.search(r'data-lab-beacon-token="([^"]+)"', html).group(1)
    beacon = Client(REMOTE_ADDR="127.0.0.1")
    note = {"token": token, "path": "/dashboard/"}
    assert beacon.get("/lab/beacon/", note).json() == {"recorded": False}
    victim.post("/accounts/logout/")
    response = beacon.get("/lab/beacon/", note)
    assert response.json() == {"recorded": True}
    assert COOKIE not in response.cookies
    assert polled()["back-button"] == "solved"
    assert beacon.get("/lab/beacon/", {"token": token + "x"}).status_code == 400


def test_remote_end_is_solved_when_the_ended_device_comes_back(lab, make_user):
    make_user("alice")
    laptop = browser()
    laptop.get("/lab/")
    sign_in_as(laptop, "alice")
    phone = sign_in_as(browser(), "alice")
    assert laptop.post("/sessions/end-others/").status_code in (302, 303)
    assert phone.get("/dashboard/").status_code == 302
    assert polled()["remote-end"] == "solved"


# --- without this control (private sandboxes only) --------------------------------------------
def test_fixation_succeeds_with_rotation_off_for_this_sandbox_only_then_fails_again(
    lab_sandboxes,
):
    learner = browser()
    (alice, bob), password = start_sandbox(learner)
    token = token_of(learner)
    learner.post("/lab/switch/", {"t": token, "control": "rotate_at_sign_in", "on": "0"})

    attacker = browser()
    attacker.get("/lab/")
    planted = key_of(attacker)
    victim = browser()
    victim.cookies[COOKIE] = planted
    sign_in_as(victim, alice, password)
    assert key_of(victim) == planted  # no rotation
    page = attacker.get("/dashboard/")
    assert page.status_code == 200 and alice in page.content.decode()
    assert polled(token)["fixation"] == "open"

    # another sandbox is untouched: its sign-ins rotate
    other = browser(ip="10.1.1.1")
    (carl, _), other_password = start_sandbox(other)
    planted_elsewhere = key_of(other)
    sign_in_as(other, carl, other_password)
    assert key_of(other) != planted_elsewhere

    learner.post("/lab/switch/", {"t": token, "control": "rotate_at_sign_in", "on": "1"})
    attacker2 = browser()
    attacker2.get("/lab/")
    planted = key_of(attacker2)
    victim2 = browser()
    victim2.cookies[COOKIE] = planted
    sign_in_as(victim2, bob, password)
    assert key_of(victim2) != planted
    assert attacker2.get("/dashboard/").status_code == 302
    assert polled(token)["fixation"] == "solved"


def test_replay_succeeds_with_a_client_only_sign_out_then_fails_again(lab_sandboxes):
    learner = browser()
    (alice, _), password = start_sandbox(learner)
    token = token_of(learner)
    learner.post("/lab/switch/", {"t": token, "control": "server_side_logout", "on": "0"})
    victim = sign_in_as(browser(), alice, password)
    stolen = key_of(victim)
    victim.post("/accounts/logout/")
    assert victim.get("/dashboard/").status_code == 302  # the victim's browser is signed out
    attacker = browser()
    attacker.cookies[COOKIE] = stolen
    assert attacker.get("/dashboard/").status_code == 200  # ...the server never ended it

    learner.post("/lab/switch/", {"t": token, "control": "server_side_logout", "on": "1"})
    victim = sign_in_as(browser(), alice, password)
    stolen = key_of(victim)
    victim.post("/accounts/logout/")
    attacker = browser()
    attacker.cookies[COOKIE] = stolen
    assert attacker.get("/dashboard/").status_code == 302
    assert polled(token)["replay-after-logout"] == "solved"
    assert SecurityEvent.objects.filter(name="logout").count() == 2


def test_switches_need_a_private_sandbox(lab):
    learner = browser()
    learner.get("/lab/")
    response = learner.post("/lab/switch/", {"control": "rotate_at_sign_in", "on": "0"})
    assert response.status_code == 404
