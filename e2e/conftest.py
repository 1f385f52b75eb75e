"""Browser tests: the real app under gunicorn over HTTPS, real Redis, Debian's Chromium.

* One gunicorn per settings profile (``app_server(**env)`` returns a cached server for the same
  overrides), each with its own SQLite database (or its own PostgreSQL database when
  DATABASE_URL is set: created here, dropped at the end) and its own Redis key prefix.
* A test CA from trustme signs the server's certificate; Chromium trusts exactly that key
  (``--ignore-certificate-errors-spki-list``), so HTTPS is real and nothing else is ignored.
* Chromium is /usr/bin/chromium, launched by Playwright with ``executable_path``.
"""

import base64
import hashlib
import os
import shutil
import ssl
import tempfile
import uuid
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.servers import ROOT, Gunicorn, manage

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"
ARTIFACTS = ROOT / "e2e" / "artifacts"

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "1")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def redis_prefix():
    """Browser tests talk to their servers over HTTP; the unit-test Redis fixture is not needed."""
    return None


def spki_hash(cert_pem: bytes) -> str:
    """What Chromium's ``--ignore-certificate-errors-spki-list`` names: the certificate's key."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class _TLS:
    def __init__(self, workdir: Path):
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.certfile = workdir / "server.pem"
        self.keyfile = workdir / "server.key"
        cert.cert_chain_pems[0].write_to_path(str(self.certfile))
        cert.private_key_pem.write_to_path(str(self.keyfile))
        self.ca_file = workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.spki_hash = spki_hash(cert.cert_chain_pems[0].bytes())


class _Stores:
    """The Redis and database the servers use: embedded / SQLite, or the machine's own."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.redis_url = os.environ.get("REDIS_URL", "")
        self.embedded = None
        if not self.redis_url:
            from project.embedded_redis import EmbeddedRedis

            self.embedded = EmbeddedRedis(workdir / "redis.sock").start()
            self.redis_url = self.embedded.url
        self.database_url = os.environ.get("DATABASE_URL", "")
        self.created_databases: list[str] = []
        self.prefixes: list[str] = []

    def new_database_url(self, name: str) -> str:
        if not self.database_url:
            return f"sqlite:///{self.workdir / name}.sqlite3"
        import psycopg
        from psycopg import sql

        db = f"e2e_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
        self.created_databases.append(db)
        base, _, _ = self.database_url.rpartition("/")
        return f"{base}/{db}"

    def close(self):
        import redis

        client = redis.Redis.from_url(self.redis_url)
        for prefix in self.prefixes:
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
        client.close()
        if self.database_url and self.created_databases:
            import psycopg
            from psycopg import sql

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                for db in self.created_databases:
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(db)
                        )
                    )
        if self.embedded:
            self.embedded.stop()


class AppServer(Gunicorn):
    """One gunicorn master serving the app over HTTPS with one settings profile."""

    def __init__(self, *, name, env_overrides, tls: _TLS, stores: _Stores, workdir: Path):
        self.prefix = f"e2e:{uuid.uuid4().hex[:10]}:"
        stores.prefixes.append(self.prefix)
        self.var_dir = workdir / name
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))
        }
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "project.settings",
                "DEMO_MODE": "1",
                "VAR_DIR": str(self.var_dir),
                "REDIS_URL": stores.redis_url,
                "REDIS_KEY_PREFIX": self.prefix,
                "DATABASE_URL": stores.new_database_url(name),
                "GUNICORN_CERTFILE": str(tls.certfile),
                "GUNICORN_KEYFILE": str(tls.keyfile),
                "GUNICORN_ACCESS_LOG": str(self.var_dir / "access.log"),
                "WEB_CONCURRENCY": "2",
                # carol (staff) signs in on two or three browsers in several flows; the app's
                # default staff limit is 1 (tests of that limit pass their own value)
                "SESSION_MAX_PER_STAFF": "3",
                # staff use the console with the password alone here (demo mode's default,
                # explicit); e2e/test_second_factor.py turns it on in its own profile
                "STAFF_REQUIRE_SECOND_FACTOR": "0",
            }
        )
        self.env.update({k: str(v) for k, v in env_overrides.items()})
        manage("migrate", "--noinput", "-v0", env=self.env)
        # carol without her demo authenticator app unless a profile asks for it (the
        # second-factor tests do: E2E_SEED_SECOND_FACTOR=1); every other flow signs her in with
        # the password alone
        seed = ["--force"] + (
            [] if env_overrides.get("E2E_SEED_SECOND_FACTOR") else ["--no-second-factor"]
        )
        manage("seed_demo", *seed, env=self.env)
        super().__init__(
            self.env,
            log_path=self.var_dir / "gunicorn.log",
            tls=ssl.create_default_context(cafile=str(tls.ca_file)),
        )


@pytest.fixture(scope="session")
def e2e_workdir():
    path = Path(tempfile.mkdtemp(prefix="e2e-", dir=ROOT / "var"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def tls(e2e_workdir):
    return _TLS(e2e_workdir)


@pytest.fixture(scope="session")
def _stores(e2e_workdir):
    stores = _Stores(e2e_workdir)
    yield stores
    stores.close()


@pytest.fixture(scope="session")
def app_server(tls, _stores, e2e_workdir):
    """``app_server(SESSION_IDLE_TIMEOUT=30)``: the server for that profile, started once."""
    manage(
        "collectstatic",
        "--noinput",
        "-v0",
        env={**os.environ, "DEMO_MODE": "1", "DJANGO_SETTINGS_MODULE": "project.settings"},
    )
    servers: dict[tuple, AppServer] = {}

    def get(**env_overrides) -> AppServer:
        key = tuple(sorted((k, str(v)) for k, v in env_overrides.items()))
        if key not in servers:
            servers[key] = AppServer(
                name=f"profile{len(servers)}",
                env_overrides=env_overrides,
                tls=tls,
                stores=_stores,
                workdir=e2e_workdir,
            )
        return servers[key]

    yield get
    for server in servers.values():
        server.stop()


@pytest.fixture
def server(app_server):
    """The default demo-mode server."""
    return app_server()


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def _launch(playwright_instance, tls, **extra):
    args = [*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={tls.spki_hash}"]
    options = {"headless": True, "args": args, **extra}
    if Path(CHROMIUM).exists():
        options["executable_path"] = CHROMIUM
    return playwright_instance.chromium.launch(**options)


@pytest.fixture(scope="session")
def browser(playwright_instance, tls):
    browser = _launch(playwright_instance, tls)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def bfcache_browser(playwright_instance, tls):
    """Chromium with the back/forward cache enabled (Playwright disables it by default)."""
    browser = _launch(
        playwright_instance, tls, ignore_default_args=["--disable-back-forward-cache"]
    )
    yield browser
    browser.close()


@pytest.fixture
def new_context(browser):
    """``new_context()`` opens a fresh browser profile (a separate device); closed after."""
    yield from contexts_of(browser, timeout_ms=10_000)


def contexts_of(browser, *, timeout_ms: int):
    """For a fixture to ``yield from``: ``make(**options)`` opens a browser context with this
    default timeout; every context it opened is closed when the fixture ends."""
    contexts = []

    def make(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(timeout_ms)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


def sign_in(page, server, username="alice", password=PASSWORD):
    page.goto(server.url("/accounts/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def signed_in():
    return sign_in


def readme_screenshot(name: str) -> Path:
    """Where a test writes a screenshot: the README's own (docs/screenshots/) only under
    ``make screenshots`` (README_SCREENSHOTS=1), else a throwaway file under var/, so that
    ``make test`` leaves the work tree as it found it."""
    if os.environ.get("README_SCREENSHOTS") == "1":
        path = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / name
    else:
        path = Path(__file__).resolve().parent.parent / "var" / "e2e-screenshots" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
