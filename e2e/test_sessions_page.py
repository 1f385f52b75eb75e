"""'Your sessions' in a real browser: devices are separate browser profiles with their own UAs.

Also writes docs/screenshots/your-sessions.png (three devices) for the README.
"""

import re

import pytest
from playwright.sync_api import expect

from e2e.conftest import readme_screenshot

LINUX_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
PIXEL_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Mobile Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
# Documentation address ranges (RFC 5737).
LAPTOP_IP, PHONE_IP, DESK_IP = "203.0.113.24", "198.51.100.7", "192.0.2.144"
VIEWPORT = {"width": 1200, "height": 800}


@pytest.fixture
def roomy(app_server):
    """Five sessions per user, evicting the oldest: three devices never meet the prompt.

    Production timeouts (not the demo's 2 minutes), and one trusted proxy, so each browser
    profile can stand for a device on its own network (X-Forwarded-For below).
    """
    return app_server(
        SESSION_MAX_PER_USER=5,
        SESSION_CONCURRENCY_POLICY="evict_oldest",
        SESSION_IDLE_TIMEOUT=900,
        SESSION_ABSOLUTE_TIMEOUT=28800,
        ELEVATION_TIMEOUT=600,
        TRUSTED_PROXY_COUNT=1,
    )


@pytest.fixture
def open_device(new_context, roomy, signed_in):
    def open_(user_agent, username="alice", *, ip, **options):
        headers = {"X-Forwarded-For": ip, "X-Forwarded-Proto": "https"}
        context = new_context(user_agent=user_agent, extra_http_headers=headers, **options)
        context.set_default_timeout(30_000)  # two shared cores: Argon2 sign-ins can queue
        page = context.new_page()
        signed_in(page, roomy, username)
        return page

    return open_


def card(page, device_name):
    return page.locator("[data-session-card]").filter(has_text=device_name)


def test_laptop_ends_the_phone_and_the_phone_is_told_why(open_device, roomy):
    laptop = open_device(LINUX_CHROME, "bob", ip=LAPTOP_IP, viewport=VIEWPORT)
    phone = open_device(PIXEL_CHROME, "bob", ip=PHONE_IP)
    laptop.goto(roomy.url("/sessions/"))
    expect(card(laptop, "Chrome 156 on Linux")).to_contain_text("This device")
    expect(card(laptop, "Chrome 156 on Android")).not_to_contain_text("This device")

    end = laptop.get_by_role("button", name=f"End session on Chrome 156 on Android, {PHONE_IP}")
    end.click()
    expect(laptop.get_by_role("status")).to_contain_text(
        "Ended the session on Chrome 156 on Android"
    )
    expect(card(laptop, "Chrome 156 on Android")).to_have_count(0)

    phone.goto(roomy.url("/dashboard/"))
    expect(phone).to_have_url(re.compile(r"/accounts/login/"))
    expect(phone.get_by_role("alert")).to_have_text("This session was ended from another device.")
    laptop.goto(roomy.url("/dashboard/"))
    expect(laptop).to_have_url(re.compile(r"/dashboard/"))


def test_sign_out_all_other_sessions(open_device, roomy):
    laptop = open_device(LINUX_CHROME, "carol", ip=LAPTOP_IP)
    phone = open_device(PIXEL_CHROME, "carol", ip=PHONE_IP)
    desk = open_device(WINDOWS_FIREFOX, "carol", ip=DESK_IP)
    laptop.goto(roomy.url("/sessions/"))
    expect(laptop.locator("[data-session-card]")).to_have_count(3)
    laptop.get_by_role("button", name="Sign out all other sessions").click()
    expect(laptop.get_by_role("status")).to_contain_text("Signed out 2 other sessions.")
    expect(laptop.locator("[data-session-card]")).to_have_count(1)
    for other in (phone, desk):
        other.goto(roomy.url("/dashboard/"))
        expect(other).to_have_url(re.compile(r"/accounts/login/"))
        expect(other.get_by_role("alert")).to_contain_text("ended from another device")


def test_exact_times_are_reachable_by_keyboard(open_device, roomy):
    laptop = open_device(LINUX_CHROME, "bob", ip=LAPTOP_IP)
    laptop.goto(roomy.url("/sessions/"))
    last_active = card(laptop, "Chrome 156 on Linux").locator("time[data-exact]").first
    last_active.focus()
    expect(last_active).to_be_focused()
    expect(last_active).to_have_attribute("title", re.compile(r"\d{4}, \d\d:\d\d:\d\d UTC$"))


def test_screenshot_your_sessions_with_three_devices(open_device, roomy):
    open_device(WINDOWS_FIREFOX, "alice", ip=DESK_IP)
    open_device(IPHONE_SAFARI, "alice", ip=PHONE_IP)
    laptop = open_device(LINUX_CHROME, "alice", ip=LAPTOP_IP, viewport=VIEWPORT)
    laptop.goto(roomy.url("/sessions/"))
    cards = laptop.locator("[data-session-card]")
    expect(cards).to_have_count(3)
    expect(cards.filter(has_text="This device")).to_contain_text("Chrome 156 on Linux")
    expect(cards.filter(has_text="Safari 18 on iPhone")).to_have_count(1)
    expect(cards.filter(has_text="Firefox 128 on Windows")).to_have_count(1)
    shot = readme_screenshot("your-sessions.png")
    # The demo banner describes the demo's defaults, which this profile overrides: leave it out.
    top = laptop.locator(".site-header").bounding_box()["y"]
    height = laptop.evaluate("document.documentElement.scrollHeight")
    clip = {"x": 0, "y": top, "width": VIEWPORT["width"], "height": min(800, height - top)}
    laptop.screenshot(path=str(shot), full_page=True, clip=clip, animations="disabled")
    assert shot.stat().st_size > 10_000
