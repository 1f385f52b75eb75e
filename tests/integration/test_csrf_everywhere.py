"""Every URL of the project refuses a POST without a CSRF token, and nothing changes.

The URL patterns are walked from the resolver, so a view added later is covered without editing
this file (a new path parameter fails loudly until it is given a value below). The client is
signed in as an elevated staff user holding another user's live session handle: every POST here
would change something if CSRF did not stop it.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from sessions_admin import registry
from sessions_admin.models import SecurityEvent

pytestmark = pytest.mark.django_db

# Views that take a POST on purpose without a token: they act for no user and change nothing
# but the security log. Anything else found csrf_exempt fails the test.
CSRF_EXEMPT = {"csp-report/"}

# The routes known to accept POST (require_POST or GET+POST): the walk must find them all, so a
# walk that silently found nothing cannot pass.
KNOWN_POST_ROUTES = {
    "accounts/login/",
    "accounts/login/choose/",
    "accounts/logout/",
    "accounts/password/",
    "accounts/elevate/",
    "accounts/elevate/drop/",
    "sessions/end-others/",
    "sessions/keepalive/",
    "sessions/<str:handle>/end/",
    "console/sessions/<int:uid>/end/<str:handle>/",
    "console/sessions/<int:uid>/end-all/",
    "console/sessions/<int:uid>/disable/",
}


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _token(client, path) -> str:
    page = client.get(path)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)


@pytest.fixture
def elevated_staff(make_user):
    carol = make_user("carol", staff=True)
    bob = make_user("bob")
    bob_client = Client()
    bob_client.post(
        "/accounts/login/", {"username": "bob", "password": "correct horse battery staple"}
    )
    client = Client(enforce_csrf_checks=True)
    login = {"username": "carol", "password": "correct horse battery staple"}
    login["csrfmiddlewaretoken"] = _token(client, "/accounts/login/")
    assert client.post("/accounts/login/", login).status_code == 302
    elevate = {"password": "correct horse battery staple"}
    elevate["csrfmiddlewaretoken"] = _token(client, "/accounts/elevate/")
    assert client.post("/accounts/elevate/", elevate).status_code == 302
    assert client.get("/console/sessions/").status_code == 200  # elevated
    return client, carol, bob, bob_client


def _state(bob, carol):
    bob.refresh_from_db()
    carol.refresh_from_db()
    return {
        "bob": (
            bob.password,
            bob.is_active,
            sorted(i.handle for i in registry.list_sessions(bob.pk)),
        ),
        "carol": (carol.password, len(registry.list_sessions(carol.pk))),
        "events": list(
            SecurityEvent.objects.exclude(name="access_denied")
            .order_by("id")
            .values_list("id", "name")
        ),
    }


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(elevated_staff):
    client, carol, bob, bob_client = elevated_staff
    [bobs] = registry.list_sessions(bob.pk)
    values = {"handle": bobs.handle, "uid": str(bob.pk)}
    routes = dict(walk(get_resolver().url_patterns))
    assert routes.keys() >= KNOWN_POST_ROUTES, KNOWN_POST_ROUTES - routes.keys()

    exempt = {route for route, view in routes.items() if getattr(view, "csrf_exempt", False)}
    assert exempt == CSRF_EXEMPT, "a view was made csrf_exempt: add it here only with a reason"

    before = _state(bob, carol)
    refused = set()
    for route in routes:
        if route in CSRF_EXEMPT:
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route)
        for data in ({}, {"handle": bobs.handle, "cancel": "1", "password": "x"}):
            response = client.post(path, data)
            assert response.status_code == 403, (path, response.status_code)
            assert b"This form has expired" in response.content
        refused.add(route)
    assert refused >= KNOWN_POST_ROUTES

    assert _state(bob, carol) == before
    assert client.get("/console/sessions/").status_code == 200  # still signed in and elevated
    assert bob_client.get("/dashboard/").status_code == 200
    assert SecurityEvent.objects.filter(name="access_denied", detail__reason="csrf").exists()
