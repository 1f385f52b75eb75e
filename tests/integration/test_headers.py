"""The HTTP security headers every response carries, through the real middleware stack."""

import pytest
from django.templatetags.static import static

pytestmark = pytest.mark.django_db


def test_private_page_is_never_stored_and_varies_on_cookie(client, make_user, sign_in):
    make_user("alice")
    sign_in(client, secure=True)
    response = client.get("/dashboard/", secure=True)
    assert response.status_code == 200
    cache_control = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"no-store", "no-cache", "private", "max-age=0"} <= cache_control
    assert response["Pragma"] == "no-cache" and response["Expires"] == "0"
    assert "Cookie" in response["Vary"]


def test_session_json_endpoints_are_never_stored(client, make_user, sign_in):
    make_user("alice")
    sign_in(client, secure=True)
    response = client.get("/sessions/status/", HTTP_ACCEPT="application/json", secure=True)
    assert response.status_code == 200 and response.json()["authenticated"] is True
    assert "no-store" in response["Cache-Control"]


def test_content_security_policy_allows_no_inline_code(client):
    policy = client.get("/accounts/login/", secure=True)["Content-Security-Policy"]
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, _, value = part.partition(" ")
        directives[name] = value
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'" and directives["form-action"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_baseline_headers_on_every_page(client):
    response = client.get("/accounts/login/", secure=True)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    permissions = response["Permissions-Policy"]
    assert "camera=()" in permissions and "geolocation=()" in permissions


def test_hsts_only_over_https(client):
    secure = client.get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")


@pytest.mark.parametrize("method", ["TRACE", "TRACK"])
def test_trace_is_refused(client, method):
    response = client.generic(method, "/accounts/login/", secure=True)
    assert response.status_code == 405
    assert "TRACE" not in response["Allow"]


def test_fingerprinted_static_files_are_cached_for_a_year(client):
    url = static("js/session-timeout.js")
    assert url != "/static/js/session-timeout.js", "static files must be fingerprinted"
    response = client.get(url, secure=True)
    assert response.status_code == 200
    cache_control = {d.strip() for d in response["Cache-Control"].split(",")}
    max_age = next(int(d.split("=")[1]) for d in cache_control if d.startswith("max-age="))
    assert max_age >= 365 * 24 * 3600
    assert "immutable" in cache_control and "public" in cache_control
    assert "no-store" not in cache_control
    assert response["X-Content-Type-Options"] == "nosniff"


def test_responses_of_the_session_middleware_are_never_stored(
    client, make_user, sign_in, frozen_clock
):
    make_user("alice")
    sign_in(client, secure=True)
    frozen_clock.advance(24 * 3600)  # past every deadline
    response = client.get("/sessions/status/", HTTP_ACCEPT="application/json", secure=True)
    assert response.status_code == 401 and response.json()["reason"] in ("idle", "absolute")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Frame-Options"] == "DENY"
