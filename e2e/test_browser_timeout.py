"""The idle warning, its countdown, "Stay signed in", and the real idle sign-out, in Chromium.

Playwright's clock moves the page's timers (the countdown UI); the server's timeouts run on real
time, so real expiry uses a short idle timeout. One server profile serves every browser test.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from e2e.conftest import readme_screenshot

ROOT = Path(__file__).resolve().parent.parent
# Idle 20 s with a 10 s warning: the warning shows 10 s after the last activity.
SHORT = {
    "SESSION_IDLE_TIMEOUT": 20,
    "SESSION_IDLE_WARNING": 10,
    "SESSION_ACTIVITY_RESOLUTION": 1,
    "SESSION_ABSOLUTE_TIMEOUT": 600,
    "SESSION_MAX_PER_USER": 50,
    "SESSION_CONCURRENCY_POLICY": "evict_oldest",
}
LOGIN = re.compile(r"/accounts/login/")


@pytest.fixture
def short(app_server):
    return app_server(**SHORT)


@pytest.fixture
def browse(new_context):
    """``browse()`` opens a context that fails the test on any CSP violation or script error."""
    problems = []

    def make(**options):
        context = new_context(**options)
        context.on(
            "console",
            lambda m: "Content Security Policy" in m.text and problems.append(m.text),
        )
        context.on("weberror", lambda e: problems.append(str(e.error)))
        return context

    yield make
    assert not problems, problems


STATUS_JS = """async (url) => {
  const r = await fetch(url, {headers: {Accept: "application/json"}, cache: "no-store"});
  return {code: r.status, ...(await r.json())};
}"""


def status(page, server) -> dict:
    """The session as the server sees it, asked from the page (GET /sessions/status/ never
    extends the session). ``code`` is the HTTP status."""
    return page.evaluate(STATUS_JS, server.url("/sessions/status/"))


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


def countdown_seconds(page) -> int:
    minutes, seconds = page.locator("#session-timeout-countdown").inner_text().split(":")
    return int(minutes) * 60 + int(seconds)


NEAR_ABSOLUTE_DEADLINE_JS = """
new MutationObserver((changes, observer) => {
  const body = document.body;
  if (!body || !body.hasAttribute("data-server-now")) return;
  const now = parseInt(body.getAttribute("data-server-now"), 10);
  body.setAttribute("data-absolute-deadline", String(now + 15));
  body.setAttribute("data-near-absolute", "1");
  observer.disconnect();
}).observe(document, {childList: true, subtree: true});
"""


def dialog_of(page):
    return page.get_by_role("alertdialog")


def test_idle_warning_appears_on_time_and_counts_down(browse, short, signed_in):
    page = browse().new_page()
    page.clock.install()
    signed_in(page, short)
    dialog = dialog_of(page)
    page.clock.run_for(7_000)
    expect(dialog).to_be_hidden()

    page.clock.run_for(4_500)  # 11.5 s idle: inside the 10 s warning
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    title = page.locator("#" + dialog.get_attribute("aria-labelledby"))
    expect(title).to_have_text("Are you still there?")
    expect(dialog).to_have_accessible_description(re.compile(r"You will be signed out in 0:0\d"))
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_focused()
    first = countdown_seconds(page)
    assert 1 <= first <= 9

    page.clock.run_for(3_000)
    expect(page.locator("#session-timeout-countdown")).to_have_text(
        re.compile(rf"0:0[{first - 4}{first - 3}]")
    )
    page.screenshot(path=str(readme_screenshot("idle-warning.png")))


def test_stay_signed_in_extends_the_session_on_the_server(browse, short, signed_in):
    page = browse().new_page()
    page.clock.install()
    signed_in(page, short)
    before = status(page, short)
    page.clock.run_for(11_500)
    expect(dialog_of(page)).to_be_visible()
    # The open page and its countdown extended nothing.
    assert status(page, short)["idle_deadline"] == before["idle_deadline"]

    with page.expect_response(lambda r: r.url.endswith("/sessions/keepalive/")) as kept:
        dialog_of(page).get_by_role("button", name="Stay signed in").click()
    assert kept.value.status == 200
    expect(dialog_of(page)).to_be_hidden()
    after = status(page, short)
    assert after["idle_deadline"] > before["idle_deadline"]
    page.clock.run_for(8_000)  # the countdown starts again from the full idle timeout
    expect(dialog_of(page)).to_be_hidden()


def test_idle_dialog_works_by_keyboard_alone(browse, short, signed_in):
    page = browse().new_page()
    page.clock.install()
    signed_in(page, short)
    page.clock.run_for(11_500)
    dialog = dialog_of(page)
    stay = dialog.get_by_role("button", name="Stay signed in")
    sign_out = dialog.get_by_role("button", name="Sign out now")
    expect(stay).to_be_focused()
    page.keyboard.press("Tab")
    expect(sign_out).to_be_focused()
    page.keyboard.press("Tab")  # focus is trapped: it wraps round to the first button
    expect(stay).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(sign_out).to_be_focused()
    page.keyboard.press("Shift+Tab")
    with page.expect_response(lambda r: r.url.endswith("/sessions/keepalive/")):
        page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()

    page.clock.run_for(11_500)
    expect(stay).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/sessions/keepalive/")):
        page.keyboard.press("Escape")  # Escape means "stay", never a silent sign-out
    expect(dialog).to_be_hidden()

    page.clock.run_for(11_500)
    expect(stay).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(LOGIN)
    expect(page.get_by_label("Username")).to_be_visible()


def test_activity_is_reported_at_most_once_per_resolution_window(browse, short, signed_in):
    page = browse().new_page()
    page.clock.install()
    signed_in(page, short)
    sent = []
    page.on("request", lambda r: r.url.endswith("/sessions/keepalive/") and sent.append(r))
    page.clock.run_for(2_000)
    assert sent == []  # an open page, untouched, extends nothing
    with page.expect_response(lambda r: r.url.endswith("/sessions/keepalive/")):
        for key in "abcde":
            page.keyboard.press(key)
    assert len(sent) == 1
    with page.expect_response(lambda r: r.url.endswith("/sessions/keepalive/")):
        page.clock.run_for(1_000)  # activity inside the window is reported when it ends
    page.clock.run_for(5_000)
    assert len(sent) == 2


def test_absolute_deadline_warning_offers_no_extension(browse, short, signed_in):
    page = browse().new_page()
    page.clock.install()

    signed_in(page, short)
    # Move the page's absolute deadline to 15 s away (the server's is 10 minutes), as the parser
    # creates <body> and before the deferred script reads it.
    page.add_init_script(NEAR_ABSOLUTE_DEADLINE_JS)
    page.goto(short.url("/dashboard/"))
    expect(page.locator("body")).to_have_attribute("data-near-absolute", "1")
    page.clock.run_for(6_000)
    dialog = dialog_of(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("cannot be extended")
    expect(dialog).to_contain_text("sign in again")
    expect(dialog.get_by_role("button", name="Stay signed in")).to_be_hidden()
    expect(dialog.get_by_role("button", name="Sign out now")).to_be_visible()
    continue_ = dialog.get_by_role("button", name="Continue for now")
    expect(continue_).to_be_focused()
    continue_.click()  # seen: it does not come back every second
    expect(dialog).to_be_hidden()
    page.clock.run_for(3_000)
    expect(dialog).to_be_hidden()


def test_doing_nothing_signs_out_for_inactivity_and_the_old_cookie_is_dead(
    browse, short, signed_in
):
    page = browse().new_page()
    signed_in(page, short)
    old = next(c for c in page.context.cookies() if c["name"] == "__Host-id")
    expect(dialog_of(page)).to_be_visible(timeout=15_000)
    expect(page).to_have_url(LOGIN, timeout=20_000)
    expect(page.locator("[data-signed-out-reason]")).to_contain_text("inactivity")
    expect(page.locator("[data-private]")).to_have_count(0)

    # The old cookie, replayed from another browser, names no live session.
    thief = browse()
    thief.add_cookies(
        [
            {
                "name": old["name"],
                "value": old["value"],
                "url": short.base_url + "/",
                "secure": True,
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )
    stolen = thief.new_page()
    stolen.goto(short.url("/dashboard/"))
    expect(stolen).to_have_url(LOGIN)
    expect(stolen.locator("[data-private]")).to_have_count(0)
    assert status(stolen, short)["code"] == 401


def test_untouched_login_page_reloads_itself_after_login_timeout(browse, short):
    page = browse().new_page()
    page.clock.install()
    page.goto(short.url("/accounts/login/"))
    seconds = int(page.locator("[data-login-form]").get_attribute("data-login-timeout"))
    reloads = []
    page.on("request", lambda r: r.url.endswith("/accounts/login/") and reloads.append(r))
    page.clock.run_for((seconds - 5) * 1000)
    page.get_by_label("Username").fill("alice")  # typing re-arms the timer
    page.clock.run_for((seconds - 5) * 1000)
    assert reloads == []
    with page.expect_request(lambda r: r.url.endswith("/accounts/login/") and r.method == "GET"):
        page.clock.run_for(10_000)
    expect(page.get_by_label("Username")).to_have_value("")


def test_login_page_reload_after_a_failed_sign_in_never_resends_the_password(browse, short):
    """reload() after a POST would submit the credentials again; the page reloads with a GET."""
    page = browse().new_page()
    page.clock.install()
    page.goto(short.url("/accounts/login/"))
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".form-errors")).to_be_visible()
    posts = []
    page.on("request", lambda r: r.method == "POST" and posts.append(r.url))
    seconds = int(page.locator("[data-login-form]").get_attribute("data-login-timeout"))
    with page.expect_request(lambda r: r.url.endswith("/accounts/login/") and r.method == "GET"):
        page.clock.run_for((seconds + 1) * 1000)
    assert posts == []


def test_a_hung_status_request_does_not_stop_later_checks(browse, new_context, short, signed_in):
    """The check at the idle deadline meets a status request that never answers: the page gives
    up on it (AbortController timeout) and asks again, so it follows the server once it answers."""
    page = browse().new_page()
    page.clock.install()
    signed_in(page, short, username="bob")
    hung, answers = [], []
    page.on("response", lambda r: r.url.endswith("/sessions/status/") and answers.append(r))

    def hang_the_first(route):
        if not hung:
            hung.append(route)  # never answered
        else:
            route.continue_()

    page.route("**/sessions/status/", hang_the_first)
    with page.expect_request(lambda r: r.url.endswith("/sessions/status/")):
        page.clock.run_for(20_500)  # the page's idle deadline: it asks the server, which hangs
    expect(dialog_of(page)).to_be_visible()
    assert len(hung) == 1

    # Meanwhile the session really ends, from another device.
    phone = new_context().new_page()
    signed_in(phone, short, username="bob")
    assert end_other_sessions(phone, short) in (0, 302)

    page.clock.run_for(15_000)  # past the fetch timeout and the retry delay, on the page's clock
    expect(page).to_have_url(LOGIN)
    expect(page.locator("[data-signed-out-reason]")).to_contain_text("another device")
    assert hung[0].request.failure == "net::ERR_ABORTED"  # given up by the page, not the test
    assert [r.status for r in answers] == [401]
