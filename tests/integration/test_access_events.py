"""Failed authorization leaves a trace (item 16; OWASP ASVS 16.3.1-16.3.3).

A member on the staff console (403), another user's session handle (404), a CSRF failure and a
refused cross-site request each become an ``access_denied`` security event and a JSON line on the
``security`` logger, at most one per client IP and reason a minute. Ordinary 404s are not events.
Real Redis; "Redis down" is a socket nobody listens on.
"""

import copy
import json
import logging
import tempfile

import pytest
from django.test import Client
from django_redis.pool import ConnectionFactory

from sessions_admin import registry
from sessions_admin.models import SecurityEvent

pytestmark = pytest.mark.django_db


def denied(reason=None):
    rows = SecurityEvent.objects.filter(name="access_denied")
    return list(rows.filter(detail__reason=reason) if reason else rows)


def test_item16_member_on_the_console_is_an_access_denied_event(client, make_user, sign_in, caplog):
    alice = make_user("alice")
    sign_in(client)
    with caplog.at_level(logging.INFO, logger="security"):
        assert client.get("/console/sessions/").status_code == 403
    [event] = denied("forbidden")
    assert event.user == alice and event.detail["path"] == "/console/sessions/"
    assert event.session_hash  # names the session, by hash
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "security"]
    line = next(x for x in lines if x["event"] == "access_denied")
    assert line["reason"] == "forbidden"
    assert line["user"] == "alice" and line["path"] == "/console/sessions/"
    # Rate limited: a member hammering the console is one row a minute, not one per click.
    for _ in range(5):
        assert client.get("/console/sessions/?page=2").status_code == 403
    assert len(denied("forbidden")) == 1


def test_item16_another_users_session_handle_is_an_access_denied_event(make_user, sign_in):
    make_user("alice")
    bob = make_user("bob")
    bob_client, alice_client = Client(), Client()
    sign_in(bob_client, "bob")
    sign_in(alice_client, "alice")
    [bobs] = registry.list_sessions(bob.pk)
    response = alice_client.post(f"/sessions/{bobs.handle}/end/")
    assert response.status_code == 404
    [event] = denied("not_found")
    assert event.username == "alice"
    assert event.detail["path"] == f"/sessions/{bobs.handle}/end/"
    assert bob_client.get("/dashboard/").status_code == 200  # and bob's session lives


def test_item16_an_ordinary_404_is_not_an_event(client):
    assert client.get("/no-such-page/").status_code == 404
    assert client.get("/static/no-such-file.css").status_code == 404
    assert denied() == []
    assert client.get("/console/sessions/nope/").status_code == 404
    assert len(denied("not_found")) == 1  # under /console/ it is


def test_item16_csrf_failure_is_an_access_denied_event(make_user, sign_in):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "alice", "password": "x"}).status_code == (
        403
    )
    [event] = denied("csrf")
    assert event.detail["path"] == "/accounts/login/" and event.detail["csrf_reason"]
    assert event.ip == "127.0.0.1"


def test_item16_rate_limit_is_per_client_and_per_reason(client, make_user, sign_in):
    make_user("alice")
    sign_in(client)
    client.get("/console/sessions/")
    client.get("/console/sessions/", REMOTE_ADDR="198.51.100.7")
    Client(enforce_csrf_checks=True).post("/accounts/logout/")
    assert len(denied("forbidden")) == 2  # two client IPs
    assert len(denied("csrf")) == 1  # another reason, not swallowed by the first


def test_item16_cross_site_refusal_is_an_access_denied_event(client):
    response = client.get(
        "/sessions/status/",
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_SEC_FETCH_MODE="cors",
        HTTP_SEC_FETCH_DEST="empty",
    )
    assert response.status_code == 403
    [event] = denied("cross_site")
    assert event.detail["path"] == "/sessions/status/"


@pytest.fixture
def redis_down(settings):
    original = copy.deepcopy(settings.CACHES)
    caches = copy.deepcopy(original)
    caches["sessions"]["LOCATION"] = f"unix://{tempfile.gettempdir()}/no-redis-here-item16.sock"
    settings.CACHES = caches
    yield
    settings.CACHES = original
    for pool in list(ConnectionFactory._pools.values()):
        pool.disconnect()
    ConnectionFactory._pools.clear()


def test_item16_redis_errors_do_not_turn_a_refusal_into_a_500(redis_down):
    client = Client(raise_request_exception=False)
    assert client.get("/sessions/nothing/here/").status_code == 404
    cross_site = {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_SEC_FETCH_MODE": "no-cors"}
    assert client.get("/accounts/login/", **cross_site).status_code == 403
    # Without Redis the limit cannot be checked: the trace is kept rather than lost.
    assert {e.detail["reason"] for e in denied()} == {"not_found", "cross_site"}
