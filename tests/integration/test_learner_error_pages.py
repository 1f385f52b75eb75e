"""More refusals a learner meets are pages of the site with a way back (issue 14): 400 (a host
this site does not serve, a form with too many fields), 405 (a sign-out link followed by GET),
409 (an outdated key within its grace). The browser versions: e2e/test_pages.py."""

import pytest
from django.conf import settings as django_settings
from django.test import Client

pytestmark = pytest.mark.django_db

COOKIE = django_settings.SESSION_COOKIE_NAME
PASSWORD = "correct horse battery staple"
WAY_BACK = '<a class="button" href="/">Go to the home page</a>'


def test_a_bad_request_is_a_page_with_a_way_back(client, redis_prefix):
    response = client.get("/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-error="400"' in page and WAY_BACK in page and "app." in page  # the stylesheet
    too_many = client.post("/accounts/login/", {f"f{i}": "x" for i in range(1100)})
    assert too_many.status_code == 400
    assert 'data-error="400"' in too_many.content.decode()


def test_get_on_sign_out_is_a_405_page_that_keeps_allow(client, redis_prefix):
    response = client.get("/accounts/logout/")
    assert response.status_code == 405 and response["Allow"] == "POST"
    page = response.content.decode()
    assert 'data-error="405"' in page and WAY_BACK in page


def test_an_outdated_key_within_its_grace_gets_a_409_page(
    client, make_user, sign_in, frozen_clock, session_settings, redis_prefix
):
    session_settings(MAX_PER_USER=5, MAX_PER_STAFF=5, ROTATION_GRACE=30)
    make_user("carol", staff=True)
    sign_in(client, "carol")
    old = client.cookies[COOKIE].value
    assert client.post("/accounts/elevate/", {"password": PASSWORD}).status_code == 302
    stale = Client()
    stale.cookies[COOKIE] = old
    response = stale.post("/sessions/end-others/")
    assert response.status_code == 409
    page = response.content.decode()
    assert 'data-error="409"' in page and "Nothing was changed" in page and WAY_BACK in page
    assert COOKIE not in response.cookies
