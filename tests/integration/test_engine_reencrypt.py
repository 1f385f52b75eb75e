"""manage.py reencrypt_sessions: rotate the encryption key under live sessions."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from sessions_admin import crypto
from sessions_admin.redis_keys import connection, data_key, meta_key

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME
KEY_A, KEY_B, KEY_C = (Fernet.generate_key().decode() for _ in range(3))


def test_reencrypt_moves_live_sessions_to_the_new_key(make_user, sign_in, session_settings):
    make_user("alice")
    make_user("bob")
    session_settings(ENCRYPTION_KEYS=KEY_B)
    alice = Client()
    sign_in(alice, "alice")
    h = crypto.key_digest(alice.cookies[COOKIE].value)
    session_settings(ENCRYPTION_KEYS=KEY_C)
    bob = Client()
    sign_in(bob, "bob")  # under a key that is about to be lost
    bob_h = crypto.key_digest(bob.cookies[COOKIE].value)
    before = connection().pttl(data_key(h))

    session_settings(ENCRYPTION_KEYS=f"{KEY_A},{KEY_B}")
    out = StringIO()
    call_command("reencrypt_sessions", stdout=out)
    # Per user: the signed-in session and its pre-login tombstone (still in its grace window).
    assert out.getvalue().startswith("2 re-encrypted; 2 ended (unreadable);")
    assert before - 5000 < connection().pttl(data_key(h)) <= before

    session_settings(ENCRYPTION_KEYS=KEY_A)  # B retired
    assert alice.get("/dashboard/").status_code == 200
    assert bob.get("/dashboard/").status_code == 302
    assert connection().hget(meta_key(bob_h), "end_reason") == b"expired"


def test_reencrypt_without_sessions_reports_zero(db):
    out = StringIO()
    call_command("reencrypt_sessions", stdout=out)
    assert out.getvalue().startswith("0 re-encrypted")


def test_a_retired_key_refuses_a_payload_it_opened_before(make_user, sign_in, session_settings):
    """crypto.open_sealed remembers what a keyring opened: a ring without the key (retired,
    nothing re-encrypted) must not remember it."""
    make_user("alice")
    session_settings(ENCRYPTION_KEYS=KEY_A)
    alice = Client()
    sign_in(alice)
    assert alice.get("/dashboard/").status_code == 200  # opened under A, in this process
    session_settings(ENCRYPTION_KEYS=KEY_B)  # A retired
    response = alice.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
