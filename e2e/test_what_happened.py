""" "What just happened?" (issue 14): in demo mode a learner who causes a security event sees a
short explanation next to it, with links to the lab exercise and to the control's row of
docs/controls.md, and can dismiss it; with DEMO_MODE=0 there is no such note.
"""

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import PASSWORD

LOGIN = re.compile(r"/accounts/login/")
# A real idle sign-out in seconds: the server's clock, not the page's, ends the session.
IDLE = {
    "SESSION_IDLE_TIMEOUT": "10",
    "SESSION_IDLE_WARNING": "3",
    "SESSION_ABSOLUTE_TIMEOUT": "120",
    "SESSION_ACTIVITY_RESOLUTION": "1",
}
PRODUCTION = {**IDLE, "DEMO_MODE": "0", "SECRET_KEY": "e2e-production-profile-" + "k" * 40}


def sign_in(page, server, username):
    page.goto(server.url("/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def idle_sign_out(page, server, username):
    """Sign in, then leave the page alone until the server ends the session for inactivity and
    the page's script takes the browser to the sign-in page."""
    sign_in(page, server, username)
    expect(page).to_have_url(LOGIN, timeout=20_000)
    expect(page.locator("[data-signed-out-reason]")).to_contain_text("inactivity")


def test_an_idle_sign_out_is_explained_and_the_note_can_be_dismissed(app_server, new_context):
    server = app_server(**IDLE)
    page = new_context().new_page()
    idle_sign_out(page, server, "alice")

    note = page.get_by_role("region", name=re.compile("What just happened"))
    expect(note).to_be_visible()
    expect(note).to_contain_text("Signed out for inactivity")
    expect(note).to_contain_text("The server, not this page, ended the session")
    exercise = note.get_by_role("link", name="Try it in the lab")
    expect(exercise).to_have_attribute("href", "/lab/#ex-idle-timeout")
    control = note.get_by_role("link", name=re.compile("The control: Idle timeout"))
    expect(control).to_have_attribute("href", "/lab/controls/#control-idle-timeout")

    note.get_by_role("button", name="Dismiss this explanation").click()
    expect(note).to_have_count(0)
    expect(page.locator("#main")).to_be_focused()
    # the sign-in page itself is untouched
    expect(page.locator("[data-signed-out-reason]")).to_be_visible()

    # the links lead somewhere a learner can read: the exercise, and the control's row
    page.goto(server.url("/lab/controls/#control-idle-timeout"))
    row = page.locator("tr#control-idle-timeout")
    expect(row).to_contain_text("Idle timeout, enforced server-side on every request")
    expect(row).to_be_in_viewport()
    page.goto(server.url("/lab/#ex-idle-timeout"))
    expect(page.locator('[data-exercise="idle-timeout"]')).to_be_in_viewport()


def test_sudo_mode_explains_the_renewed_key_once(app_server, new_context):
    server = app_server(**IDLE)
    page = new_context().new_page()
    sign_in(page, server, "carol")
    page.goto(server.url("/accounts/elevate/?next=/dashboard/"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Elevate").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    note = page.locator('[data-what-happened="rotated"]')
    expect(note).to_contain_text("Your session key was renewed")
    expect(note.get_by_role("link", name="Try it in the lab")).to_have_attribute(
        "href", "/lab/#ex-rotation-tripwire"
    )
    page.reload()
    expect(note).to_have_count(0)


@pytest.mark.parametrize("path", ["/lab/controls/"])
def test_without_demo_mode_there_is_no_note_and_no_controls_page(app_server, new_context, path):
    server = app_server(**PRODUCTION)
    page = new_context().new_page()
    idle_sign_out(page, server, "alice")
    expect(page.locator("[data-what-happened]")).to_have_count(0)
    expect(page.get_by_text("What just happened?")).to_have_count(0)
    assert page.goto(server.url(path)).status == 404
