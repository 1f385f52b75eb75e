"""Private sandboxes under load (issue 13): 100 visitors at once against real gunicorn.

Each visitor (a thread) starts a sandbox on /demo/ and uses it from two clients: one signs in as
its member and lists its sessions, the other signs in as its staff user, enters sudo mode and
opens the console (and finds its sandbox on /demo/ by being signed in). Every page any visitor
saw is then checked for any other visitor's usernames: there must be none. The run also reports
what the sandboxes cost (Redis memory, database rows) for docs/deployment.md, "Sandboxes".

Each visitor comes from its own address (one trusted proxy, ``X-Forwarded-For``), as a room's
attendees do, so the per-client start limit (5 in 10 minutes) is not what is measured here.
"""

import re
import sqlite3
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.servers import manage

from .conftest import Client, Stack

VISITORS = 100
USERNAME = re.compile(r'data-demo-username="([^"]+)" data-demo-role="(member|staff)"')
PASSWORD = re.compile(r'data-demo-password="([^"]+)"')
LIVE_COUNT = re.compile(r'data-live-count="([^"]+)"')
SESSION_CARD = "data-session-card"


class Visitor(Client):
    """A client whose requests arrive through a proxy that saw ``ip``."""

    def __init__(self, server, ip: str, ua: str):
        super().__init__(server, ua=ua)
        self.ip = ip
        self.timings: list[float] = []

    def request(self, method, path, *, extra=None, **kw):
        response = super().request(
            method, path, extra={"X-Forwarded-For": self.ip, **(extra or {})}, **kw
        )
        self.timings.append(response.elapsed)
        return response


@pytest.fixture(scope="module")
def sandbox_stack(resilience_workdir, collected_static):
    stack = Stack(
        resilience_workdir,
        "sandboxes",
        DEMO_MODE=1,
        DEMO_SANDBOXES=1,
        DEMO_SANDBOX_MAX=1000,
        TRUSTED_PROXY_COUNT=1,
        SESSION_GUESS_LIMIT=1_000_000,
        WEB_CONCURRENCY=2,
        GUNICORN_THREADS=8,
    )
    stack.start_server("a")
    yield stack
    stack.close()


def visit(server, n: int) -> dict:
    ip = f"10.13.{n // 200}.{n % 200 + 1}"
    first = Visitor(server, ip, f"sandbox-load/1.0 (visitor {n}; laptop)")
    second = Visitor(server, ip, f"sandbox-load/1.0 (visitor {n}; phone)")
    pages: list[str] = []

    started = first.post("/demo/", csrf_page="/demo/")
    assert started.status == 302, (n, started.status, started.text[:300])
    demo = first.get("/demo/")
    pages.append(demo.text)
    users = dict(USERNAME.findall(demo.text))
    password = PASSWORD.search(demo.text).group(1)
    assert sorted(users.values()) == ["member", "member", "staff"], (n, users)
    member = next(u for u, r in users.items() if r == "member")
    staff = next(u for u, r in users.items() if r == "staff")

    first.sign_in(member, password)
    listing = first.get("/sessions/")
    assert listing.status == 200 and listing.text.count(SESSION_CARD) == 1, n
    pages += [listing.text, first.get("/accounts/activity/").text]

    second.sign_in(staff, password)
    elevated = second.post("/accounts/elevate/", {"password": password}, csrf_page="/dashboard/")
    assert elevated.status == 302, (n, elevated.status)
    console = second.get("/console/sessions/")
    assert console.status == 200, (n, console.status)
    listed = set(LIVE_COUNT.findall(console.text))
    assert listed == set(users), (n, listed, users)
    mine = second.get(f"/console/sessions/?user={member}")
    assert mine.text.count(SESSION_CARD) == 1, n
    found = second.get("/demo/")  # no sandbox in this session: found through the signed-in user
    assert dict(USERNAME.findall(found.text)) == users, n
    pages += [console.text, mine.text, found.text]
    return {"n": n, "users": set(users), "pages": pages, "timings": first.timings + second.timings}


def test_a_hundred_visitors_never_see_each_others_sandbox(sandbox_stack):
    server = sandbox_stack.servers[0]
    redis = sandbox_stack.raw_redis()
    memory_before = redis.info("memory")["used_memory"]
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=VISITORS) as pool:
        results = list(pool.map(lambda n: visit(server, n), range(VISITORS)))
    elapsed = time.monotonic() - t0

    everyone = {name: r["n"] for r in results for name in r["users"]}
    assert len(everyone) == 3 * VISITORS  # every username unique
    for r in results:
        others = everyone.keys() - r["users"]
        for page in r["pages"]:
            seen = set(re.findall(r"\b(?:alice|bob|carol)-[a-z2-9]{4}\b", page))
            assert not seen & others, (r["n"], sorted(seen & others)[:5])

    timings = sorted(t for r in results for t in r["timings"])
    memory_after = redis.info("memory")["used_memory"]
    keys = redis.dbsize()
    kinds: dict[str, int] = {}
    for key in redis.scan_iter(match=f"{sandbox_stack.prefix}*", count=1000):
        kind = key.decode().removeprefix(sandbox_stack.prefix)
        kind = re.sub(r"\{[0-9a-f]{64}\}|(?<=:)[\d.]+(?=:|$)|(?<=-)[a-z2-9]{4}$", "*", kind)
        kinds[kind] = kinds.get(kind, 0) + 1
    with sqlite3.connect(sandbox_stack.workdir / "db.sqlite3") as db:
        rows = {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in (
                "demo_sandbox",
                "demo_sandboxuser",
                "accounts_user",
                "sessions_admin_securityevent",
            )
        }
    print(
        f"\n{VISITORS} visitors, {len(timings)} requests in {elapsed:.1f} s: "
        f"p50 {statistics.median(timings) * 1000:.0f} ms, "
        f"p95 {timings[int(len(timings) * 0.95)] * 1000:.0f} ms, "
        f"max {timings[-1] * 1000:.0f} ms; "
        f"Redis +{(memory_after - memory_before) / VISITORS / 1024:.1f} KiB and "
        f"{keys / VISITORS:.1f} keys per sandbox (2 sessions); rows {rows}; "
        f"keys {dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:12])}"
    )
    assert rows["demo_sandbox"] == VISITORS and rows["demo_sandboxuser"] == 3 * VISITORS
    assert elapsed < 60

    # Removing them all (what expiry does): users, events and live sessions go; what stays is
    # each ended session's reason (END_REASON_RETENTION) and the start counters (10 minutes).
    manage("prune_sandboxes", "--all", env=sandbox_stack.env)
    with sqlite3.connect(sandbox_stack.workdir / "db.sqlite3") as db:
        left = db.execute("SELECT COUNT(*) FROM demo_sandboxuser").fetchone()[0]
        left += db.execute(
            "SELECT COUNT(*) FROM accounts_user WHERE username LIKE 'alice-%'"
        ).fetchone()[0]
        events = db.execute("SELECT COUNT(*) FROM sessions_admin_securityevent").fetchone()[0]
    assert left == 0 and events == 0
    # No live session of a removed user is left: what remains are pre-login tombstones (the
    # anonymous keys signing in rotated away), no user's, gone within SESSION_ROTATION_GRACE.
    for key in redis.scan_iter(match=f"{sandbox_stack.prefix}sess:*:data"):
        meta = redis.hgetall(key.decode().replace(":data", ":meta"))
        assert not meta.get(b"uid") and meta.get(b"successor"), meta
        assert redis.ttl(key) <= 30
    assert not list(redis.scan_iter(match=f"{sandbox_stack.prefix}throttle:*"))
    kept = (redis.info("memory")["used_memory"] - memory_before) / VISITORS
    print(
        f"after removal: Redis +{kept:.0f} B and {redis.dbsize() / VISITORS:.1f} keys per sandbox"
    )
