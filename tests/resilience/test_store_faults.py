"""The session store fails; the app fails closed and says so, and recovers by itself.

One gunicorn on its own embedded redis-server, which these tests stop, pause, fill and restart.
A store outage is a 503 that says the service is temporarily unavailable: no traceback, no
anonymous fallback, and the cookie is kept (no Set-Cookie clearing it), so the user is still
signed in once Redis answers again. A restarted Redis that persists nothing has lost every
session: the user is then asked to sign in again (acceptable; persistence is a deployment choice,
docs/deployment.md).
"""

import time

import pytest

from .conftest import COOKIE, USERS, Client


@pytest.fixture
def stack(faulty_stack):
    """Each test starts with a running Redis with no memory limit."""
    if faulty_stack.redis.process is None or faulty_stack.redis.process.poll() is not None:
        faulty_stack.restart_redis()
    faulty_stack.raw_redis().config_set("maxmemory", 0)
    _wait_healthy(faulty_stack.servers[0])
    yield faulty_stack
    if faulty_stack.redis.process.poll() is not None:
        faulty_stack.restart_redis()
    faulty_stack.raw_redis().config_set("maxmemory", 0)


def _wait_healthy(server, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        r = Client(server).get("/healthz/")
        if r.status == 200:
            return r
        assert time.monotonic() < deadline, (r.status, r.text)
        time.sleep(0.1)


def _assert_clear_503(r):
    assert r.status == 503, (r.status, r.text[:300])
    assert "temporarily unavailable" in r.text.lower()
    assert "Traceback" not in r.text and 'File "' not in r.text
    assert not [c for c in r.set_cookies() if c.startswith(f"{COOKIE}=")], r.set_cookies()


def test_redis_stopped_answers_503_keeps_the_cookie_and_never_falls_back_to_anonymous(stack):
    server = stack.servers[0]
    client = Client(server)
    client.sign_in(USERS[0])
    assert client.get("/dashboard/").status == 200
    stack.redis.stop()
    for path in ("/dashboard/", "/", "/sessions/"):
        r = client.get(path)
        _assert_clear_503(r)
        assert r.header("Retry-After")
    assert Client(server).get("/healthz/").status == 503


def test_redis_restarted_is_picked_up_without_restarting_the_app(stack):
    server = stack.servers[0]
    client = Client(server)
    client.sign_in(USERS[1])
    old_key = client.session_key
    stack.redis.stop()
    _assert_clear_503(client.get("/dashboard/"))
    stack.restart_redis()
    _wait_healthy(server)
    # Nothing was persisted: the session is gone, so the user is asked to sign in again.
    gone = client.get("/dashboard/", cookie=old_key)
    assert gone.status == 302
    assert gone.header("Location").startswith("/accounts/login/")
    fresh = Client(server)
    fresh.sign_in(USERS[1])
    page = fresh.get("/dashboard/")
    assert page.status == 200 and f"<strong>{USERS[1]}</strong>" in page.text


def test_redis_hung_answers_503_within_about_the_redis_timeout(stack):
    server = stack.servers[0]
    client = Client(server)
    client.sign_in(USERS[2])
    stack.raw_redis().execute_command("CLIENT", "PAUSE", 3000, "ALL")
    paused_at = time.monotonic()
    r = client.get("/dashboard/")
    _assert_clear_503(r)
    assert r.elapsed < 2.5, r.elapsed  # REDIS_TIMEOUT is 1.0 s: no retries multiply it
    time.sleep(max(0.0, 3.2 - (time.monotonic() - paused_at)))
    _wait_healthy(server)
    page = client.get("/dashboard/")
    assert page.status == 200, "still signed in once Redis answers again"


def test_redis_full_answers_503_to_writes(stack):
    server = stack.servers[0]
    client = Client(server)
    client.sign_in(USERS[3])
    token = client.csrf_token("/dashboard/")
    conn = stack.raw_redis()
    conn.config_set("maxmemory-policy", "noeviction")
    conn.config_set("maxmemory", 1)
    try:
        # A new visitor's session cannot be created...
        _assert_clear_503(Client(server).get("/accounts/login/"))
        # ...and a signed-in user's write (activity) is refused the same way.
        r = client.request(
            "POST",
            "/sessions/keepalive/",
            cookie=client.session_key,
            extra={"X-CSRFToken": token, "Accept": "application/json"},
        )
        _assert_clear_503(r)
    finally:
        conn.config_set("maxmemory", 0)
    assert client.get("/dashboard/").status == 200
