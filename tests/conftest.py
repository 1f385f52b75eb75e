import uuid

import pytest
from django.conf import settings as django_settings

from sessions_admin import clock
from sessions_admin.redis_keys import connection

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def redis_prefix(settings):
    """Each test gets its own key prefix on the real Redis, and deletes only its own keys."""
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    settings.SESSIONS_ADMIN = {**django_settings.SESSIONS_ADMIN, "REDIS_KEY_PREFIX": prefix}
    yield prefix
    conn = connection()
    keys = list(conn.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        conn.delete(*keys)


@pytest.fixture
def session_settings(settings):
    """Override SESSIONS_ADMIN values for one test: session_settings(IDLE_TIMEOUT=60)."""

    def apply(**values):
        settings.SESSIONS_ADMIN = {**settings.SESSIONS_ADMIN, **values}

    return apply


@pytest.fixture
def frozen_clock():
    """Freeze sessions_admin.clock at the current time; ``frozen_clock.advance(s)`` moves it."""
    clock.freeze()
    yield clock
    clock.reset()


@pytest.fixture
def make_user(db):
    from accounts.models import User

    def make(username="alice", *, password=PASSWORD, staff=False, **fields):
        user = User.objects.create(username=username, is_staff=staff, **fields)
        user.set_password(password)
        user.save()
        return user

    return make


@pytest.fixture
def sign_in():
    """Sign a test client in through the real login form; returns the response."""

    def do(client, username="alice", password=PASSWORD, **extra):
        client.get("/accounts/login/", **extra)
        return client.post(
            "/accounts/login/", {"username": username, "password": password}, **extra
        )

    return do


@pytest.fixture(scope="session", autouse=True)
def collected_static():
    """Templates use the fingerprinted (manifest) static names, so collect once per run."""
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)
