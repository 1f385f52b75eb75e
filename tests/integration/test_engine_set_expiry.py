"""``request.session.set_expiry()`` from an application view, honoured as a cap (policy.app_cap):
it can end a session sooner than the idle and absolute timeouts, never later. Frozen clock."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.urls import include, path

from sessions_admin import clock, crypto, registry
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection, data_key, meta_key

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME
IDLE = 900


def app_view(request):
    """An application's view that shortens (or tries to lengthen) the session."""
    if "until" in request.GET:
        request.session.set_expiry(datetime.fromtimestamp(float(request.GET["until"]), tz=UTC))
    else:
        request.session.set_expiry(int(request.GET["seconds"]))
    return HttpResponse("ok")


urlpatterns = [path("app/expiry/", app_view), path("", include("project.urls"))]


@pytest.fixture
def app(settings, session_settings, frozen_clock, make_user):
    settings.ROOT_URLCONF = __name__
    session_settings(IDLE_TIMEOUT=IDLE, ABSOLUTE_TIMEOUT=28800, ACTIVITY_RESOLUTION=15)
    make_user("alice")
    return frozen_clock


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[COOKIE].value)


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def test_set_expiry_60_signs_out_after_60_seconds_of_inactivity(client, sign_in, app):
    sign_in(client)
    response = client.get("/app/expiry/?seconds=60")
    assert response.status_code == 200
    h = digest_of(client)
    # The TTL follows the cap, and the hash holds a copy of it for listing.
    assert 0 < connection().pttl(data_key(h)) <= 61_000
    assert connection().hget(meta_key(h), "app_idle") == b"60.0"
    app.advance(60)
    assert signed_in(client)  # inclusive on the valid side, as the idle timeout
    app.advance(61)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith(settings.LOGIN_URL)
    assert not connection().exists(data_key(h))
    # The policy's "after 15 minutes of inactivity" would be false: the reason is "expired".
    assert connection().hget(meta_key(h), "end_reason") == b"expired"
    assert SecurityEvent.objects.filter(name="session_expired_idle").count() == 1
    told = client.get(response["Location"]).content.decode()
    assert "Your session has expired" in told and "inactivity" not in told


def test_set_expiry_60_is_of_inactivity_so_activity_keeps_the_session(client, sign_in, app):
    sign_in(client)
    client.get("/app/expiry/?seconds=60")
    for _ in range(4):  # 200 s in all, never 60 s idle
        app.advance(50)
        assert signed_in(client)
    app.advance(61)
    assert not signed_in(client)


def test_set_expiry_cannot_lengthen_the_idle_timeout(client, sign_in, app):
    sign_in(client)
    client.get(f"/app/expiry/?seconds={10**6}")
    h = digest_of(client)
    assert connection().pttl(data_key(h)) <= (IDLE + 1) * 1000
    [info] = registry.list_sessions(registry.meta_of(h).uid)
    assert info.expires_at == info.meta.last_seen + IDLE
    app.advance(IDLE)
    assert signed_in(client)
    app.advance(IDLE + 1)
    assert not signed_in(client)


def test_set_expiry_cannot_lengthen_the_absolute_timeout(client, sign_in, app, session_settings):
    session_settings(ABSOLUTE_TIMEOUT=1800)
    sign_in(client)
    client.get(f"/app/expiry/?seconds={10**6}")
    for _ in range(3):  # 1800 s of steady activity
        app.advance(600)
        assert signed_in(client)
    app.advance(1)
    assert not signed_in(client)


def test_a_date_is_a_fixed_deadline_whatever_the_activity(client, sign_in, app):
    app.freeze(float(int(clock.now())))  # a whole second: the date keeps microseconds only
    sign_in(client)
    client.get(f"/app/expiry/?until={clock.now() + 120}")
    app.advance(100)
    assert signed_in(client)
    app.advance(20)
    assert signed_in(client)  # exactly at the deadline: still valid
    app.advance(1)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert SecurityEvent.objects.filter(name="session_expired_absolute").count() == 1


def test_set_expiry_0_or_none_removes_the_cap(client, sign_in, app):
    sign_in(client)
    client.get("/app/expiry/?seconds=60")
    client.get("/app/expiry/?seconds=0")  # Django's "at browser close": no cap here
    h = digest_of(client)
    assert connection().hget(meta_key(h), "app_idle") is None  # a removed cap is a deleted field
    app.advance(IDLE)
    assert signed_in(client)


def test_the_cookie_stays_a_browser_session_cookie(client, sign_in, app):
    sign_in(client)
    response = client.get("/app/expiry/?seconds=60")
    cookie = response.cookies[COOKIE]
    assert cookie["max-age"] == "" and cookie["expires"] == ""


# --- the store itself --------------------------------------------------------------------------
def test_the_sealed_cap_is_believed_not_the_hash_copy(app):
    """Someone who can write to Redis cannot lift an application's cap by editing the hash."""
    from sessions_admin.store import SessionStore

    session = SessionStore()
    session["x"] = 1
    session.set_expiry(60)
    session.save()
    h = crypto.key_digest(session.session_key)
    connection().hset(meta_key(h), "app_idle", "")
    app.advance(61)
    reloaded = SessionStore(session.session_key)
    assert reloaded.load() == {}
    assert reloaded.meta.app_idle == 60


def test_expiry_age_and_date_report_the_cap_as_honoured(app):
    from sessions_admin.store import SessionStore

    session = SessionStore()
    session["x"] = 1
    session.save()
    loaded = SessionStore(session.session_key)
    loaded.load()
    loaded.set_expiry(60)
    assert loaded.get_expiry_age() == 60
    loaded.set_expiry(10**6)  # not lengthened: a pre-login session lives at most 600 s
    assert loaded.get_expiry_age() == 600
    assert loaded.get_expiry_date().timestamp() == pytest.approx(clock.now() + 600)
    session.delete()
