""" "What just happened?" notes (issue 14) for the events a learner causes, on the page that
shows the event: the sign-in page after a binding refusal and after an eviction, the page after
sudo mode's key renewal; none with demo mode off. (The idle sign-out and Dismiss are played in
Chromium: e2e/test_what_happened.py.)"""

import copy

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0"
OTHER_UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Gecko/20100101 Firefox/140.0"
NOTE = 'data-what-happened="{}"'


@pytest.fixture
def demo(settings, redis_prefix):
    """Demo mode as project/settings.py makes it: the lab's context processor installed."""
    settings.DEMO_MODE = True
    templates = copy.deepcopy(settings.TEMPLATES)
    processors = templates[0]["OPTIONS"]["context_processors"]
    if "lab.context_processors.lab" not in processors:
        processors.append("lab.context_processors.lab")
    settings.TEMPLATES = templates
    return settings


@pytest.fixture
def production(settings, redis_prefix):
    settings.DEMO_MODE = False
    templates = copy.deepcopy(settings.TEMPLATES)
    processors = templates[0]["OPTIONS"]["context_processors"]
    if "lab.context_processors.lab" in processors:
        processors.remove("lab.context_processors.lab")
    settings.TEMPLATES = templates
    return settings


def stolen_cookie_in_another_browser(sign_in) -> Client:
    victim = Client(HTTP_USER_AGENT=UA)
    assert sign_in(victim, "alice").status_code == 302
    thief = Client(HTTP_USER_AGENT=OTHER_UA)
    thief.cookies = victim.cookies
    assert thief.get("/dashboard/").status_code == 302
    return thief


def test_a_binding_refusal_is_explained_on_the_sign_in_page(demo, make_user, sign_in):
    make_user("alice")
    page = stolen_cookie_in_another_browser(sign_in).get("/accounts/login/").content.decode()
    assert NOTE.format("binding") in page
    assert "another browser used this session" in page
    assert 'href="/lab/#ex-ua-binding"' in page
    assert 'href="/lab/controls/#control-binding"' in page


def test_an_eviction_is_explained_on_the_sign_in_page(demo, make_user, sign_in, session_settings):
    session_settings(MAX_PER_USER=1, CONCURRENCY_POLICY="evict_oldest")
    make_user("alice")
    first = Client(HTTP_USER_AGENT=UA)
    sign_in(first, "alice")
    sign_in(Client(HTTP_USER_AGENT=UA), "alice")
    assert first.get("/dashboard/").status_code == 302
    page = first.get("/accounts/login/").content.decode()
    assert NOTE.format("evicted") in page
    assert 'href="/lab/controls/#control-concurrency"' in page


def test_sudo_mode_explains_the_key_renewal_once(demo, make_user, sign_in):
    make_user("carol", staff=True)
    client = Client(HTTP_USER_AGENT=UA)
    sign_in(client, "carol")
    response = client.post(
        "/accounts/elevate/", {"password": "correct horse battery staple", "next": "/dashboard/"}
    )
    assert response.status_code == 302
    first = client.get("/dashboard/").content.decode()
    assert NOTE.format("rotated") in first
    assert NOTE.format("rotated") not in client.get("/dashboard/").content.decode()


def test_no_note_without_demo_mode(production, make_user, sign_in):
    make_user("alice")
    page = stolen_cookie_in_another_browser(sign_in).get("/accounts/login/").content.decode()
    assert "browser or network changed" in page  # the event itself is still shown
    assert "data-what-happened" not in page
    assert "What just happened" not in page


def test_the_controls_page_has_a_row_for_every_note(demo, client):
    from lab.notes import NOTES

    page = client.get("/lab/controls/").content.decode()
    for note in NOTES.values():
        assert f'<tr id="{note.control}">' in page, note.control
