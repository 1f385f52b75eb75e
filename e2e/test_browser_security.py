"""What the browser itself sees: headers over HTTPS, the CSP, the cookie, and the Back button."""

import re

import pytest
from playwright.sync_api import expect

from e2e.test_browser_tabs import end_other_sessions
from e2e.test_browser_timeout import SHORT, dialog_of

LOGIN = re.compile(r"/accounts/login/")
# Report every CSP violation on the console, whatever Chromium itself logs.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
});
"""


@pytest.fixture
def short(app_server):
    return app_server(**SHORT)


@pytest.fixture
def watched(new_context):
    """A context whose pages record every CSP violation in ``context.csp_violations``."""

    def make(**options):
        context = new_context(**options)
        context.csp_violations = []
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on(
            "console",
            lambda m: "Content Security Policy" in m.text and context.csp_violations.append(m.text),
        )
        return context

    return make


def test_no_page_violates_the_content_security_policy(watched, short, signed_in):
    context = watched()
    context.clock.install()
    page = context.new_page()
    pages = ["/", "/accounts/login/"]
    for path in pages:
        page.goto(short.url(path))
    signed_in(page, short)
    for path in ["/", "/dashboard/", "/sessions/", "/accounts/activity/", "/accounts/password/"]:
        response = page.goto(short.url(path))
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert page.locator("script:not([src])").count() == 0, f"inline script on {path}"
        assert page.locator("[style]").count() == 0, f"style attribute on {path}"
    page.goto(short.url("/dashboard/"))
    page.clock.run_for(11_500)  # the idle warning, with its styles and script
    expect(dialog_of(page)).to_be_visible()
    assert context.csp_violations == []


def test_security_headers_over_https(watched, short, signed_in):
    page = watched().new_page()
    response = page.goto(short.url("/accounts/login/"))
    headers = response.headers
    assert page.url.startswith("https://")
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]
    assert "no-store" in headers["cache-control"]

    signed_in(page, short)
    private = page.goto(short.url("/dashboard/")).headers
    assert "no-store" in private["cache-control"] and "Cookie" in private["vary"]

    # Static files are fingerprinted and cached for a year (immutable).
    script = page.locator("script[src*='session-timeout']").get_attribute("src")
    assert re.search(r"session-timeout\.[0-9a-f]{12}\.js$", script), script
    cache_control = page.evaluate(
        "async (url) => (await fetch(url, {cache: 'no-store'})).headers.get('cache-control')",
        script,
    )
    assert "immutable" in cache_control
    max_age = int(re.search(r"max-age=(\d+)", cache_control).group(1))
    assert max_age >= 365 * 24 * 3600


def test_session_cookie_is_out_of_scripts_reach(watched, short, signed_in):
    page = watched().new_page()
    signed_in(page, short)
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-id")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/" and cookie["expires"] == -1
    assert cookie["value"] not in page.evaluate("document.cookie")
    body = page.evaluate(
        "async () => await (await fetch('/sessions/status/', "
        "{headers: {Accept: 'application/json'}})).text()"
    )
    assert cookie["value"] not in body and cookie["value"] not in page.content()


def test_back_after_sign_out_never_shows_the_private_page(bfcache_browser, short, signed_in):
    context = bfcache_browser.new_context()
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        signed_in(page, short)
        page.goto(short.url("/sessions/"))
        page.goto(short.url("/dashboard/"))
        expect(page.locator("[data-private]")).to_be_visible()
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(LOGIN)

        page.go_back(wait_until="commit")
        expect(page).to_have_url(LOGIN)
        expect(page.get_by_label("Username")).to_be_visible()
        expect(page.locator("[data-private]")).to_have_count(0)
    finally:
        context.close()


def test_back_to_a_cached_page_after_the_session_ended_elsewhere(
    bfcache_browser, new_context, short, signed_in
):
    """The cookie never changed in this browser, so Chromium restores the no-store dashboard from
    its back/forward cache; the page's pageshow handler asks the server and leaves."""
    context = bfcache_browser.new_context()
    context.set_default_timeout(10_000)
    try:
        laptop = context.new_page()
        signed_in(laptop, short, username="carol")
        expect(laptop.locator("[data-private]")).to_be_visible()
        laptop.goto(short.url("/healthz/"))
        phone = new_context().new_page()
        signed_in(phone, short, username="carol")
        assert end_other_sessions(phone, short) in (0, 302)

        laptop.go_back(wait_until="commit")
        expect(laptop).to_have_url(LOGIN)
        expect(laptop.locator("[data-private]")).to_have_count(0)
        expect(laptop.locator("[data-signed-out-reason]")).to_contain_text("another device")
    finally:
        context.close()
