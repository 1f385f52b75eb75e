"""The engine alone, in tests.minimal.settings: sign-ins through Django's admin and LoginView.

Not collected by the main run (one process, one settings module): run by
tests/integration/test_engine_alone.py as
``pytest tests/minimal/scenario.py --ds=tests.minimal.settings --confcutdir=tests/minimal``.
"""

import sys

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import resolve

from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection

PASSWORD = "a minimal project's password"
COOKIE = settings.SESSION_COOKIE_NAME
LAPTOP = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
    ),
    "REMOTE_ADDR": "192.0.2.44",
}
PHONE = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
    "REMOTE_ADDR": "198.51.100.7",
}


@pytest.fixture(autouse=True)
def own_redis_keys():
    yield
    prefix = settings.SESSIONS_ADMIN["REDIS_KEY_PREFIX"]
    keys = list(connection().scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        connection().delete(*keys)


@pytest.fixture
def carol(db):
    """Staff, so that she may use the admin's login too."""
    return User.objects.create_user("carol", password=PASSWORD, is_staff=True)


def via_admin(client, username="carol"):
    client.get("/admin/login/")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": PASSWORD, "next": "/admin/"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/", response
    assert client.get("/admin/").status_code == 200
    return client


def via_login_view(client, username="carol"):
    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/sessions/", response
    return client


SIGN_INS = pytest.mark.parametrize("sign_in", [via_admin, via_login_view], ids=["admin", "view"])


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[COOKIE].value)


def handle_of(client) -> str:
    return crypto.handle_for(digest_of(client))


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


def test_this_project_has_no_accounts_app_and_no_project_package():
    resolve("/sessions/")  # the URLconf, and with it every view module, is imported
    assert settings.AUTH_USER_MODEL == "auth.User"
    assert not apps.is_installed("accounts")
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("accounts", "project"))
    assert loaded == []
    call_command("check", fail_level="ERROR")  # the engine's system checks run here too


@SIGN_INS
def test_the_session_is_listed_with_its_sign_in_facts(carol, sign_in):
    desk = sign_in(Client(**LAPTOP))
    phone = via_login_view(Client(**PHONE))
    page = desk.get("/sessions/")
    assert page.status_code == 200
    assert sorted(card.device for card in page.context["cards"]) == [
        "Firefox 128 on Windows",
        "Safari 17 on iPhone",
    ]
    assert [card.current for card in page.context["cards"] if card.device.startswith("Fire")] == [
        True
    ]
    for client, profile in ((desk, LAPTOP), (phone, PHONE)):
        meta = registry.meta_of(digest_of(client))
        assert meta.uid == str(carol.pk)
        assert meta.ua == profile["HTTP_USER_AGENT"] and meta.ip == profile["REMOTE_ADDR"]
        assert meta.auth_at is not None
    assert SecurityEvent.objects.filter(name="login", user=carol).count() == 2


@SIGN_INS
def test_the_session_is_bound_to_its_user_agent(carol, sign_in):
    desk = sign_in(Client(**LAPTOP))
    thief = Client(**PHONE)
    thief.cookies[COOKIE] = desk.cookies[COOKIE].value
    assert sent_to_sign_in(thief.get("/sessions/"))
    assert sent_to_sign_in(desk.get("/sessions/")), "a mismatch ends the session (terminate)"
    assert SecurityEvent.objects.filter(name="binding_mismatch", user=carol).exists()


@SIGN_INS
def test_the_session_counts_as_recently_authenticated_and_can_be_ended_remotely(carol, sign_in):
    """It ends another session without a password, and another session can end it."""
    desk = sign_in(Client(**LAPTOP))
    phone = via_login_view(Client(**PHONE))

    ended = desk.post(f"/sessions/{handle_of(phone)}/end/", {"next": "/sessions/"})
    assert ended.status_code == 302 and ended["Location"] == "/sessions/"
    assert sent_to_sign_in(phone.get("/sessions/"))

    phone = via_login_view(Client(**PHONE))
    ended = phone.post(f"/sessions/{handle_of(desk)}/end/", {"next": "/sessions/"})
    assert ended.status_code == 302 and ended["Location"] == "/sessions/"
    assert sent_to_sign_in(desk.get("/sessions/"))
    assert SecurityEvent.objects.filter(name="session_ended_by_user", user=carol).count() == 2


@SIGN_INS
def test_signing_in_again_renews_the_key(carol, sign_in):
    """Django's login() keeps the key for the same user; the engine's receiver renews it."""
    desk = sign_in(Client(**LAPTOP))
    before = desk.cookies[COOKIE].value
    sign_in(desk)
    assert desk.cookies[COOKIE].value != before
    assert [i.digest for i in registry.list_sessions(carol.pk)] == [digest_of(desk)]
