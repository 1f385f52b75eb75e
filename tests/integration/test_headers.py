"""The HTTP security headers every response carries, through the real middleware stack."""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
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


def test_item15_permissions_policy_has_no_obsolete_interest_cohort(client):
    # FLoC is gone; Chromium logs an "unrecognized feature" error for every page that names it.
    assert (
        "interest-cohort" not in client.get("/accounts/login/", secure=True)["Permissions-Policy"]
    )


def test_item15_cross_origin_resource_policy_on_pages_and_static_files(client):
    assert client.get("/accounts/login/", secure=True)["Cross-Origin-Resource-Policy"] == (
        "same-origin"
    )
    static_file = client.get(static("js/session-timeout.js"), secure=True)
    assert static_file.status_code == 200
    assert static_file["Cross-Origin-Resource-Policy"] == "same-origin"
    trace = client.generic("TRACE", "/accounts/login/", secure=True)
    assert trace["Cross-Origin-Resource-Policy"] == "same-origin"


def test_hsts_only_over_https(client):
    secure = client.get("/accounts/login/", secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")


def test_item15_hsts_includes_subdomains(client):
    hsts = client.get("/accounts/login/", secure=True)["Strict-Transport-Security"]
    assert "includeSubDomains" in [d.strip() for d in hsts.split(";")]


@pytest.mark.parametrize(("value", "expected"), [(None, "True"), ("0", "False"), ("1", "True")])
def test_item15_hsts_include_subdomains_is_configurable(value, expected):
    env = {k: v for k, v in os.environ.items() if k != "SECURE_HSTS_INCLUDE_SUBDOMAINS"}
    env["DJANGO_SETTINGS_MODULE"] = "project.settings"
    if value is not None:
        env["SECURE_HSTS_INCLUDE_SUBDOMAINS"] = value
    code = "from django.conf import settings; print(settings.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected


def _directives(policy: str) -> dict[str, str]:
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, _, value = part.partition(" ")
        directives[name] = value
    return directives


def test_item15_csp_reports_violations_to_our_endpoint(client):
    policy = client.get("/accounts/login/", secure=True)["Content-Security-Policy"]
    assert _directives(policy)["report-uri"] == "/csp-report/"


# --- Fetch Metadata resource isolation (web.dev, "Protect your resources from web attacks with
# Fetch Metadata"): cross-site requests other than top-level navigations never reach a view.
def _fetch(site, mode, dest):
    return {"HTTP_SEC_FETCH_SITE": site, "HTTP_SEC_FETCH_MODE": mode, "HTTP_SEC_FETCH_DEST": dest}


@pytest.mark.parametrize(
    ("method", "path", "mode", "dest"),
    [
        ("GET", "/sessions/status/", "cors", "empty"),  # a cross-site fetch() of private JSON
        ("GET", "/dashboard/", "no-cors", "image"),  # <img src> probing for a signed-in user
        ("GET", "/dashboard/", "navigate", "iframe"),  # framed by another site
        ("GET", "/dashboard/", "no-cors", "script"),  # <script src>: XSSI
    ],
)
def test_item15_cross_site_subresource_requests_are_refused(
    client, make_user, sign_in, method, path, mode, dest
):
    make_user("alice")
    sign_in(client, secure=True)
    response = client.generic(method, path, secure=True, **_fetch("cross-site", mode, dest))
    assert response.status_code == 403
    assert b"balance" not in response.content and b"deadline" not in response.content
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"


def test_item15_cross_site_form_post_is_refused_even_with_a_token(client, make_user, sign_in):
    """A cross-site navigation that is a POST is not a safe top-level GET: refused."""
    make_user("alice")
    sign_in(client, secure=True)
    page = client.get("/dashboard/", secure=True)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    response = client.post(
        "/accounts/logout/",
        {"csrfmiddlewaretoken": token.decode()},
        secure=True,
        **_fetch("cross-site", "navigate", "document"),
    )
    assert response.status_code == 403
    assert client.get("/dashboard/", secure=True).status_code == 200  # still signed in


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        ("GET", {}),  # browsers without Fetch Metadata
        ("GET", _fetch("same-origin", "cors", "empty")),
        ("GET", _fetch("same-site", "no-cors", "image")),
        ("GET", _fetch("none", "navigate", "document")),  # typed in the address bar
        ("GET", _fetch("cross-site", "navigate", "document")),  # a link from another site
        ("HEAD", _fetch("cross-site", "navigate", "document")),
    ],
)
def test_item15_fetch_metadata_allows_same_site_and_top_level_navigation(
    client, make_user, sign_in, method, headers
):
    make_user("alice")
    sign_in(client, secure=True)
    assert client.generic(method, "/dashboard/", secure=True, **headers).status_code == 200


def test_item15_static_files_stay_loadable_cross_site(client):
    url = static("css/app.css")
    response = client.get(url, secure=True, **_fetch("cross-site", "no-cors", "style"))
    assert response.status_code == 200


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


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_item15_guessing_429_says_when_to_retry(client, session_settings, accept):
    """Every 429 carries Retry-After (the sign-in throttles' are in test_accounts_throttle.py)."""
    session_settings(GUESS_LIMIT=1)
    for _ in range(2):  # the second unknown key is over the limit
        client.cookies[settings.SESSION_COOKIE_NAME] = secrets.token_hex(16)
        response = client.get("/sessions/status/", HTTP_ACCEPT=accept, secure=True)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
