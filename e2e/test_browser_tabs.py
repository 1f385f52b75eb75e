"""Tabs and devices stay in step with the server: activity, "Stay signed in", and sign-out."""

import contextlib
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Error, expect

from e2e.test_browser_timeout import SHORT, dialog_of, end_other_sessions, status

LOGIN = re.compile(r"/accounts/login/")
KEEPALIVE = "/sessions/keepalive/"


@pytest.fixture
def short(app_server):
    return app_server(**SHORT)


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


# A second "device" of the same user: its own profile, with a user agent of its own so that its
# card on "Your sessions" is told apart from every other session of the user.
OTHER_DEVICE_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_item13_remote_end_reason_survives_keepalive_race(new_context, short, signed_in):
    """The user clicks a link at the moment the page reports activity, and the session was ended
    from another device: the keepalive's 401 must not send the page anywhere (the user's own
    navigation is on its way), and that navigation lands on sign-in with the reason and the
    clicked page as ``next``.

    The worst order is forced: the keepalive (sent on pointerdown) is held until the click's
    navigation has started, then answered, and only then is the navigation let through.
    """
    device_b = new_context(user_agent=OTHER_DEVICE_UA).new_page()
    signed_in(device_b, short, username="alice")
    device_a = new_context().new_page()
    signed_in(device_a, short, username="alice")  # a fresh sign-in: recent enough to end sessions
    device_a.goto(short.url("/sessions/"))
    device_b.goto(short.url("/dashboard/"))  # a fresh idle clock: no warning for 10 s
    expect(device_b.locator("[data-private]")).to_be_visible()

    device_a.get_by_role(
        "button", name=re.compile(r"^End session on Firefox 128 on Windows")
    ).click()
    expect(device_a.get_by_role("status")).to_contain_text("Ended the session on Firefox 128")
    device_b.wait_for_timeout(1_100)  # past the 1 s activity resolution: the next click reports

    held = {}
    device_b.route("**/sessions/keepalive/", lambda route: held.setdefault("keepalive", route))
    device_b.route(
        lambda url: urlparse(url).path == "/accounts/activity/",
        lambda route: held.setdefault("click", route),
    )
    device_b.get_by_role("link", name="Activity").click(no_wait_after=True)
    for _ in range(100):
        if len(held) == 2:
            break
        device_b.wait_for_timeout(50)
    assert set(held) == {"keepalive", "click"}, held

    with device_b.expect_response("**/sessions/keepalive/") as keepalive:
        held["keepalive"].continue_()
    assert keepalive.value.status == 401
    device_b.wait_for_timeout(500)  # time for the page's script to act on the 401 (it must not)
    with contextlib.suppress(Error):  # the script's own redirect cancelled the click: see below
        held["click"].continue_()
    device_b.unroute_all()

    expect(device_b).to_have_url(LOGIN)
    assert parse_qs(urlparse(device_b.url).query).get("next") == ["/accounts/activity/"]
    expect(device_b.locator("[data-signed-out-reason]")).to_have_text(
        "This session was ended from another device."
    )
    expect(device_b.locator("[data-private]")).to_have_count(0)
