"""axe-core (through axe-playwright-python) on the pages a learner sees: signed out, signed in,
the staff console, the lab, the error pages, and the idle-warning dialog open. No serious or
critical violation anywhere (issue 14)."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

LOGIN = re.compile(r"/accounts/login/")
BLOCKING = {"serious", "critical"}
SIGNED_OUT = ["/", "/accounts/login/", "/demo/", "/lab/", "/lab/controls/", "/no-such-page/"]
SIGNED_IN = [
    "/",
    "/dashboard/",
    "/sessions/",
    "/accounts/activity/",
    "/accounts/password/",
    "/accounts/elevate/",
    "/lab/",
    "/no-such-page/",
]
axe = Axe()


def blocking(page) -> list[str]:
    results = axe.run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # it ran, under our CSP
    return [
        f"{v['id']} ({v['impact']}): {v['help']} @ {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]


@pytest.fixture
def short(app_server):
    return app_server(
        SESSION_IDLE_TIMEOUT=20,
        SESSION_IDLE_WARNING=10,
        SESSION_ACTIVITY_RESOLUTION=1,
        SESSION_ABSOLUTE_TIMEOUT=600,
        SESSION_MAX_PER_USER=50,
        SESSION_CONCURRENCY_POLICY="evict_oldest",
    )


def test_no_serious_violation_signed_out(page, server):
    found = {}
    for path in SIGNED_OUT:
        page.goto(server.url(path))
        found[path] = blocking(page)
    assert found == {path: [] for path in SIGNED_OUT}


def test_no_serious_violation_signed_in(page, server, signed_in):
    signed_in(page, server, username="alice")
    found = {}
    for path in SIGNED_IN:
        page.goto(server.url(path))
        found[path] = blocking(page)
    assert found == {path: [] for path in SIGNED_IN}


def test_no_serious_violation_in_the_staff_console(page, server, signed_in):
    signed_in(page, server, username="carol")
    page.goto(server.url("/accounts/elevate/"))
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Elevate").click()
    page.goto(server.url("/console/sessions/"))
    expect(page).to_have_url(re.compile(r"/console/sessions/"))
    assert blocking(page) == []


def test_no_serious_violation_with_a_what_just_happened_note(page, server, signed_in):
    signed_in(page, server, username="carol")
    page.goto(server.url("/accounts/elevate/?next=/sessions/"))
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Elevate").click()
    expect(page.locator("[data-what-happened]")).to_be_visible()
    assert blocking(page) == []


def test_no_serious_violation_with_the_idle_warning_open(page, short, signed_in):
    page.clock.install()
    signed_in(page, short)
    page.clock.run_for(11_500)
    expect(page.get_by_role("alertdialog")).to_be_visible()
    assert blocking(page) == []


def test_the_lab_fits_a_390_pixel_screen(new_context, server, signed_in):
    page = new_context(viewport={"width": 390, "height": 844}).new_page()
    for signed in (False, True):
        if signed:
            signed_in(page, server, username="bob")
        page.goto(server.url("/lab/"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (signed, width)
        assert blocking(page) == []
