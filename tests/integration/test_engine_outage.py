"""The store is down or hung: a 503 that says so, keeps the cookie, and recovers by itself.

Real redis-servers only: a socket nobody listens on, and a second embedded redis-server that
the test pauses with CLIENT PAUSE (a hung server, not a dead one).
"""

import copy
import tempfile
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.test import Client
from django_redis.pool import ConnectionFactory

from project.embedded_redis import EmbeddedRedis

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME


@pytest.fixture
def point_sessions_at(settings):
    """Point the "sessions" cache somewhere else; django-redis' pools are reset either way."""
    original = copy.deepcopy(settings.CACHES)

    def point(location: str, timeout: float | None = None):
        caches = copy.deepcopy(original)
        caches["sessions"]["LOCATION"] = location
        if timeout is not None:
            caches["sessions"]["OPTIONS"]["SOCKET_TIMEOUT"] = timeout
            caches["sessions"]["OPTIONS"]["SOCKET_CONNECT_TIMEOUT"] = timeout
        settings.CACHES = caches  # setting_changed resets django.core.cache.caches

    def restore():
        settings.CACHES = copy.deepcopy(original)

    point.restore = restore
    yield point
    restore()
    for pool in list(ConnectionFactory._pools.values()):
        pool.disconnect()
    ConnectionFactory._pools.clear()


def assert_unavailable(response):
    assert response.status_code == 503
    body = response.content.decode()
    assert "Temporarily unavailable" in body and "not been signed out" in body
    assert "Traceback" not in body and "redis" not in body.lower()
    assert response["Retry-After"] == "5"
    # The cookie is kept: neither replaced nor deleted.
    assert COOKIE not in response.cookies


def test_redis_down_is_a_503_that_keeps_the_cookie(make_user, sign_in, point_sessions_at):
    make_user("alice")
    c = Client(raise_request_exception=False)
    sign_in(c)
    key = c.cookies[COOKIE].value
    point_sessions_at(f"unix://{tempfile.gettempdir()}/no-redis-here-{key[:8]}.sock")
    assert_unavailable(c.get("/dashboard/"))
    assert_unavailable(c.post("/accounts/logout/"))
    assert c.cookies[COOKIE].value == key
    assert c.get("/healthz/").status_code == 503
    point_sessions_at.restore()
    assert c.get("/dashboard/").status_code == 200  # still signed in: nothing was lost


def test_redis_down_while_saving_a_new_session_is_the_503_too(point_sessions_at):
    """The failure is raised in SessionMiddleware's save, outside any view: the engine's
    StoreOutageMiddleware (outside SessionMiddleware) still answers its 503 page."""
    point_sessions_at(f"unix://{tempfile.gettempdir()}/no-redis-here-save.sock")
    response = Client(raise_request_exception=False).get("/accounts/login/")
    assert_unavailable(response)
    assert "Secure Sessions" in response.content.decode()  # this project's override of the page


def test_the_engine_ships_its_own_503_page(settings):
    """Without this project's override (templates/sessions_admin/503.html), the engine's own."""
    from sessions_admin.middleware import store_unavailable

    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]
    response = store_unavailable()
    body = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert "not been signed out" in body and "Secure Sessions" not in body


@pytest.fixture
def second_redis():
    workdir = Path(tempfile.mkdtemp(prefix="ss-hung-"))
    server = EmbeddedRedis(workdir / "r.sock").start()
    admin = redis.Redis(unix_socket_path=str(server.sock_path))
    yield server, admin
    admin.close()
    server.stop()


def test_redis_hung_is_a_503_within_the_timeout_and_recovers(
    make_user, sign_in, point_sessions_at, second_redis
):
    server, admin = second_redis
    timeout = 0.5
    point_sessions_at(server.url, timeout=timeout)
    make_user("alice")
    c = Client(raise_request_exception=False)
    sign_in(c)
    key = c.cookies[COOKIE].value
    assert c.get("/dashboard/").status_code == 200
    # Paused for three timeouts: the server is there but answers nothing (even CLIENT UNPAUSE
    # would wait), then comes back by itself.
    admin.execute_command("CLIENT", "PAUSE", int(timeout * 3000), "ALL")
    started = time.monotonic()
    response = c.get("/dashboard/")
    elapsed = time.monotonic() - started
    assert_unavailable(response)
    assert elapsed < timeout * 3, elapsed  # one timeout, not a retried one
    assert admin.ping()  # answered as soon as the pause ends
    # Recovery: the same process, the same pool, the same cookie; nothing restarted.
    assert c.get("/dashboard/").status_code == 200
    assert c.cookies[COOKIE].value == key


def test_a_failed_exchange_never_leaves_a_reply_for_the_next_command(redis_prefix):
    """The load's one write of two commands (redis_keys.exchange) failing on the first reply:
    the second reply, unread, must not answer whoever takes the connection from the pool next
    (another request's session read, say). exchange closes that connection at once: the server
    sees it gone before anyone takes a connection from the pool again. (redis-py's pool would
    also drop a connection holding unread data when it hands it out, but only if that data has
    arrived by then.)"""
    from redis.exceptions import ResponseError

    from sessions_admin.redis_keys import connection, exchange

    conn = connection()
    text, mine, theirs = (f"{redis_prefix}{name}" for name in ("text", "mine", "theirs"))
    conn.set(text, "not a number")
    conn.set(mine, "my payload")
    conn.set(theirs, "their payload")
    pooled = conn.client_id()  # the connection the pool hands out next (last in, first out)
    with pytest.raises(ResponseError):
        exchange(_packed(("INCR", text), ("GET", mine)), 2)
    # Looked at from outside the pool (asking through it would make the pool check it).
    pool = conn.connection_pool
    outside = redis.Redis(
        connection_pool=redis.ConnectionPool(
            connection_class=pool.connection_class, **pool.connection_kwargs
        )
    )
    try:
        deadline = time.monotonic() + 2
        while pooled in _client_ids(outside) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pooled not in _client_ids(outside)
    finally:
        outside.close()
    assert conn.get(theirs) == b"their payload"
    assert exchange(_packed(("GET", theirs), ("GET", mine)), 2) == [
        b"their payload",
        b"my payload",
    ]


def _client_ids(client) -> set[int]:
    return {int(c["id"]) for c in client.client_list()}


def _packed(*commands) -> bytes:
    from redis.connection import Connection

    return b"".join(bytes(part) for part in Connection().pack_commands(commands))
