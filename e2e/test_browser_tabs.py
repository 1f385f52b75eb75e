"""Tabs and devices stay in step with the server: activity, "Stay signed in", and sign-out."""

import re

import pytest
from playwright.sync_api import expect

from e2e.test_browser_timeout import SHORT, dialog_of, status

LOGIN = re.compile(r"/accounts/login/")
KEEPALIVE = "/sessions/keepalive/"


@pytest.fixture
def short(app_server):
    return app_server(**SHORT)


def end_other_sessions(page, server) -> int:
    """POST /sessions/end-others/ from this page, as its own form would (CSRF from the page)."""
    return page.evaluate(
        """async (url) => {
          const token = document.querySelector(
            "[data-logout-form] input[name=csrfmiddlewaretoken]").value;
          const r = await fetch(url, {method: "POST", redirect: "manual",
            headers: {"X-CSRFToken": token}, body: new URLSearchParams()});
          return r.status;
        }""",
        server.url("/sessions/end-others/"),
    )


def test_activity_in_one_tab_keeps_the_other_from_warning(new_context, short, signed_in):
    context = new_context()
    context.clock.install()
    first = context.new_page()
    signed_in(first, short)
    second = context.new_page()
    second.goto(short.url("/dashboard/"))
    context.clock.run_for(6_000)

    with second.expect_response(lambda r: r.url.endswith(KEEPALIVE)):
        second.locator("main").click()  # real activity in the second tab
    context.clock.run_for(6_000)  # 12 s after the first tab's last activity
    expect(dialog_of(first)).to_be_hidden()
    expect(dialog_of(second)).to_be_hidden()

    context.clock.run_for(5_500)  # 11.5 s after the shared activity: both warn
    expect(dialog_of(first)).to_be_visible()
    expect(dialog_of(second)).to_be_visible()

    # "Stay signed in" in one tab dismisses the warning in the other.
    dialog_of(first).get_by_role("button", name="Stay signed in").click()
    expect(dialog_of(first)).to_be_hidden()
    expect(dialog_of(second)).to_be_hidden()


def test_signing_out_in_one_tab_signs_out_the_other(new_context, short, signed_in):
    context = new_context()
    first = context.new_page()
    signed_in(first, short)
    second = context.new_page()
    second.goto(short.url("/dashboard/"))
    expect(second.locator("[data-private]")).to_be_visible()

    first.get_by_role("button", name="Sign out").click()
    expect(first).to_have_url(LOGIN)
    expect(second).to_have_url(LOGIN, timeout=5_000)
    expect(second.locator("[data-private]")).to_have_count(0)


def test_session_ended_from_another_device_sends_the_tab_to_sign_in_when_shown(
    new_context, short, signed_in
):
    laptop = new_context().new_page()
    signed_in(laptop, short, username="bob")
    phone = new_context().new_page()
    signed_in(phone, short, username="bob")
    assert end_other_sessions(phone, short) in (0, 302)  # 0: an opaque redirect
    expect(laptop.locator("[data-private]")).to_be_visible()  # nothing pushed it yet

    # The laptop's tab becomes visible again: it asks the server and follows it.
    laptop.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(laptop).to_have_url(LOGIN, timeout=3_000)
    expect(laptop.locator("[data-signed-out-reason]")).to_contain_text("another device")
    assert status(phone, short)["authenticated"] is True


def test_a_timer_waking_late_after_sleep_rechecks_the_server(new_context, short, signed_in):
    laptop_context = new_context()
    laptop_context.clock.install()
    laptop = laptop_context.new_page()
    signed_in(laptop, short, username="carol")
    phone = new_context().new_page()
    signed_in(phone, short, username="carol")
    end_other_sessions(phone, short)

    # The machine slept for 14 s: the page's timer (due at 10 s) fires 4 s late and the page asks
    # the server at once, rather than counting down the 6 s it believes are left.
    laptop.clock.fast_forward(14_000)
    expect(laptop).to_have_url(LOGIN, timeout=3_000)
    expect(laptop.locator("[data-signed-out-reason]")).to_contain_text("another device")
