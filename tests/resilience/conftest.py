"""Resilience tests: the real app under gunicorn on plain loopback HTTP, real redis-servers we own.

* ``pair``: two gunicorn instances on two ports sharing one embedded Redis, one database, one set
  of secrets and one key prefix (a scaled-out deployment). Concurrency, scale-out and fuzz tests
  use it.
* ``faulty``: one gunicorn whose embedded Redis the tests stop, pause, fill and restart.
* ``app_env``, ``create_users`` and ``meta_key`` build these stacks, and test_sentinel.py's on a
  Sentinel topology.

Cookies are ``Secure``; a browser would not send them over http, but these clients do (as any load
tool does), which keeps TLS out of the way of what is measured here.
"""

import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from project.embedded_redis import EmbeddedRedis
from tests.servers import ROOT, Gunicorn, manage

PASSWORD = "correct horse battery staple"
COOKIE = "__Host-id"
UA = "resilience-tests/1.0 (loopback)"
USERS = [f"ruser{i:02d}" for i in range(8)]


class Response:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def set_cookies(self) -> list[str]:
        return [v for k, v in self.headers if k.lower() == "set-cookie"]

    def header(self, name) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def send(port, method, path, *, headers=None, body=None, timeout=10.0) -> Response:
    """One request on its own connection; headers may be str or bytes values."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return Response(r.status, r.getheaders(), r.read(), time.monotonic() - t0)
    finally:
        conn.close()


class Client:
    """A cookie-keeping HTTP client for one 'browser' (Secure cookies sent over loopback http)."""

    def __init__(self, server, *, ua: str = UA):
        self.server = server
        self.ua = ua
        self.cookies: dict[str, str] = {}

    @property
    def session_key(self) -> str | None:
        return self.cookies.get(COOKIE)

    def request(self, method, path, *, form=None, server=None, cookie=None, extra=None):
        headers = {"Host": "127.0.0.1", "User-Agent": self.ua}
        key = cookie if cookie is not None else self.session_key
        if key is not None:
            headers["Cookie"] = f"{COOKIE}={key}"
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers.update(extra or {})
        response = send((server or self.server).port, method, path, headers=headers, body=body)
        if cookie is None:
            self._remember(response)
        return response

    def _remember(self, response):
        for raw in response.set_cookies():
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            expired = "expires=Thu, 01 Jan 1970" in raw or "Max-Age=0" in raw
            if expired or not value or value == '""':
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def csrf_token(self, path="/accounts/login/", **kw) -> str:
        page = self.get(path, **kw)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert found, f"no CSRF token on {path} ({page.status})"
        return found.group(1)

    def post(self, path, form=None, *, csrf_page="/dashboard/", **kw):
        form = dict(form or {})
        form.setdefault("csrfmiddlewaretoken", self.csrf_token(csrf_page, **kw))
        return self.request("POST", path, form=form, **kw)

    def sign_in(self, username, password=PASSWORD, **kw) -> Response:
        token = self.csrf_token("/accounts/login/", **kw)
        form = {"csrfmiddlewaretoken": token, "username": username, "password": password}
        response = self.request("POST", "/accounts/login/", form=form, **kw)
        assert response.status == 302, (response.status, response.text[:500])
        assert self.session_key
        return response


def app_env(
    workdir: Path,
    redis_env: dict[str, str],
    *,
    tag: str,
    drop: tuple[str, ...] = ("PYTEST", "DJANGO_SETTINGS"),
    **overrides,
) -> dict[str, str]:
    """gunicorn's and manage.py's environment: this process's less the ``drop`` prefixes, fresh
    secrets, a database and a key prefix (``<tag[:3]>:<random>:``) of its own, ``redis_env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DEMO_MODE": "0",
            "DEBUG": "0",
            "SECRET_KEY": f"{tag}-secret-" + uuid.uuid4().hex * 2,
            "SESSION_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SESSION_KEY_PEPPER": f"{tag}-pepper-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "VAR_DIR": str(workdir),
            **redis_env,
            "REDIS_KEY_PREFIX": f"{tag[:3]}:{uuid.uuid4().hex[:8]}:",
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "4",
            "GUNICORN_CERTFILE": "",
            "GUNICORN_KEYFILE": "",
            **{k: str(v) for k, v in overrides.items()},
        }
    )
    return env


def create_users(env: dict[str, str], names: list[str], *, staff=()) -> dict[str, int]:
    """Users with the password PASSWORD in the app's database: their ids by name."""
    printed = manage(
        "shell",
        "-c",
        "import json\n"
        "from accounts.models import User\n"
        f"for name in {names!r}:\n"
        f"    u = User(username=name, is_staff=name in {list(staff)!r})\n"
        f"    u.set_password({PASSWORD!r})\n"
        "    u.save()\n"
        f"print(json.dumps(dict(User.objects.filter(username__in={names!r})"
        ".values_list('username', 'pk'))))",
        env=env,
    )
    return json.loads(printed.strip().splitlines()[-1])


def meta_key(env: dict[str, str], session_key: str) -> str:
    """The Redis key of a session's metadata hash under ``env``'s pepper and key prefix."""
    pepper = env["SESSION_KEY_PEPPER"].encode()
    digest = hmac.new(pepper, session_key.encode(), hashlib.sha256).hexdigest()
    return f"{env['REDIS_KEY_PREFIX']}sess:{{{digest}}}:meta"


class Stack:
    """Redis, database, secrets and prefix shared by the gunicorn instances started from it."""

    def __init__(self, workdir: Path, name: str, **env_overrides):
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True)
        self.redis = EmbeddedRedis(self.workdir / "redis.sock").start()
        self.env = app_env(
            self.workdir,
            {"REDIS_URL": self.redis.url},
            tag="resilience",
            # staff (ruser07...) use the console with the password alone in these runs
            **{"STAFF_REQUIRE_SECOND_FACTOR": "0", **env_overrides},
        )
        self.prefix = self.env["REDIS_KEY_PREFIX"]
        self.servers: list[Server] = []
        manage("migrate", "--noinput", "-v0", env=self.env)
        create_users(self.env, USERS, staff=USERS[-1:])

    def start_server(self, name: str, **env) -> "Server":
        server = Server(self, name, **env)
        self.servers.append(server)
        return server

    def raw_redis(self):
        import redis

        return redis.Redis.from_url(self.redis.url, socket_timeout=10)

    def meta(self, session_key: str) -> dict[str, str]:
        raw = self.raw_redis().hgetall(meta_key(self.env, session_key))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def restart_redis(self):
        self.redis.stop()
        self.redis = EmbeddedRedis(self.workdir / "redis.sock").start()

    def close(self):
        for server in self.servers:
            server.stop()
        self.redis.stop()


class Server(Gunicorn):
    """A gunicorn of ``stack`` (its environment, plus ``env``), on plain loopback HTTP."""

    def __init__(self, stack, name: str, *, ready_statuses=(200,), **env):
        self.name = name
        super().__init__(
            {
                **stack.env,
                "GUNICORN_ACCESS_LOG": str(stack.workdir / f"access-{name}.log"),
                **{k: str(v) for k, v in env.items()},
            },
            log_path=stack.workdir / f"gunicorn-{name}.log",
            ready_statuses=ready_statuses,
        )


@pytest.fixture(scope="session")
def resilience_workdir():
    (ROOT / "var").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="resilience-", dir=ROOT / "var"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def pair_stack(resilience_workdir, collected_static):
    """Two app instances, one Redis: activity written every second so writes race for real."""
    stack = Stack(
        resilience_workdir,
        "pair",
        SESSION_ACTIVITY_RESOLUTION=1,
        SESSION_IDLE_TIMEOUT=600,
        SESSION_ROTATION_GRACE=30,
        SESSION_GUESS_LIMIT=1_000_000,
        LOGIN_FAILURE_LIMIT=1_000_000,
        SESSION_MAX_PER_USER=50,
        SESSION_CONCURRENCY_POLICY="evict_oldest",
    )
    stack.start_server("a")
    stack.start_server("b")
    yield stack
    stack.close()


@pytest.fixture(scope="session")
def faulty_stack(resilience_workdir, collected_static):
    stack = Stack(resilience_workdir, "faulty", REDIS_TIMEOUT=1.0)
    stack.start_server("a")
    yield stack
    stack.close()
