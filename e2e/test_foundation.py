import re

from playwright.sync_api import expect


def test_sign_in_dashboard_sign_out_back_shows_no_private_data(bfcache_browser, server, signed_in):
    context = bfcache_browser.new_context()
    page = context.new_page()
    try:
        signed_in(page, server)
        page.goto(server.url("/dashboard/"))
        expect(page.locator("[data-private]")).to_contain_text("balance")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        page.go_back(wait_until="commit")
        page.wait_for_load_state("domcontentloaded")
        expect(page.locator("[data-private]")).to_have_count(0)
        expect(page.get_by_label("Username")).to_be_visible()
    finally:
        context.close()


def test_served_over_https_with_secure_httponly_cookie(page, server, signed_in):
    signed_in(page, server)
    assert page.url.startswith("https://")
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-id")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert cookie["expires"] == -1
    assert "__Host-id" not in page.evaluate("document.cookie")
