"""Browser tests for the accounts features: the prompt policy, sudo mode, password change.

One server profile for all three (each profile costs a gunicorn start): at most two sessions per
user under the default ``prompt`` policy, and three seconds of sudo mode so its real expiry can
be watched. Each test uses its own demo user.
"""

import re
import time

from playwright.sync_api import expect

from sessions_admin.policy import END_REASONS

PASSWORD = "correct horse battery staple"
PROFILE = {
    "SESSION_MAX_PER_USER": 2,
    "SESSION_CONCURRENCY_POLICY": "prompt",
    "ELEVATION_TIMEOUT": 3,
}
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
LOGIN = re.compile(r"/accounts/login/")


def poll(page, done, *, navigate, timeout_s: float = 15.0) -> None:
    """Server-side expiry runs on real time: navigate again (polling) until ``done()`` holds."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "the page never showed the change"
        page.wait_for_timeout(250)
        navigate()


def test_prompt_policy_asks_which_session_to_end(app_server, new_context, signed_in):
    server = app_server(**PROFILE)
    windows = new_context(user_agent=FIREFOX_WINDOWS).new_page()
    signed_in(windows, server, "alice")
    iphone = new_context(user_agent=SAFARI_IPHONE).new_page()
    signed_in(iphone, server, "alice")

    third = new_context().new_page()
    third.goto(server.url("/accounts/login/"))
    third.get_by_label("Username").fill("alice")
    third.get_by_label("Password").fill(PASSWORD)
    third.get_by_role("button", name="Sign in").click()
    expect(third).to_have_url(re.compile(r"/accounts/login/choose/"))
    expect(third.get_by_role("radio")).to_have_count(2)
    third.get_by_label(re.compile(r"Firefox 128 on Windows, 127\.0\.0\.1")).check()
    third.get_by_role("button", name="End it and sign in").click()
    expect(third).to_have_url(re.compile(r"/dashboard/"))
    expect(third.get_by_role("button", name="Sign out")).to_be_visible()

    windows.goto(server.url("/dashboard/"))
    expect(windows).to_have_url(LOGIN)
    expect(windows.locator("[data-signed-out-reason]")).to_have_text(END_REASONS["evicted"])
    iphone.goto(server.url("/dashboard/"))
    expect(iphone).to_have_url(re.compile(r"/dashboard/"))


def test_sudo_mode_resumes_the_request_then_runs_out_in_the_header(
    app_server, new_context, signed_in
):
    server = app_server(**PROFILE)
    page = new_context().new_page()
    signed_in(page, server, "carol")
    expect(page.get_by_role("link", name="Elevate")).to_be_visible()

    page.goto(server.url("/console/sessions/"))
    expect(page).to_have_url(re.compile(r"/accounts/elevate/\?next="))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Elevate").click()
    expect(page).to_have_url(re.compile(r"/console/sessions/$"))
    header = page.get_by_role("status").filter(has_text="Elevated ·")
    expect(header).to_have_text(re.compile(r"Elevated · 0:0[0-3] left"))
    expect(page.get_by_role("button", name="Drop sudo mode")).to_be_visible()

    elevate_link = page.get_by_role("link", name="Elevate")
    poll(page, elevate_link.is_visible, navigate=page.reload)
    expect(header).to_have_count(0)
    # The gate agrees (it may lag the header's whole seconds by under one second).
    poll(
        page,
        lambda: "/accounts/elevate/" in page.url,
        navigate=lambda: page.goto(server.url("/console/sessions/")),
    )
    expect(page.get_by_role("heading", name="Sudo mode")).to_be_visible()


def test_password_change_signs_out_the_other_browser(app_server, new_context, signed_in):
    server = app_server(**PROFILE)
    here = new_context().new_page()
    signed_in(here, server, "bob")
    there = new_context().new_page()
    signed_in(there, server, "bob")

    here.goto(server.url("/accounts/password/"))
    here.get_by_label("Old password").fill(PASSWORD)
    here.get_by_label("New password", exact=True).fill("a brand new passphrase, 2026")
    here.get_by_label("New password confirmation").fill("a brand new passphrase, 2026")
    here.get_by_role("button", name="Change password").click()
    expect(here.get_by_role("status")).to_contain_text(
        "Password changed. 1 other session was signed out."
    )

    there.goto(server.url("/dashboard/"))
    expect(there).to_have_url(LOGIN)
    expect(there.locator("[data-signed-out-reason]")).to_have_text(END_REASONS["password_changed"])
    here.goto(server.url("/dashboard/"))
    expect(here).to_have_url(re.compile(r"/dashboard/"))
