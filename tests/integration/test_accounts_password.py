"""Password change: this session is rotated and stays; every other one ends at once, counted."""

import pytest
from django.conf import settings
from django.test import Client

from sessions_admin import crypto, registry
from sessions_admin.models import SecurityEvent
from sessions_admin.policy import END_REASONS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW = "a brand new passphrase, 2026"
LAPTOP = {"REMOTE_ADDR": "203.0.113.5", "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)"}
PHONE = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Mozilla/5.0 (iPhone)"}
TABLET = {"REMOTE_ADDR": "192.0.2.44", "HTTP_USER_AGENT": "Mozilla/5.0 (iPad)"}


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[settings.SESSION_COOKIE_NAME].value)


@pytest.fixture
def alice(make_user, session_settings):
    session_settings(MAX_PER_USER=10)
    return make_user("alice")


@pytest.fixture
def device(sign_in):
    def make(profile, username="alice"):
        client = Client(**profile)
        assert sign_in(client, username).status_code == 302
        return client

    return make


def change(client, old=PASSWORD, new=NEW):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
        follow=True,
    )


def test_password_change_ends_every_other_session_and_says_how_many(alice, device):
    laptop, phone, tablet = device(LAPTOP), device(PHONE), device(TABLET)
    before = digest_of(laptop)

    response = change(laptop)
    assert "Password changed. 2 other sessions were signed out." in response.content.decode()
    assert digest_of(laptop) != before, "the current session key must be rotated"
    assert laptop.get("/dashboard/").status_code == 200
    assert {i.digest for i in registry.list_sessions(alice.pk)} == {digest_of(laptop)}
    for other in (phone, tablet):
        gone = other.get("/dashboard/")
        assert gone.status_code == 302 and gone["Location"].startswith("/accounts/login/")
        assert END_REASONS["password_changed"] in other.get(gone["Location"]).content.decode()
    event = SecurityEvent.objects.get(name="password_changed")
    assert event.user == alice and event.detail["sessions_ended"] == 2
    alice.refresh_from_db()
    assert alice.check_password(NEW)


def test_one_other_session_is_counted_in_the_singular(alice, device):
    laptop, _phone = device(LAPTOP), device(PHONE)
    assert "1 other session was signed out." in change(laptop).content.decode()


def test_other_users_sessions_are_untouched(alice, make_user, device):
    make_user("bob")
    bob = device(PHONE, "bob")
    change(device(LAPTOP))
    assert bob.get("/dashboard/").status_code == 200


def test_wrong_current_password_changes_and_ends_nothing(alice, device):
    laptop, phone = device(LAPTOP), device(PHONE)
    response = change(laptop, old="not my password")
    assert response.status_code == 200
    assert 'name="old_password"' in response.content.decode()
    assert phone.get("/dashboard/").status_code == 200
    assert not SecurityEvent.objects.filter(name="password_changed").exists()
    failed = SecurityEvent.objects.get(name="login_failed")
    assert failed.detail["purpose"] == "password_change"
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_password_page_uses_djangos_field_names_and_needs_sign_in(alice, device):
    page = device(LAPTOP).get("/accounts/password/").content.decode()
    for name in ("old_password", "new_password1", "new_password2"):
        assert f'name="{name}"' in page
    assert Client().get("/accounts/password/")["Location"].startswith("/accounts/login/")


def test_logout_is_post_only_and_clears_site_data(alice, device):
    laptop = device(LAPTOP)
    assert laptop.get("/accounts/logout/").status_code == 405
    response = laptop.post("/accounts/logout/")
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert laptop.get("/dashboard/").status_code == 302
