"""Redis round trips per request, counted on the real connection and named from what was sent.

A round trip is one write of packed commands to the socket and the wait for its replies: one
``send_packed_command`` call (a pipeline's commands go in one).
"""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME
# Redis Cluster (tests/resilience/test_cluster.py runs this file there): a write spanning a
# session and its user's index is two ordered round trips where one server takes one MULTI or
# script (docs/deployment.md, "Redis Cluster"). Reads stay one round trip.
CLUSTER = bool(getattr(settings, "REDIS_CLUSTER", False))
# The load (store._read): one write of GET and HMGET on one server, one script in Cluster.
LOAD = ["EVAL"] if CLUSTER else ["GET", "HMGET"]


def _command_names(packed) -> list[str]:
    """The command names in one packed RESP write (enough to name them; not a full parser)."""
    raw = b"".join(bytes(p) for p in packed) if isinstance(packed, list | tuple) else packed
    names, lines = [], bytes(raw).split(b"\r\n")
    for i, line in enumerate(lines):
        if line.startswith(b"*") and i + 2 < len(lines) and lines[i + 1].startswith(b"$"):
            names.append(lines[i + 2].decode(errors="replace").upper())
    return names


@pytest.fixture
def round_trips(monkeypatch):
    """Count send_packed_command calls (round trips) and name the commands each one carried.

    The wrapper calls straight through to the real connection: nothing is faked.
    """
    from redis.connection import AbstractConnection

    log = {"trips": 0, "commands": [], "each": []}
    send = AbstractConnection.send_packed_command

    def counting_send(self, command, check_health=True):
        log["trips"] += 1
        log["commands"].extend(_command_names(command))
        log["each"].append(_command_names(command))
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send)

    class Counter:
        commands: list[str] = []
        each: list[list[str]] = []  # the commands of each round trip

        def measure(self, fn):
            before, log["commands"], log["each"] = log["trips"], [], []
            fn()
            self.commands = list(log["commands"])
            self.each = list(log["each"])
            return log["trips"] - before

    return Counter()


@pytest.fixture
def signed_in(make_user, sign_in, frozen_clock):
    make_user("alice")
    c = Client()
    sign_in(c)
    c.get("/dashboard/")  # settle: first render stores nothing more
    frozen_clock.advance(1)
    return c


def test_authenticated_dashboard_is_one_round_trip_without_the_badge(
    signed_in, round_trips, settings
):
    """Without the header's lazy session count, the engine's whole cost is the load script."""
    processor = "sessions_admin.context_processors.session_ui"
    settings.TEMPLATES = [
        {
            **t,
            "OPTIONS": {
                **t["OPTIONS"],
                "context_processors": [
                    p for p in t["OPTIONS"]["context_processors"] if p != processor
                ],
            },
        }
        for t in settings.TEMPLATES
    ]
    n = round_trips.measure(lambda: signed_in.get("/dashboard/"))
    assert signed_in.get("/dashboard/").status_code == 200
    assert n == 1, round_trips.commands
    assert round_trips.commands == LOAD  # the payload and the metadata


def test_authenticated_dashboard_round_trips(signed_in, round_trips):
    """The full page, header badge and timeout data included: one round trip (issue 12)."""
    n = round_trips.measure(lambda: signed_in.get("/dashboard/"))
    page = signed_in.get("/dashboard/").content.decode()
    # load (GET + HMGET in one write) = 1; the badge's count is a field of the metadata hash.
    assert n == 1, round_trips.commands
    assert round_trips.commands == LOAD
    assert 'id="session-count">1<' in page


def test_activity_write_adds_one_round_trip(signed_in, round_trips, frozen_clock, capsys):
    frozen_clock.advance(60)
    n = round_trips.measure(lambda: signed_in.get("/dashboard/"))
    with capsys.disabled():
        print(f"\n  GET /dashboard/ with a touch: {n} round trips: {round_trips.commands}")
    # last_seen, the TTLs, the index score and the badge count: one script, before the view
    # (Cluster: the index's script, then the session's).
    assert n == (3 if CLUSTER else 2), round_trips.commands
    assert round_trips.commands[-1] in ("EVAL", "EVALSHA"), round_trips.commands
    assert round_trips.measure(lambda: signed_in.get("/dashboard/")) == 1


def test_sign_in_round_trips(make_user, round_trips, capsys):
    """A sign-in POST through the form, counted on the real connection (hashing aside)."""
    make_user("alice")
    c = Client()
    c.get("/accounts/login/")
    post = {"username": "alice", "password": "correct horse battery staple"}
    n = round_trips.measure(lambda: c.post("/accounts/login/", post))
    trips = round_trips.each
    with capsys.disabled():
        print(f"\n  sign-in POST: {n} round trips: {trips}")
    assert c.get("/dashboard/").status_code == 200
    # issue 12: load; the throttle's reservation with the user's index read (before hashing);
    # admission's compare-and-set with the throttle's bookkeeping; the rotation and first save
    # in one script. Cluster (slots apart, and an EVAL is never pipelined there: the cluster
    # pipeline would look its keys up first): load, reservation, index read, compare-and-set,
    # throttle's bookkeeping, rotation, the save's index step, then its session step.
    assert n == (8 if CLUSTER else 4), trips
    if not CLUSTER:  # (the load, trips[0], has its own tests above)
        assert trips[1] == ["EVAL", "ZRANGE"]
        assert trips[2][0] == "EVAL" and "ZADD" in trips[2]  # CAS, then the throttle's writes
        assert trips[3] == ["EVAL"]
