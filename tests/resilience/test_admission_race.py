"""Item 5: parallel sign-ins of one user never leave more live sessions than the limit.

Twelve browsers, each with its own pre-login session and CSRF token, send the last byte of
their sign-in POST at one barrier (``fire``, shared with the throttle race); the test asserts the
requests overlapped, then counts the user's live sessions by trying every cookie the server
handed out. gunicorn runs 4 workers x 10 threads: more than the twelve requests.
"""

import pytest

from .conftest import PASSWORD, USERS, Client, Stack
from .test_throttle_race import _raw, assert_overlapped, fire

LIMIT = 3
PARALLEL = 12


@pytest.fixture(scope="module", params=["deny_new", "evict_oldest"])
def stack(request, resilience_workdir, collected_static):
    stack = Stack(
        resilience_workdir,
        f"admission-{request.param}",
        WEB_CONCURRENCY=4,
        GUNICORN_THREADS=10,
        TRUSTED_PROXY_COUNT=1,
        SESSION_MAX_PER_USER=LIMIT,
        SESSION_CONCURRENCY_POLICY=request.param,
    )
    stack.policy = request.param
    stack.start_server("a")
    yield stack
    stack.close()


def test_item5_parallel_sign_ins_never_exceed_the_session_limit(stack):
    (server,) = stack.servers
    username = USERS[1]
    requests, pre_login_keys = [], []
    for i in range(PARALLEL):
        browser = Client(server)
        token = browser.csrf_token("/accounts/login/")
        form = {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
        address = f"198.51.100.{i + 1}"
        requests.append(_raw("/accounts/login/", form, address=address, cookie=browser.session_key))
        pre_login_keys.append(browser.session_key)

    shots = fire(server.port, requests)
    margin = assert_overlapped(shots, LIMIT)

    admitted = [s for s in shots if s.status == 302]
    live = 0
    for shot, pre_login in zip(shots, pre_login_keys, strict=True):
        if shot.status != 302:
            continue
        # The browser's cookie: the new key, or (a sign-in evicted while in flight, which gets
        # no cookie) still its pre-login key, which must then say why it is not signed in.
        browser = Client(server)
        page = browser.get("/dashboard/", cookie=shot.session_key or pre_login)
        live += page.status == 200
        if page.status != 200:
            told = browser.get(page.header("Location"), cookie=shot.session_key or pre_login)
            assert "signed in on another device" in told.text, told.text[:400]
    index = stack.raw_redis().zcard(f"{stack.prefix}user:{_uid(stack, username)}:sessions")

    assert live <= LIMIT, f"{live} live sessions (limit {LIMIT}); overlap margin {margin:.3f}s"
    assert index <= LIMIT
    if stack.policy == "deny_new":
        assert len(admitted) == LIMIT, [s.status for s in shots]
        assert sorted({s.status for s in shots}) == [302, 409]
        assert live == LIMIT
    else:
        assert len(admitted) == PARALLEL, [s.status for s in shots]
        assert live == LIMIT


def _uid(stack: Stack, username: str) -> int:
    import sqlite3

    with sqlite3.connect(stack.workdir / "db.sqlite3", timeout=30) as db:
        (uid,) = db.execute(
            "SELECT id FROM accounts_user WHERE username = ?", (username,)
        ).fetchone()
    return uid
