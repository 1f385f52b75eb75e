"""Many users, many parallel requests, two app instances: no cross-user leak, no lost metadata,
and a rotation racing parallel requests stays inside the grace window.

What the design guarantees (docs/architecture.md): security metadata (auth_at, last_seen, uid,
ip, ua) is written field by field and is never lost to a concurrent save; the payload itself is
whole-payload, last-writer-wins, so it is not asserted on here.
"""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .conftest import USERS, Client

REQUESTS_PER_USER = 12
KEEPALIVES_PER_USER = 4


def _owner_of(body: str) -> list[str]:
    return [name for name in USERS if f"<strong>{name}</strong>" in body]


def test_parallel_requests_of_many_users_never_see_another_users_session(pair_stack):
    a, b = pair_stack.servers
    clients = {}
    for i, name in enumerate(USERS):
        client = Client(a if i % 2 else b)
        client.sign_in(name)
        clients[name] = client
    tokens = {name: c.csrf_token("/dashboard/") for name, c in clients.items()}
    before = {name: pair_stack.meta(c.session_key) for name, c in clients.items()}

    def get(name, i):
        client = clients[name]
        server = a if i % 2 else b
        r = client.get("/dashboard/", server=server, cookie=client.session_key)
        return name, "get", r

    def keepalive(name, i):
        client = clients[name]
        r = client.request(
            "POST",
            "/sessions/keepalive/",
            server=a if i % 2 else b,
            cookie=client.session_key,
            extra={"X-CSRFToken": tokens[name], "Accept": "application/json"},
        )
        return name, "keepalive", r

    jobs = [(get, n, i) for n in USERS for i in range(REQUESTS_PER_USER)]
    jobs += [(keepalive, n, i) for n in USERS for i in range(KEEPALIVES_PER_USER)]
    deadline = time.monotonic() + 45
    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(fn, n, i) for fn, n, i in jobs]
        results = [f.result(timeout=max(1, deadline - time.monotonic())) for f in futures]

    for name, kind, r in results:
        assert r.status == 200, (name, kind, r.status, r.text[:300])
        if kind == "get":
            assert _owner_of(r.text) == [name], (name, _owner_of(r.text))
        else:
            assert '"authenticated": true' in r.text, (name, r.text)

    for name, client in clients.items():
        after = pair_stack.meta(client.session_key)
        for field in ("uid", "created_at", "last_seen", "auth_at", "ip", "ua"):
            assert after.get(field), (name, field, after)
        assert after["uid"] == before[name]["uid"]
        assert after["auth_at"] == before[name]["auth_at"]
        assert after["created_at"] == before[name]["created_at"]
        assert float(after["last_seen"]) >= float(before[name]["last_seen"])
        assert not after.get("end_reason"), after
        final = client.get("/dashboard/")
        assert final.status == 200 and _owner_of(final.text) == [name]


def _elevate(client, server):
    page = client.get("/accounts/elevate/", server=server)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return client.request(
        "POST",
        "/accounts/elevate/",
        server=server,
        form={"csrfmiddlewaretoken": token, "password": "correct horse battery staple"},
    )


class Race:
    """Hammer threads and one racing action, with the proof that they overlapped.

    The action starts once every hammer has had an answer (an Event, not a sleep), and the
    hammers keep going until they have each sent a few requests after it finished. Each request
    records (start, end); ``overlapping`` are those in flight while the action was.
    """

    def __init__(self, hammers: int, after: int = 3):
        self.ready = threading.Barrier(hammers + 1)
        self.done = threading.Event()
        self.after = after
        self.span = (0.0, 0.0)

    def hammer(self, send):
        seen, answered, after = [], False, 0
        while after < self.after and len(seen) < 400:
            t0 = time.monotonic()
            response = send()
            seen.append((t0, time.monotonic(), response))
            if not answered:
                answered = True
                self.ready.wait(timeout=30)
            elif self.done.is_set():
                after += 1
        return seen

    def act(self, action):
        self.ready.wait(timeout=30)
        t0 = time.monotonic()
        try:
            return action()
        finally:
            self.span = (t0, time.monotonic())
            self.done.set()

    def overlapping(self, seen):
        start, end = self.span
        return [r for t0, t1, r in seen if t0 < end and t1 > start]


def test_rotation_racing_parallel_requests_does_not_trip_the_tripwire(pair_stack):
    a, b = pair_stack.servers
    staff = USERS[-1]
    client = Client(a)
    client.sign_in(staff)
    old_key = client.session_key
    race = Race(hammers=5)

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [
            pool.submit(
                race.hammer,
                lambda i=i: client.get("/dashboard/", server=a if i % 2 else b, cookie=old_key),
            )
            for i in range(5)
        ]
        rotated = race.act(lambda: _elevate(client, a))
        seen = [r for f in futures for r in f.result(timeout=60)]

    assert race.overlapping(seen), "no request was in flight during the rotation"
    assert rotated.status == 302, rotated.status
    new_key = client.session_key
    assert new_key and new_key != old_key
    for _t0, _t1, r in seen:
        # Inside the grace window the old key still reads, with its old privileges.
        assert r.status == 200, (r.status, r.header("Location"))
        assert _owner_of(r.text) == [staff]
        assert not any(c.startswith("__Host-id=") for c in r.set_cookies()), r.set_cookies()
    after = client.get("/dashboard/", server=b)
    assert after.status == 200 and _owner_of(after.text) == [staff]
    assert not pair_stack.meta(new_key).get("end_reason")


def test_sign_in_rotation_racing_requests_on_the_pre_login_key(pair_stack):
    a, b = pair_stack.servers
    client = Client(a)
    token = client.csrf_token("/accounts/login/")
    anonymous_key = client.session_key
    race = Race(hammers=3)

    def sign_in():
        return client.request(
            "POST",
            "/accounts/login/",
            form={
                "csrfmiddlewaretoken": token,
                "username": USERS[0],
                "password": "correct horse battery staple",
            },
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(
                race.hammer,
                lambda i=i: client.get(
                    "/accounts/login/", server=a if i % 2 else b, cookie=anonymous_key
                ),
            )
            for i in range(3)
        ]
        signed_in = race.act(sign_in)
        seen = [r for f in futures for r in f.result(timeout=60)]
    assert race.overlapping(seen), "no request was in flight during the sign-in"
    assert signed_in.status == 302
    assert client.session_key != anonymous_key
    assert all(r.status < 500 for _t0, _t1, r in seen), sorted({r.status for *_, r in seen})
    # An obsolete pre-login key never hands the browser a cookie that would replace its new one.
    assert not any(r.set_cookies() for _t0, t1, r in seen if t1 > race.span[1])
    page = client.get("/dashboard/", server=b)
    assert page.status == 200 and _owner_of(page.text) == [USERS[0]]
