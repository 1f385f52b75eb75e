"""'Keep me signed in' in a real browser (issue 16): a browser restart is clearing the session
cookie (it has no Max-Age; the remember cookie has one). A copied remember cookie, replayed from
another browser profile after the owner used it, ends everything."""

import re

import pytest
from playwright.sync_api import expect

from sessions_admin import clock

PASSWORD = "correct horse battery staple"
SESSION, REMEMBER = "__Host-id", "__Host-remember"
LOGIN = re.compile(r"/accounts/login/")
TOLD = "token was used twice"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def roomy(app_server):
    """Its own profile: evict_oldest (no prompt from earlier tests' sessions), one day of memory."""
    return app_server(
        SESSION_MAX_PER_USER=5, SESSION_CONCURRENCY_POLICY="evict_oldest", SESSION_REMEMBER_DAYS=1
    )


def sign_in_remembered(page, server, username):
    page.goto(server.url("/accounts/login/"))
    box = page.get_by_label("Keep me signed in")
    expect(box).not_to_be_checked()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    box.check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def cookie(context, name):
    return next((c for c in context.cookies() if c["name"] == name), None)


def test_a_restarted_browser_comes_back_signed_in_with_new_keys(new_context, roomy):
    context = new_context()
    page = context.new_page()
    sign_in_remembered(page, roomy, "alice")
    session, remembered = cookie(context, SESSION), cookie(context, REMEMBER)
    assert remembered["secure"] and remembered["httpOnly"] and remembered["sameSite"] == "Lax"
    assert remembered["path"] == "/" and remembered["domain"] == "127.0.0.1"
    assert 86400 - 120 < remembered["expires"] - clock.now() <= 86400  # Max-Age: one day
    assert session["expires"] == -1  # the session cookie dies with the browser

    context.clear_cookies(name=SESSION)  # the browser restarts
    page.goto(roomy.url("/sessions/"))
    expect(page).to_have_url(re.compile(r"/sessions/$"))
    expect(page.get_by_role("heading", name="Your sessions")).to_be_visible()
    device = page.locator("[data-remembered-device]")
    expect(device).to_have_count(1)
    expect(device).to_contain_text("This device")
    assert cookie(context, SESSION)["value"] != session["value"]
    assert cookie(context, REMEMBER)["value"] != remembered["value"]
    assert cookie(context, REMEMBER)["value"].split(":")[0] == remembered["value"].split(":")[0]
    # Not a recent authentication: sudo-like actions ask for the password.
    page.get_by_role("button", name="Forget all devices").click()
    expect(page).to_have_url(re.compile(r"/accounts/elevate/"))


def test_a_replayed_old_cookie_ends_every_session_and_both_browsers_are_told(new_context, roomy):
    victim = new_context()
    page = victim.new_page()
    sign_in_remembered(page, roomy, "bob")
    copied = cookie(victim, REMEMBER)
    victim.clear_cookies(name=SESSION)
    page.goto(roomy.url("/dashboard/"))  # the owner uses the token: `copied` is now used
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    # Another browser: a copy replayed by the same browser, address and second is a tab race.
    thief = new_context(user_agent=FIREFOX)
    thief.add_cookies(
        [
            {
                "name": REMEMBER,
                "value": copied["value"],
                "url": roomy.base_url,
                "secure": True,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    stolen = thief.new_page()
    stolen.goto(roomy.url("/dashboard/"))
    expect(stolen).to_have_url(LOGIN)
    expect(stolen.locator("[data-signed-out-reason]")).to_contain_text(TOLD)
    assert cookie(thief, REMEMBER) is None

    page.goto(roomy.url("/dashboard/"))
    expect(page).to_have_url(LOGIN)
    expect(page.locator("[data-signed-out-reason]")).to_contain_text(TOLD)
    expect(page.get_by_label("Username")).to_be_visible()
    assert cookie(victim, REMEMBER) is None  # forgotten, and deleted at its next visit
