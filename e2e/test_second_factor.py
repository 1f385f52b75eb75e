"""Issue 17 in Chromium: passkeys through the DevTools virtual authenticator (CTAP2, internal
transport, resident keys, user verification) and one-time codes computed here with pyotp.

WebAuthn needs a secure context and a relying-party ID that is a domain, not an IP address:
these tests use https://localhost:<port> (the test certificate names localhost), and the RP ID
is the request's host name. The profile turns STAFF_REQUIRE_SECOND_FACTOR on and seeds carol's
demo authenticator app.
"""

import re

import pyotp
from playwright.sync_api import expect

PASSWORD = "correct horse battery staple"
PROFILE = {"STAFF_REQUIRE_SECOND_FACTOR": "1", "E2E_SEED_SECOND_FACTOR": "1"}
VERIFY = re.compile(r"/accounts/login/verify/")


def at_localhost(server, path: str) -> str:
    return server.url(path).replace("https://127.0.0.1:", "https://localhost:")


def virtual_authenticator(context, page) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def password_step(page, server, username):
    page.goto(at_localhost(server, "/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_out(page):
    page.get_by_role("button", name="Sign out").first.click()
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_passkey_register_sign_in_elevate_remove(app_server, new_context):
    server = app_server(**PROFILE)
    context = new_context()
    page = context.new_page()
    virtual_authenticator(context, page)

    # carol's demo authenticator key is on the home page (demo mode); a code computed from it
    # is her second step
    page.goto(at_localhost(server, "/"))
    secret = page.locator("[data-demo-totp-secret]").inner_text().strip()
    totp = pyotp.TOTP(secret)
    password_step(page, server, "carol")
    page.wait_for_url(VERIFY)
    page.get_by_label(re.compile("Code from your authenticator app")).fill(totp.now())
    page.get_by_role("button", name="Verify code").click()
    page.wait_for_url(re.compile(r"/dashboard/"))

    # register a passkey (the sign-in was a moment ago: a recent authentication)
    page.goto(at_localhost(server, "/accounts/security/"))
    page.get_by_label("Passkey name").fill("Laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator('[data-passkey="Laptop"]')).to_be_visible()

    # sign in with password + passkey
    sign_out(page)
    password_step(page, server, "carol")
    page.wait_for_url(VERIFY)
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(re.compile(r"/dashboard/"))

    # sudo mode with the passkey alone opens the console (a second factor, within the window)
    page.goto(at_localhost(server, "/console/sessions/"))
    page.wait_for_url(re.compile(r"/accounts/elevate/"))
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url(re.compile(r"/console/sessions/"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    # remove it
    page.goto(at_localhost(server, "/accounts/security/"))
    page.get_by_role("button", name="Remove passkey Laptop").click()
    expect(page.locator('[data-passkey="Laptop"]')).to_have_count(0)
    expect(page.get_by_text("No passkeys yet.")).to_be_visible()


def test_totp_enrolment_then_sign_in_with_a_code(app_server, new_context):
    server = app_server(**PROFILE)
    page = new_context().new_page()
    password_step(page, server, "bob")
    page.wait_for_url(re.compile(r"/dashboard/"))
    page.goto(at_localhost(server, "/accounts/security/"))
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = page.locator("[data-totp-secret]").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("[data-recovery-code]")).to_have_count(10)
    recovery = page.locator("[data-recovery-code]").first.inner_text().strip()

    sign_out(page)
    password_step(page, server, "bob")
    page.wait_for_url(VERIFY)
    page.get_by_label(re.compile("Code from your authenticator app")).fill("000000")
    page.get_by_role("button", name="Verify code").click()
    expect(page.get_by_role("alert").filter(has_text="not correct")).to_be_visible()
    page.get_by_label(re.compile("Code from your authenticator app")).fill(recovery)
    page.get_by_role("button", name="Verify code").click()
    page.wait_for_url(re.compile(r"/dashboard/"))
