"""Redis round trips per request, counted on the real connection (and named with MONITOR).

A round trip is one write of packed commands to the socket and the wait for its replies: one
``send_packed_command`` call (a pipeline's commands go in one).
"""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME


@pytest.fixture
def round_trips(monkeypatch):
    """Count send_packed_command calls (round trips) and record the commands packed for them.

    The wrappers call straight through to the real connection: nothing is faked.
    """
    from redis.connection import AbstractConnection

    log = {"trips": 0, "commands": []}
    send, pack_one, pack_many = (
        AbstractConnection.send_packed_command,
        AbstractConnection.pack_command,
        AbstractConnection.pack_commands,
    )

    def counting_send(self, command, check_health=True):
        log["trips"] += 1
        return send(self, command, check_health)

    def recording_pack(self, *args):
        log["commands"].append(str(args[0]))
        return pack_one(self, *args)

    def recording_pack_many(self, commands):
        log["commands"].extend(str(c[0]) for c in commands)
        return pack_many(self, commands)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_send)
    monkeypatch.setattr(AbstractConnection, "pack_command", recording_pack)
    monkeypatch.setattr(AbstractConnection, "pack_commands", recording_pack_many)

    class Counter:
        commands: list[str] = []

        def measure(self, fn):
            before, log["commands"] = log["trips"], []
            fn()
            self.commands = list(log["commands"])
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
    """Without the header's lazy session count, the engine's whole cost is the load pipeline."""
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
    assert round_trips.commands == ["GET", "HGETALL"]


def test_authenticated_dashboard_round_trips(signed_in, round_trips):
    n = round_trips.measure(lambda: signed_in.get("/dashboard/"))
    # load (GET + HGETALL, pipelined) = 1; the header badge's session count = 1 ZCOUNT, no writes.
    assert n == 2, round_trips.commands


def test_activity_write_adds_one_round_trip(signed_in, round_trips, frozen_clock, capsys):
    frozen_clock.advance(60)
    n = round_trips.measure(lambda: signed_in.get("/dashboard/"))
    with capsys.disabled():
        print(f"\n  GET /dashboard/ with a touch: {n} round trips: {round_trips.commands}")
    assert round_trips.commands.count("HSET") == 1  # last_seen, pipelined with the TTLs
    assert round_trips.measure(lambda: signed_in.get("/dashboard/")) == n - 1
