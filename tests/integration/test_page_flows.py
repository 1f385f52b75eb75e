"""Flows a person walks through: what a page says and where a form lands."""

import re

import pytest
from django.test import Client
from django.urls import set_script_prefix

from sessions_admin import registry

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def test_a_new_sign_in_notice_is_not_used_up_by_the_pages_json_calls(make_user, sign_in):
    make_user("alice")
    laptop, phone = Client(), Client()
    sign_in(laptop)
    sign_in(phone)
    laptop.get("/sessions/status/", HTTP_ACCEPT="application/json")
    laptop.post("/sessions/keepalive/", HTTP_ACCEPT="application/json")
    assert b"New sign-in" in laptop.get("/dashboard/").content
    assert b"New sign-in" not in laptop.get("/dashboard/").content  # once


def test_a_page_shows_the_idle_deadline_this_click_earns(
    client, make_user, sign_in, frozen_clock, session_settings
):
    session_settings(IDLE_TIMEOUT=300, ACTIVITY_RESOLUTION=15)
    make_user("alice")
    sign_in(client)
    frozen_clock.advance(95)
    page = client.get("/dashboard/").content.decode()
    deadline = int(re.search(r'data-idle-deadline="(\d+)"', page).group(1))
    assert deadline == int(frozen_clock.now() + 300)


def test_signing_out_says_so_on_the_login_page(client, make_user, sign_in):
    make_user("alice")
    sign_in(client)
    response = client.post("/accounts/logout/", follow=True)
    assert b"You signed out." in response.content


def test_a_staff_action_after_sudo_lapsed_resumes_on_its_page_not_a_405(
    client, make_user, sign_in, frozen_clock, session_settings
):
    session_settings(ELEVATION_TIMEOUT=120, IDLE_TIMEOUT=900)
    make_user("carol", staff=True)
    bob = make_user("bob")
    sign_in(Client(), "bob")
    sign_in(client, "carol")
    assert client.post("/accounts/elevate/", {"password": PASSWORD}).status_code == 302
    page = "/console/sessions/?user=bob"
    console = client.get(page)
    assert console.status_code == 200
    form = re.search(
        rf'action="/console/sessions/{bob.pk}/end-all/".*?name="next" value="([^"]*)"',
        console.content.decode(),
        re.S,
    )
    frozen_clock.advance(121)
    fields = {"q": "", "next": form.group(1).replace("&amp;", "&")} if form else {"q": ""}
    asked = client.post(f"/console/sessions/{bob.pk}/end-all/", fields)
    assert asked.status_code == 302 and asked["Location"].startswith("/accounts/elevate/")
    resumed = client.post(asked["Location"], {"password": PASSWORD})
    assert resumed.status_code == 302 and resumed["Location"] == page
    assert client.get(resumed["Location"]).status_code == 200
    assert registry.count_live(bob.pk) == 1  # nothing was done behind the user's back


def _mounted_page(client, path: str, script_name: str) -> str:
    """GET as Django's WSGI handler serves a site mounted under ``script_name``: it sets the URL
    prefix from SCRIPT_NAME (the test client's handler does not, so it is set here)."""
    set_script_prefix(script_name + "/")
    try:
        response = client.get(path, SCRIPT_NAME=script_name)
    finally:
        set_script_prefix("/")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_timeout_scripts_urls_follow_the_script_name_the_site_is_mounted_under(
    client, make_user, sign_in
):
    """The page's timeout URLs are resolved once per URLconf and script name: a site mounted
    under /app gets /app URLs, and the same process serving at the root gets root ones."""
    make_user("alice")
    sign_in(client)
    mounted = _mounted_page(client, "/dashboard/", "/app")
    assert 'data-status-url="/app/sessions/status/"' in mounted
    assert 'data-keepalive-url="/app/sessions/keepalive/"' in mounted
    at_root = _mounted_page(client, "/dashboard/", "")
    assert 'data-status-url="/sessions/status/"' in at_root
