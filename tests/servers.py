"""The one way tests and benchmarks start a server process: the app under gunicorn
(``project/gunicorn.conf.py``), or any launcher (``deploy/room.py``), and stop it.

* ``Process``: a child in its own process group, its output in a log file; ``wait_until`` polls a
  readiness condition and fails as soon as the child exits (naming the log and showing its end);
  ``stop`` sends a signal, waits, and kills the whole group if it lingers.
* ``Gunicorn``: the app on a free loopback port (``GUNICORN_BIND``), HTTP or, given an SSL context,
  HTTPS; ready once the port accepts a connection and ``/healthz/`` answers.
* ``manage``: ``manage.py`` with the same environment (migrate, seed) before a server starts;
  returns what it printed.

Used by tests/resilience/, e2e/ and bench/throughput.py (``python -m bench`` imports it as
``tests.servers``).
"""

import http.client
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "project" / "gunicorn.conf.py"


def ephemeral_low() -> int:
    """Where the kernel's ephemeral ports (an outgoing connection's local port) start."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# Ports this process has handed out (two servers are often picked before either binds), and
# where free_port picks: above the Redis Cluster nodes' ports and buses (10000-29999,
# tests/redis_cluster.py), below the ephemeral range.
_handed_out: set[int] = set()
FREE_PORTS_FROM = 30000


def pick_port(low: int, high: int, *, also: tuple[int, ...] = ()) -> int | None:
    """A loopback port in [low, high) free now, with ``port + offset`` free too for each offset
    in ``also`` (a cluster node's bus), and not handed out before by this process; None when 200
    draws found none (or the band is empty)."""
    for _ in range(200 if high > low else 0):
        port = random.randrange(low, high)
        if port in _handed_out:
            continue
        sockets = [socket.socket() for _ in range(1 + len(also))]
        try:
            for sock, offset in zip(sockets, (0, *also), strict=True):
                sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        _handed_out.add(port)
        return port
    return None


def free_port() -> int:
    """A loopback port free now, below the ephemeral range, not handed out before by this process.

    Not ``bind(0)``: that port comes from the ephemeral range, where any outgoing connection (a
    load generator's, a test client's) may take it before the server binds it, and the server
    then fails to start. Where the ephemeral range starts too low to leave room, ``bind(0)``."""
    port = pick_port(FREE_PORTS_FROM, ephemeral_low())
    if port is not None:
        return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(*args: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout


class Process:
    def __init__(self, args: list[str], *, env: dict[str, str], log_path: Path):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_until(self, ready: Callable[[], bool], *, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None:
                self._fail(f"{what} exited with status {self.process.returncode}")
            if time.monotonic() > deadline:
                self._fail(f"{what} was not ready within {timeout:g} s")
            time.sleep(0.1)

    def _fail(self, why: str):
        tail = self.log_text()[-3000:]
        self.stop()
        raise RuntimeError(f"{why}; its output is in {self.log_path}:\n{tail}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the child (gunicorn's master stops its workers; SIGINT is Ctrl-C for a
        launcher), wait, then kill its whole process group. Returns its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        return self.process.returncode


class Gunicorn(Process):
    """``Gunicorn(env, log_path=...)``: started and answering on return, or RuntimeError."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        log_path: Path,
        tls: ssl.SSLContext | None = None,
        ready_statuses: tuple[int, ...] = (200,),
        timeout: float = 30.0,
    ):
        self.port = free_port()
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._tls = tls
        self._ready_statuses = ready_statuses
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}
        super().__init__(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", str(GUNICORN_CONF)],
            env=env,
            log_path=log_path,
        )
        self.wait_until(self._healthy, what="gunicorn", timeout=timeout)

    def url(self, path: str) -> str:
        return self.base_url + path

    def _healthy(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False  # not listening yet: no HTTP request until it is
        if self._tls is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self._tls, timeout=5)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/healthz/", headers={"Host": "127.0.0.1"})
            return conn.getresponse().status in self._ready_statuses
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
