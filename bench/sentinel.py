"""Sentinel: what a durable sign-in (Redis WAIT) costs, and how long a failover takes.

``python -m bench.sentinel [sign_ins] [failovers]`` starts its own topology on loopback (a
primary, a replica, three Sentinels: tests/redis_topology.py) and runs the engine in this
process on the project's settings, configured by ``REDIS_SENTINELS`` as a deployment would be:

* sign-in: ``sign_ins`` full sign-in POSTs (Django's test client: the form, Argon2id, the
  session's rotation and save) with ``SIGN_IN_REPLICAS`` 0 and 1, interleaved; and the WAIT
  alone: a one-key write pipelined with and without ``WAIT 1``.
* failover: ``failovers`` times, a fresh topology, a signed-in session, ``kill -9`` of the
  primary, then the session loaded in a loop until it loads again; the seconds from the kill to
  the Sentinels naming the new primary and to the first successful load.

Writes bench/results/sentinel.{json,md}. No timed assertions.
"""

import json
import os
import runpy
import shutil
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

from cryptography.fernet import Fernet

from .stats import summary

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PASSWORD = "correct horse battery staple"
sys.path.insert(0, str(ROOT))

from tests.redis_topology import SentinelTopology, wait_until  # noqa: E402


def _environment(workdir: Path, topology: SentinelTopology) -> None:
    for name in [k for k in os.environ if k.startswith("REDIS_")]:
        del os.environ[name]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SECRET_KEY": "bench-secret-" + uuid.uuid4().hex * 2,
            "SESSION_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SESSION_KEY_PEPPER": "bench-pepper-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "VAR_DIR": str(workdir),
            "STATIC_ROOT": str(workdir / "static"),
            "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
            "DEMO_MODE": "0",
            "DEBUG": "0",
            "SESSION_MAX_PER_USER": "1000",
            "SESSION_CONCURRENCY_POLICY": "evict_oldest",
            "LOGIN_FAILURE_LIMIT": "1000000",
            **topology.env(),
        }
    )


def _replicas(n: int):
    """Sign-ins wait for ``n`` replicas."""
    from django.conf import settings
    from django.test import override_settings

    return override_settings(SESSIONS_ADMIN={**settings.SESSIONS_ADMIN, "SIGN_IN_REPLICAS": n})


def sign_in_cost(topology: SentinelTopology, sign_ins: int) -> dict:
    from django.test import Client

    from accounts.models import User
    from sessions_admin import registry
    from sessions_admin.redis_keys import connection

    user = User(username="bench-sentinel")
    user.set_password(PASSWORD)
    user.save()
    times = {0: [], 1: []}
    for i in range(sign_ins * 2):
        replicas = i % 2  # interleaved, so drift in machine load hits both alike
        with _replicas(replicas):
            client = Client()
            client.get("/accounts/login/")
            t0 = time.perf_counter()
            response = client.post(
                "/accounts/login/", {"username": user.username, "password": PASSWORD}
            )
            times[replicas].append(time.perf_counter() - t0)
        assert response.status_code == 302, response.status_code
        infos = registry.list_sessions(user.pk)
        registry.end_many([s.digest for s in infos], reason="logout", uid=str(user.pk))

    conn = connection()
    raw = {"write": [], "write_wait": []}
    for i in range(400):
        wait = i % 2
        pipe = conn.pipeline(transaction=False)
        pipe.set(f"bench-sentinel:{i}", "x" * 1000, px=60_000)
        if wait:
            pipe.execute_command("WAIT", 1, 500)
        t0 = time.perf_counter()
        replies = pipe.execute()
        raw["write_wait" if wait else "write"].append(time.perf_counter() - t0)
        assert not wait or replies[-1] == 1, replies
    post0, post1 = summary(times[0], 1e3), summary(times[1], 1e3)
    return {
        "signin_post_ms_no_wait": post0,
        "signin_post_ms_wait_1": post1,
        "signin_wait_cost_ms": round(post1["median"] - post0["median"], 2),
        "write_ms": summary(raw["write"], 1e3),
        "write_wait_1_ms": summary(raw["write_wait"], 1e3),
        "wait_alone_ms": round(
            summary(raw["write_wait"], 1e3)["median"] - summary(raw["write"], 1e3)["median"], 3
        ),
    }


def failover_timeline(workdir: Path, runs: int) -> dict:
    from django.conf import settings
    from django.test import override_settings

    from sessions_admin import crypto
    from sessions_admin.redis_keys import StoreUnavailable, meta_key
    from sessions_admin.store import SessionStore

    promoted, first_load, refused = [], [], []
    for run in range(runs):
        with SentinelTopology(
            workdir / f"failover-{run}", name=f"failover{run}", sentinel_password=uuid.uuid4().hex
        ) as topology:
            os.environ.update(topology.env())
            # The project's own settings code, for this topology (as a deployment gets it).
            cache = runpy.run_path(str(ROOT / "project" / "settings.py"))["CACHES"]["sessions"]
            with override_settings(CACHES={**settings.CACHES, "sessions": cache}):
                session = SessionStore()
                session["bench"] = run
                session.create()
                key = session.session_key
                held = meta_key(crypto.key_digest(key))
                wait_until(
                    partial(topology.replicas[0].client().exists, held), 5, "session replicated"
                )
                old = topology.master_address()
                topology.node_at(old).kill()
                t_kill = time.monotonic()
                failures, when_promoted = 0, None
                while True:
                    try:
                        if SessionStore(key).load().get("bench") == run:
                            break
                    except StoreUnavailable:
                        failures += 1
                    address = topology.master_address()
                    if when_promoted is None and address not in (None, old):
                        when_promoted = time.monotonic() - t_kill
                    if time.monotonic() - t_kill > 60:
                        raise TimeoutError("no failover within 60 s")
                    time.sleep(0.02)
                first_load.append(time.monotonic() - t_kill)
                promoted.append(when_promoted if when_promoted is not None else first_load[-1])
                refused.append(failures)
    return {
        "failover_runs": runs,
        "kill_to_new_primary_s": summary(promoted),
        "kill_to_first_load_s": summary(first_load),
        "kill_to_first_load_max_s": round(max(first_load), 2),
        "store_unavailable_answers": refused,
    }


def main(argv: list[str]) -> int:
    numbers = [int(a) for a in argv if a.isdigit()]
    sign_ins = numbers[0] if numbers else 50
    failovers = numbers[1] if len(numbers) > 1 else 3
    (ROOT / "var").mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-sentinel-", dir=ROOT / "var"))
    topology = SentinelTopology(workdir / "redis", sentinel_password="bench-" + uuid.uuid4().hex)
    try:
        topology.start()
        _environment(workdir, topology)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        results = {
            "redis_server": topology.binary,
            "load": [round(x, 2) for x in os.getloadavg()],
            **sign_in_cost(topology, sign_ins),
            **failover_timeline(workdir, failovers),
        }
    finally:
        topology.close()
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sentinel.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "sentinel.md").write_text(_markdown(results))
    print(_markdown(results))
    return 0


def _markdown(r: dict) -> str:
    a, b = r["signin_post_ms_no_wait"], r["signin_post_ms_wait_1"]
    w0, w1 = r["write_ms"], r["write_wait_1_ms"]
    f, p = r["kill_to_first_load_s"], r["kill_to_new_primary_s"]
    return "\n".join(
        [
            "# Sentinel: durable sign-in and failover (bench/sentinel.py)",
            "",
            f"Loopback, {r['redis_server']}, load average {r['load']}.",
            "",
            "| measure | median | p10 | p90 | n |",
            "| --- | --- | --- | --- | --- |",
            f"| sign-in POST, no WAIT (ms) | {a['median']} | {a['p10']} | {a['p90']} | {a['n']} |",
            f"| sign-in POST, WAIT 1 (ms) | {b['median']} | {b['p10']} | {b['p90']} | {b['n']} |",
            f"| 1 kB write (ms) | {w0['median']} | {w0['p10']} | {w0['p90']} | {w0['n']} |",
            f"| 1 kB write + WAIT 1 (ms) | {w1['median']} | {w1['p10']} | {w1['p90']} "
            f"| {w1['n']} |",
            f"| kill -9 to new primary named (s) | {p['median']} | {p['p10']} | {p['p90']} "
            f"| {p['n']} |",
            f"| kill -9 to session loads again (s) | {f['median']} | {f['p10']} | {f['p90']} "
            f"| {f['n']} |",
            "",
            f"WAIT's cost on a sign-in: {r['signin_wait_cost_ms']} ms (median difference); "
            f"WAIT alone: {r['wait_alone_ms']} ms. Slowest failover: "
            f"{r['kill_to_first_load_max_s']} s.",
            "",
        ]
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
