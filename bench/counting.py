"""Count Redis round trips and SQL queries made by the code under measurement.

A round trip is one ``send_packed_command`` on a redis-py connection: a single command, a whole
pipeline (MULTI/EXEC or not) and an EVAL are one each. Commands are counted separately, from the
server's own ``total_commands_processed``.
"""

import contextlib
import threading

from redis.connection import AbstractConnection

_lock = threading.Lock()
_counts = {"round_trips": 0}
_original = AbstractConnection.send_packed_command


def _counting_send(self, command, check_health=True):
    with _lock:
        _counts["round_trips"] += 1
    return _original(self, command, check_health)


def install() -> None:
    AbstractConnection.send_packed_command = _counting_send


def round_trips() -> int:
    return _counts["round_trips"]


class SqlCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextlib.contextmanager
def counting_sql():
    from django.db import connection

    counter = SqlCounter()
    with connection.execute_wrapper(counter):
        yield counter


def commands_processed(client) -> int:
    return int(client.info("stats")["total_commands_processed"])


_trace: list | None = None


def _command_names(packed) -> list[str]:
    """Names of the commands in one packed RESP write (enough for a trace; not a full parser)."""
    raw = b"".join(packed) if isinstance(packed, list | tuple) else packed
    names, lines = [], raw.split(b"\r\n")
    for i, line in enumerate(lines):
        if line.startswith(b"*") and i + 2 < len(lines) and lines[i + 1].startswith(b"$"):
            names.append(lines[i + 2].decode(errors="replace").upper())
    return names


def _tracing_send(self, command, check_health=True):
    if _trace is not None:
        _trace.append(_command_names(command))
    return _counting_send(self, command, check_health)


@contextlib.contextmanager
def tracing():
    """Record the commands of every round trip made inside the block: a list per round trip."""
    global _trace
    AbstractConnection.send_packed_command = _tracing_send
    _trace = []
    try:
        yield _trace
    finally:
        _trace = None
        AbstractConnection.send_packed_command = _counting_send
