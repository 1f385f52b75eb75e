"""Small leaks closed (item 15): 405/404/403 pages, /healthz/ without class names, CSP reports.

Django's test client through the real middleware stack, real Redis; Redis "down" is a socket
nobody listens on.
"""

import copy
import json
import tempfile

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django_redis.pool import ConnectionFactory

from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection

pytestmark = pytest.mark.django_db
COOKIE = django_settings.SESSION_COOKIE_NAME


def _is_styled_page(response) -> bool:
    body = response.content.decode()
    return (
        response["Content-Type"].startswith("text/html")
        and 'rel="stylesheet"' in body
        and 'href="/"' in body  # a way back
        and "style=" not in body
        and "<script>" not in body
    )


@pytest.mark.parametrize("path", ["/", "/dashboard/"])
@pytest.mark.parametrize("method", ["POST", "OPTIONS", "PUT", "DELETE"])
def test_item15_pages_answer_405_to_methods_they_do_not_serve(
    client, make_user, sign_in, path, method
):
    make_user("alice")
    sign_in(client, secure=True)
    response = client.generic(method, path, secure=True)
    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert _is_styled_page(response)
    assert b"Signed in as" in response.content  # rendered with the session: the header intact


def test_item15_405_is_a_page_with_a_way_back_everywhere(client):
    for method, path in (("GET", "/accounts/logout/"), ("TRACE", "/accounts/login/")):
        response = client.generic(method, path, secure=True)
        assert response.status_code == 405
        assert _is_styled_page(response), (method, path)
        assert response["Allow"]


def test_item15_404_is_a_styled_page_with_and_without_a_session(client, make_user, sign_in):
    anonymous = Client().get("/no-such-page/", secure=True)
    assert anonymous.status_code == 404 and _is_styled_page(anonymous)
    assert b"Page not found" in anonymous.content
    assert COOKIE not in anonymous.cookies  # no session created for a stranger's 404
    make_user("alice")
    sign_in(client, secure=True)
    signed_in = client.get("/no-such-page/", secure=True)
    assert signed_in.status_code == 404 and _is_styled_page(signed_in)
    assert b"Sign out" in signed_in.content


def test_item15_403_is_a_styled_page(client, make_user, sign_in):
    make_user("alice")
    sign_in(client, secure=True)
    response = client.get("/console/sessions/", secure=True)
    assert response.status_code == 403 and _is_styled_page(response)
    assert b"You may not open this page" in response.content
    cross_site = Client().get(
        "/accounts/login/",
        secure=True,
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_SEC_FETCH_MODE="cors",
        HTTP_SEC_FETCH_DEST="empty",
    )
    assert cross_site.status_code == 403 and _is_styled_page(cross_site)
    assert COOKIE not in cross_site.cookies


@pytest.fixture
def redis_down(settings):
    original = copy.deepcopy(settings.CACHES)
    caches = copy.deepcopy(original)
    caches["sessions"]["LOCATION"] = f"unix://{tempfile.gettempdir()}/no-redis-here-item15.sock"
    settings.CACHES = caches
    yield
    settings.CACHES = original
    for pool in list(ConnectionFactory._pools.values()):
        pool.disconnect()
    ConnectionFactory._pools.clear()


def test_item15_healthz_names_no_exception_class(client, redis_down):
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response.json() == {"redis": "down", "database": "ok", "status": "unavailable"}
    assert b"Error" not in response.content


# --- CSP violation reports -----------------------------------------------------------------------
REPORT = {
    "csp-report": {
        "document-uri": "https://127.0.0.1/dashboard/?token=secret",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "blocked-uri": "inline",
        "line-number": 12,
    }
}


def _report(client, body, **extra):
    return client.post(
        "/csp-report/", body, content_type="application/csp-report", secure=True, **extra
    )


def test_item15_csp_report_is_a_rate_limited_security_event(redis_prefix):
    client = Client(enforce_csrf_checks=True)  # browsers send reports without a token
    assert _report(client, json.dumps(REPORT)).status_code == 204
    assert _report(client, json.dumps(REPORT)).status_code == 204
    events = list(SecurityEvent.objects.filter(name="csp_violation"))
    assert len(events) == 1  # one per client IP a minute
    detail = events[0].detail
    assert detail["directive"] == "script-src-elem" and detail["blocked"] == "inline"
    assert detail["document"] == "https://127.0.0.1/dashboard/"  # query string dropped
    assert events[0].ip == "127.0.0.1"
    other = _report(client, json.dumps(REPORT), REMOTE_ADDR="198.51.100.7")
    assert other.status_code == 204
    assert SecurityEvent.objects.filter(name="csp_violation").count() == 2
    # Neither a session nor a cookie came of it.
    assert COOKIE not in client.cookies
    assert not list(connection().scan_iter(match=f"{redis_prefix}sess:*"))
    assert list(connection().scan_iter(match=f"{redis_prefix}event-limit:csp_violation:*"))


def test_item15_csp_report_never_extends_a_session(client, make_user, sign_in, frozen_clock):
    make_user("alice")
    sign_in(client, secure=True)
    frozen_clock.advance(60)
    before = client.get("/sessions/status/", secure=True).json()["idle_deadline"]
    frozen_clock.advance(60)
    assert _report(client, json.dumps(REPORT)).status_code == 204
    assert client.get("/sessions/status/", secure=True).json()["idle_deadline"] == before


def test_item15_csp_report_body_is_size_limited():
    client = Client()
    big = {"csp-report": {**REPORT["csp-report"], "script-sample": "x" * 20000}}
    assert _report(client, json.dumps(big)).status_code == 413
    assert _report(client, "not json").status_code == 400
    assert client.get("/csp-report/", secure=True).status_code == 405
    assert not SecurityEvent.objects.filter(name="csp_violation").exists()
