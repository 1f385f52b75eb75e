"""Serving a room: the real recipe (deploy/room.py, what `make demo-room` runs) on loopback.

One launcher for the module: nginx (Debian's) on a free port in front of gunicorn on another free
port, a throwaway ROOM_DIR and so a throwaway room CA, the e2e suite's Redis and database.
Chromium trusts that CA the way an attendee's Linux Chrome does: through an NSS database
(``certutil``, libnss3-tools) in a throwaway HOME, so the certificate chain, its SANs and the
CA's name constraints are all verified for real. Without ``certutil`` it falls back to
``--ignore-certificate-errors-spki-list`` with the server key's hash (as e2e/conftest.py does).

The sign-in, sessions-page and idle-timeout flows pass through the proxy; the app must see the
client address nginx reports (nginx itself reaches gunicorn from 127.0.0.2), and believe no
``X-Forwarded-For`` a client forges, through the proxy or straight to gunicorn.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.servers import ROOT, Process, free_port

from .conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, contexts_of, sign_in, spki_hash
from .test_browser_timeout import SHORT, dialog_of, status

FORGED = "203.0.113.9"  # a documentation address (RFC 5737) no test client really has
LOGIN = re.compile(r"/accounts/login/")
BANNER = "Attendees open:"


def _nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


class Room:
    """``deploy/room.py`` running on loopback, stopped as Ctrl-C stops it."""

    def __init__(self, workdir: Path, stores):
        self.dir = workdir / "room"
        self.port = free_port()
        self.http_port = free_port()
        self.app_port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.ca_file = self.dir / "ca" / "room-ca.crt"
        prefix = f"e2e:{uuid.uuid4().hex[:10]}:"
        stores.prefixes.append(prefix)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))
        }
        env.update(
            {
                "ROOM_DIR": str(self.dir),
                "ROOM_HOST": "127.0.0.1",
                "ROOM_PORT": str(self.port),
                "ROOM_HTTP_PORT": str(self.http_port),
                "PORT": str(self.app_port),
                "DEMO_MODE": "1",
                "REDIS_URL": stores.redis_url,
                "REDIS_KEY_PREFIX": prefix,
                "DATABASE_URL": stores.new_database_url("room"),
                "WEB_CONCURRENCY": "2",
                **{k: str(v) for k, v in SHORT.items()},
            }
        )
        for name in ("ALLOWED_HOSTS", "TRUSTED_PROXY_COUNT", "FORWARDED_ALLOW_IPS", "VAR_DIR"):
            env.pop(name, None)  # the recipe's own values, as on a trainer's machine
        self.dir.mkdir(parents=True)
        self.launcher = Process(
            [sys.executable, str(ROOT / "deploy" / "room.py")],
            env=env,
            log_path=self.dir.parent / "room.log",
        )
        self.launcher.wait_until(
            lambda: BANNER in self.output(), what="deploy/room.py", timeout=120
        )

    def output(self) -> str:
        return self.launcher.log_text()

    def url(self, path: str) -> str:
        return self.base_url + path

    def app_peers(self) -> set[str]:
        """The peer addresses gunicorn logged (its access log's first field)."""
        lines = (self.dir / "gunicorn-access.log").read_text().splitlines()
        return {line.split(" ", 1)[0] for line in lines if line}

    def interrupt(self) -> int:
        """Ctrl-C, as at the terminal: the launcher stops nginx and gunicorn and exits."""
        return self.launcher.stop(signal.SIGINT, timeout=30)


@pytest.fixture(scope="module")
def room(e2e_workdir, _stores):
    if not _nginx():
        pytest.skip("nginx is not installed (make test installs it where apt exists)")
    room = Room(e2e_workdir, _stores)
    yield room
    room.interrupt()


@pytest.fixture(scope="module")
def room_browser(playwright_instance, room):
    """Chromium that trusts the room's CA as an installed root (or, without certutil, pins the
    server's key), and nothing else."""
    options = {"headless": True, "args": list(CHROMIUM_ARGS)}
    if Path(CHROMIUM).exists():
        options["executable_path"] = CHROMIUM
    certutil = shutil.which("certutil")
    if certutil:
        home = room.dir.parent / "chromium-home"
        nssdb = home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        db = f"sql:{nssdb}"
        subprocess.run([certutil, "-d", db, "-N", "--empty-password"], check=True)
        subprocess.run(
            [certutil, "-d", db, "-A", "-t", "C,,", "-n", "room-ca", "-i", str(room.ca_file)],
            check=True,
        )
        options["env"] = {**os.environ, "HOME": str(home)}
    else:
        spki = spki_hash((room.dir / "tls" / "server.pem").read_bytes())
        options["args"].append(f"--ignore-certificate-errors-spki-list={spki}")
    browser = playwright_instance.chromium.launch(**options)
    browser.trusts_ca = bool(certutil)
    yield browser
    browser.close()


@pytest.fixture
def room_context(room_browser):
    yield from contexts_of(room_browser, timeout_ms=15_000)


def current_card_ip(page) -> str:
    card = page.locator("[data-session-card].is-current")
    return card.locator(".fact", has_text="IP address").locator("dd").inner_text().strip()


# --- TLS and the CA --------------------------------------------------------------------------


def test_the_room_ca_is_offered_over_http_and_verifies_the_proxy(room):
    with urllib.request.urlopen(f"http://127.0.0.1:{room.http_port}/room-ca.crt", timeout=5) as r:
        assert r.headers["Content-Type"] == "application/x-x509-ca-cert"
        assert r.read() == room.ca_file.read_bytes()
    ca = x509.load_pem_x509_certificate(room.ca_file.read_bytes())
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    assert x509.DNSName("example.com") not in constraints.value.permitted_subtrees

    context = ssl.create_default_context(cafile=str(room.ca_file))  # the CA alone: nothing else
    with urllib.request.urlopen(room.url("/healthz/"), context=context, timeout=5) as r:  # noqa: S310
        assert r.status == 200
        assert "max-age=300" in r.headers["Strict-Transport-Security"]
    # Plain http at the TLS port, or at the CA port, is sent to https.
    for port in (room.port, room.http_port):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/accounts/login/")
        response = conn.getresponse()
        assert response.status in (301, 302)
        assert response.getheader("Location") == room.url("/accounts/login/")
        conn.close()


def test_a_browser_that_does_not_trust_the_room_ca_refuses_it(playwright_instance, room):
    options = {"headless": True, "args": list(CHROMIUM_ARGS)}
    if Path(CHROMIUM).exists():
        options["executable_path"] = CHROMIUM
    browser = playwright_instance.chromium.launch(**options)
    try:
        page = browser.new_page()
        with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(room.url("/accounts/login/"))
    finally:
        browser.close()


# --- Sign-in and the sessions page through the proxy -----------------------------------------


def test_sign_in_through_the_proxy_shows_the_address_the_proxy_reports(room, room_context):
    page = room_context().new_page()
    with page.expect_response(lambda r: r.url.endswith("/accounts/login/")) as first:
        page.goto(room.url("/accounts/login/"))
    assert "max-age=300" in first.value.headers["strict-transport-security"]
    sign_in(page, room)
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-id")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.goto(room.url("/sessions/"))
    assert current_card_ip(page) == "127.0.0.1"  # the browser's address, as nginx saw it
    # ...while gunicorn was reached by nginx only, from its own address: the page's IP came
    # from the X-Forwarded-For entry nginx wrote (TRUSTED_PROXY_COUNT=1).
    peers = room.app_peers()
    assert "127.0.0.2" in peers
    assert status(page, room)["code"] == 200


def test_forged_forwarded_for_through_the_proxy_is_not_believed(room, room_context):
    context = room_context(
        extra_http_headers={"X-Forwarded-For": FORGED, "X-Forwarded-Proto": "http"}
    )
    page = context.new_page()
    sign_in(page, room, username="bob")
    page.goto(room.url("/sessions/"))
    assert current_card_ip(page) == "127.0.0.1"
    expect(page.locator("body")).not_to_contain_text(FORGED)
    page.goto(room.url("/accounts/activity/"))
    expect(page.locator("body")).to_contain_text("127.0.0.1")
    expect(page.locator("body")).not_to_contain_text(FORGED)


class _Direct:
    """A cookie-keeping client that talks to gunicorn itself, bypassing nginx."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port = port
        self.headers = headers
        self.cookie: str | None = None

    def request(self, method, path, form=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        headers = {"Host": "127.0.0.1", **self.headers}
        if self.cookie:
            headers["Cookie"] = f"__Host-id={self.cookie}"
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode()
        finally:
            conn.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("__Host-id="):
                self.cookie = value.split(";", 1)[0].split("=", 1)[1] or None
        return response, text


def test_forged_forwarded_for_straight_to_gunicorn_is_not_believed(room):
    client = _Direct(room.app_port, {"X-Forwarded-For": FORGED, "X-Forwarded-Proto": "https"})
    response, page = client.request("GET", "/accounts/login/")
    assert response.status == 200
    # Not believed to be HTTPS either: no HSTS on the direct answer.
    assert response.getheader("Strict-Transport-Security") is None
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response, _ = client.request(
        "POST",
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": "alice", "password": PASSWORD},
    )
    assert response.status == 302, response.status
    response, page = client.request("GET", "/sessions/")
    assert response.status == 200
    current = re.search(r'<li class="session-card is-current".*?</li>', page, re.S).group(0)
    ip = re.search(r'<dt>IP address</dt><dd class="mono">([^<]*)</dd>', current).group(1)
    assert ip == "127.0.0.1"
    assert FORGED not in page
    _, activity = client.request("GET", "/accounts/activity/")
    assert FORGED not in activity


# --- The idle warning and the idle sign-out through the proxy --------------------------------


def test_idle_warning_stay_signed_in_and_sign_out_now_through_the_proxy(room, room_context):
    page = room_context().new_page()
    page.clock.install()
    sign_in(page, room)
    before = status(page, room)
    dialog = dialog_of(page)
    page.clock.run_for(7_000)
    expect(dialog).to_be_hidden()
    page.clock.run_for(4_500)  # 11.5 s idle: inside the 10 s warning
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(re.compile(r"You will be signed out in 0:0\d"))

    with page.expect_response(lambda r: r.url.endswith("/sessions/keepalive/")) as kept:
        dialog.get_by_role("button", name="Stay signed in").click()
    assert kept.value.status == 200
    expect(dialog).to_be_hidden()
    assert status(page, room)["idle_deadline"] > before["idle_deadline"]

    page.clock.run_for(11_500)
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Sign out now").click()
    expect(page).to_have_url(LOGIN)
    expect(page.get_by_label("Username")).to_be_visible()


def test_doing_nothing_signs_out_for_inactivity_through_the_proxy(room, room_context):
    page = room_context().new_page()
    sign_in(page, room, username="bob")
    expect(dialog_of(page)).to_be_visible(timeout=15_000)
    expect(page).to_have_url(LOGIN, timeout=20_000)
    expect(page.locator("[data-signed-out-reason]")).to_contain_text("inactivity")


# --- The sign-in page's notice on plain HTTP off loopback ------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:8000", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LOCALHOST:8000", True),
        ("demo.localhost:8000", True),
        ("[::1]:8000", True),
        ("192.168.1.20:8000", False),
        ("10.0.0.5", False),
        ("[fd00::2]:8000", False),
        ("laptop.local:8000", False),
        ("localhost.evil.example", False),
        ("", False),
    ],
)
def test_loopback_hosts(host, loopback):
    from project.context_processors import is_loopback_host

    assert is_loopback_host(host) is loopback


def test_the_insecure_origin_notice_shows_on_plain_http_off_loopback_only(rf):
    from django.template.loader import get_template

    from project.context_processors import insecure_origin

    notice = get_template("partials/insecure_origin_notice.html")

    def render(host, secure):
        request = rf.get("/accounts/login/", HTTP_HOST=host, secure=secure)
        return notice.render({"insecure_origin": insecure_origin(request), "request": request})

    html = render("192.168.1.20:8000", secure=False)
    assert "data-insecure-origin" in html
    assert "make demo-room" in html
    assert "192.168.1.20:8000" in html
    assert "data-insecure-origin" not in render("192.168.1.20:8443", secure=True)
    assert "data-insecure-origin" not in render("127.0.0.1:8000", secure=False)
    assert "data-insecure-origin" not in render("localhost:8000", secure=False)


# --- Ctrl-C ----------------------------------------------------------------------------------


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def test_ctrl_c_stops_the_proxy_and_gunicorn(room):
    """Last in the module: stops the room the others used."""
    assert room.interrupt() == 0
    assert _refused(room.port)
    assert _refused(room.http_port)
    assert _refused(room.app_port)
