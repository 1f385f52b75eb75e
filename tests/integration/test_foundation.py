import pytest
from django.conf import settings

from sessions_admin.redis_keys import connection

pytestmark = pytest.mark.django_db


def test_healthz_reports_both_stores(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"redis": "ok", "database": "ok", "status": "ok"}


def test_sign_in_reaches_dashboard_and_sign_out_ends_it(client, make_user, sign_in):
    make_user("alice")
    response = sign_in(client)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    page = client.get("/dashboard/")
    assert b"balance" in page.content and b"Sign out" in page.content
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert client.get("/dashboard/").status_code == 302


def test_logout_by_get_is_refused(client, make_user, sign_in):
    make_user("alice")
    sign_in(client)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/dashboard/").status_code == 200


def test_private_pages_are_never_stored(client, make_user, sign_in):
    make_user("alice")
    sign_in(client)
    response = client.get("/dashboard/")
    assert "no-store" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache" and response["Expires"] == "0"
    assert "Cookie" in response["Vary"]


def test_session_cookie_attributes(client, make_user, sign_in):
    make_user("alice")
    response = sign_in(client)
    morsel = response.cookies[settings.SESSION_COOKIE_NAME]
    assert settings.SESSION_COOKIE_NAME == "__Host-id"
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Lax"
    assert morsel["path"] == "/" and not morsel["domain"]
    assert not morsel["expires"] and not morsel["max-age"]
    assert "csrftoken" not in response.cookies


def test_tests_use_their_own_key_prefix(client, make_user, sign_in, redis_prefix):
    make_user("alice")
    sign_in(client)
    keys = [k.decode() for k in connection().scan_iter(match=f"{redis_prefix}*")]
    assert keys and all(k.startswith(redis_prefix) for k in keys)
