"""The pages a learner sees (issue 14, from a workshop trial run), as a user sees them in Chromium:
styled error pages with a way back, sudo mode running out everywhere on the page at once, a
390 px screen, the marked nav link, Activity's two devices, the prompt's result, which limit
ends a session first, and plurals.
"""

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import PASSWORD

LOGIN = re.compile(r"/accounts/login/")
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:140.0) Gecko/20100101 Firefox/140.0"
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
# Sudo mode shorter than the idle timeout's warning, so the page's clock can run it out
# without the idle warning opening; two sessions a member, then the prompt.
PAGES = {
    "GUNICORN_THREADS": "16",
    "DEMO_SANDBOXES": "1",
    "ELEVATION_TIMEOUT": "30",
    "SESSION_IDLE_TIMEOUT": "600",
    "SESSION_IDLE_WARNING": "10",
    "SESSION_ABSOLUTE_TIMEOUT": "1200",
    "SESSION_MAX_PER_USER": "2",
}
# The absolute limit two seconds after the idle one: a page load a few seconds after sign-in
# moves the idle deadline past it.
NEAR_END = {
    "SESSION_IDLE_TIMEOUT": "60",
    "SESSION_ABSOLUTE_TIMEOUT": "62",
    "SESSION_ACTIVITY_RESOLUTION": "1",
}


# How many rows the header's parts sit in.
HEADER_ROWS = """() => {
    const boxes = [...document.querySelector(".header-row").children]
        .map((el) => el.getBoundingClientRect())
        .filter((box) => box.height > 0)
        .sort((a, b) => a.top - b.top);
    let rows = 0, bottom = -Infinity;
    for (const box of boxes) {
        if (box.top >= bottom - 1) rows += 1;
        bottom = Math.max(bottom, box.bottom);
    }
    return rows;
}"""
# Controls under 24 x 24 px (WCAG 2.5.8), but for links inside a sentence (its exception).
SMALL_TARGETS = """() => [...document.querySelectorAll("a, button, input, select, summary")]
    .filter((el) => {
        const box = el.getBoundingClientRect();
        const inText = el.closest("main p, main td, main dd, main .alert, main li.message, footer");
        return box.width > 0 && !inText && (box.width < 24 || box.height < 24);
    })
    .map((el) => {
        const box = el.getBoundingClientRect();
        return `${el.tagName} ${el.textContent.trim().slice(0, 30)} ${box.width}x${box.height}`;
    })"""


@pytest.fixture
def pages_server(app_server):
    return app_server(**PAGES)


def sign_in(page, server, username, password=PASSWORD):
    page.goto(server.url("/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def sandbox(context, server) -> tuple[str, str]:
    """A private demo's first member and its password."""
    page = context.new_page()
    page.goto(server.url("/demo/"))
    page.get_by_role("button", name="Start a private demo").click()
    member = page.locator("[data-demo-role=member]").first
    name = member.get_attribute("data-demo-username")
    password = page.locator("[data-demo-password]").get_attribute("data-demo-password")
    page.close()
    return name, password


def expect_error_page(page, status_heading: str):
    expect(page.get_by_role("heading", level=1)).to_have_text(status_heading)
    # the site's own page (app.css's card), not the browser's or Django's bare one
    card = page.locator("main .card[data-error]")
    expect(card).to_be_visible()
    assert card.evaluate("e => getComputedStyle(e).borderTopLeftRadius") == "12px"
    back = page.get_by_role("link", name="Go to the home page")
    expect(back).to_be_visible()
    expect(page.get_by_role("link", name="Secure Sessions")).to_be_visible()


def test_error_pages_are_styled_pages_with_a_way_back(pages_server, new_context):
    server = pages_server
    page = new_context().new_page()

    # 405: a sign-out link followed by GET (the trial run's "This page isn't working")
    response = page.goto(server.url("/accounts/logout/"))
    assert response.status == 405
    assert response.headers["allow"] == "POST"
    expect_error_page(page, "This page does not work that way")

    response = page.goto(server.url("/no-such-page/"))
    assert response.status == 404
    expect_error_page(page, "Page not found")

    # 400: a form with more fields than Django reads (TooManyFieldsSent), posted from our page
    page.goto(server.url("/accounts/login/"))
    page.evaluate(
        """() => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = "/accounts/login/";
            for (let i = 0; i < 1100; i++) {
                const input = document.createElement("input");
                input.type = "hidden"; input.name = "f" + i; input.value = "x";
                form.append(input);
            }
            document.body.append(form);
            form.submit();
        }"""
    )
    page.wait_for_load_state()
    expect_error_page(page, "This request could not be understood")

    # 403: a member on the staff console
    sign_in(page, server, "alice")
    response = page.goto(server.url("/console/sessions/"))
    assert response.status == 403
    expect_error_page(page, "You may not open this page")
    # signed in, the error page still carries the way out
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("link", name="Go to the home page").click()
    expect(page).to_have_url(server.url("/"))


def test_when_sudo_mode_runs_out_the_whole_page_says_so_at_once(pages_server, new_context):
    server = pages_server
    page = new_context().new_page()
    page.clock.install()
    sign_in(page, server, "carol")
    page.goto(server.url("/accounts/elevate/?next=/sessions/"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Elevate").click()
    expect(page).to_have_url(re.compile(r"/sessions/$"))

    header = page.locator("[data-elevation-status]")
    message = page.locator(".messages [data-sudo-message]")
    drop = page.get_by_role("button", name="Drop sudo mode")
    pill = page.locator(".is-current .pill-elevated")
    expect(header).to_have_text(re.compile(r"Elevated · 0:(30|29) left"))
    expect(message).to_have_text("Sudo mode is on.")
    expect(drop).to_be_visible()
    expect(pill).to_be_visible()
    expect(page.get_by_role("link", name="Elevate")).to_be_hidden()

    page.clock.run_for(31_000)
    expect(header).to_have_text("Sudo mode ended")
    expect(drop).to_be_hidden()
    expect(message).to_have_text(re.compile(r"^Sudo mode has ended\."))
    expect(pill).to_be_hidden()
    expect(page.locator(".is-current .fact").filter(has_text="Sudo mode")).to_contain_text(
        "Not elevated"
    )
    expect(page.get_by_role("link", name="Elevate")).to_be_visible()
    # said once to a screen reader, not every second
    expect(page.locator("[data-elevation-announce]")).to_have_text("Sudo mode has ended.")


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_a_390_pixel_screen_fits_every_page(pages_server, new_context, who):
    """Nothing wider than the screen, the header in two rows at most (carol: in sudo mode on
    the console), every control at least 24 px high and wide."""
    server = pages_server
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, server, who)
    paths = ["/", "/dashboard/", "/sessions/", "/accounts/activity/", "/accounts/password/"]
    paths += ["/lab/", "/lab/controls/", "/demo/", "/no-such-page/", "/accounts/logout/"]
    if who == "carol":
        page.goto(server.url("/accounts/elevate/"))
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Elevate").click()
        page.wait_for_url(lambda url: "/accounts/elevate/" not in url)
        paths = ["/console/sessions/", f"/console/sessions/?user={who}", "/sessions/"]
    for path in paths:
        page.goto(server.url(path))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        rows = page.evaluate(HEADER_ROWS)
        assert rows <= 2, (path, rows)
        small = page.evaluate(SMALL_TARGETS)
        assert small == [], (path, small)


def test_the_active_nav_link_is_marked_and_counts_are_plural_aware(pages_server, new_context):
    server = pages_server
    page = new_context().new_page()
    name, password = sandbox(page.context, server)
    sign_in(page, server, name, password)
    for label, path in [
        ("Dashboard", "/dashboard/"),
        ("Your sessions", "/sessions/"),
        ("Activity", "/accounts/activity/"),
        ("Password", "/accounts/password/"),
        ("Lab", "/lab/"),
    ]:
        page.goto(server.url(path))
        nav = page.get_by_role("navigation", name="Main")
        current = nav.locator("[aria-current=page]")
        expect(current).to_have_count(1)
        expect(current).to_contain_text(label)
    # one session: singular everywhere
    page.goto(server.url("/sessions/"))
    expect(page.locator("#session-summary")).to_have_text("1 active session")
    expect(page.locator("#session-count")).to_have_text("1 active session")


def test_the_console_counts_one_live_session_in_the_singular(pages_server, new_context):
    server = pages_server
    page = new_context().new_page()
    page.goto(server.url("/demo/"))
    page.get_by_role("button", name="Start a private demo").click()
    staff = page.locator("[data-demo-role=staff]").get_attribute("data-demo-username")
    password = page.locator("[data-demo-password]").get_attribute("data-demo-password")
    sign_in(page, server, staff, password)
    page.goto(server.url("/accounts/elevate/?next=/console/sessions/"))
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Elevate").click()
    expect(page).to_have_url(re.compile(r"/console/sessions/"))
    # the staff user's own session is the only live one of the users it manages (its sandbox)
    expect(page.locator("#live-total")).to_have_text("1 live session across the users you manage")


def test_activity_shows_the_device_an_event_concerned_and_the_device_that_acted(
    pages_server, new_context
):
    server = pages_server
    laptop = new_context(user_agent=FIREFOX_MAC).new_page()
    name, password = sandbox(laptop.context, server)
    sign_in(laptop, server, name, password)
    phone = new_context(user_agent=CHROME_WINDOWS).new_page()
    sign_in(phone, server, name, password)
    phone.goto(server.url("/sessions/"))
    phone.get_by_role("button", name="Sign out all other sessions").click()
    # the header's count follows at once
    expect(phone.locator("#session-count")).to_have_text("1 active session")

    phone.goto(server.url("/accounts/activity/"))
    ended = phone.locator('tr[data-event="session_ended_by_user"]')
    expect(ended).to_have_count(1)
    expect(ended.locator("[data-session-device]")).to_contain_text("Firefox")
    expect(ended.locator("[data-acted-from]")).to_contain_text("Chrome")
    expect(phone.get_by_role("columnheader", name="Session")).to_be_visible()
    expect(phone.get_by_role("columnheader", name="Acted from")).to_be_visible()
    # an event the session's own browser caused: the same device in both
    own = phone.locator('tr[data-event="login"]').first
    expect(own.locator("[data-session-device]")).to_contain_text("Chrome")
    expect(own.locator("[data-acted-from]")).to_contain_text("the same device")


def test_the_prompt_says_which_session_it_ended(pages_server, new_context):
    server = pages_server
    first = new_context(user_agent=FIREFOX_MAC).new_page()
    name, password = sandbox(first.context, server)
    sign_in(first, server, name, password)
    second = new_context(user_agent=CHROME_WINDOWS).new_page()
    sign_in(second, server, name, password)
    third = new_context().new_page()
    third.goto(server.url("/accounts/login/"))
    third.get_by_label("Username").fill(name)
    third.get_by_label("Password").fill(password)
    third.get_by_role("button", name="Sign in").click()
    expect(third.get_by_role("heading", name="Too many sessions")).to_be_visible()
    choice = third.get_by_role("radio", name=re.compile("Firefox"))
    device = re.match(r"[^,]+", choice.evaluate("e => e.labels[0].textContent")).group(0)
    choice.check()
    third.get_by_role("button", name="End it and sign in").click()
    third.wait_for_url(lambda url: "/accounts/" not in url)
    expect(third.locator(".messages")).to_contain_text(
        re.compile(rf"Signed out the session on {re.escape(device)} \(.+\), last active")
    )
    first.goto(server.url("/dashboard/"))
    expect(first).to_have_url(LOGIN)


def test_expires_says_whether_the_idle_or_the_absolute_limit_comes_first(app_server, new_context):
    server = app_server(**NEAR_END, SESSION_MAX_PER_USER="10")
    page = new_context().new_page()
    sign_in(page, server, "alice")
    page.goto(server.url("/sessions/"))
    note = page.locator(".is-current [data-expires-by]")
    expect(note).to_have_attribute("data-expires-by", "idle")
    expect(note).to_contain_text("Idle limit: unless used before then. Absolute limit in")
    # Activity moves the idle deadline past the absolute one (2 s later): the absolute comes first.
    for _ in range(40):
        page.wait_for_timeout(250)  # real server time must pass; each load is activity
        page.reload()
        if note.get_attribute("data-expires-by") == "absolute":
            break
    expect(note).to_have_attribute("data-expires-by", "absolute")
    expect(note).to_have_text("Absolute limit: the longest a sign-in lasts, whatever the activity.")
