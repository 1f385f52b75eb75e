"""Throughput on a Redis Cluster beside one Redis: the same app, the same page, one run.

A real cluster (three primaries, three replicas: tests/redis_cluster.py) on loopback, and two
gunicorn instances (workers = cores) of the project: one on the bench's single Redis (embedded,
or REDIS_URL), one with ``REDIS_CLUSTER=1`` on the cluster. Each serves /dashboard/ (the full
page, header badge included) to one signed-in client; the configurations alternate in short
slices as in bench/throughput.py (wrk when on PATH, else the bounded Python load generator).

``python -m bench cluster`` runs it as a section of the bench (bench/results/latest.*);
``python -m bench.cluster`` alone prints its row.
"""

import os
import time
from contextlib import contextmanager
from pathlib import Path

from .throughput import _gunicorn, alternate, http_sign_in, load_tool, summarize


@contextmanager
def _environ(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(*, workdir: Path, make_user, slices: int = 4, seconds: int = 3, connections: int = 8):
    from tests.redis_cluster import Node, RedisCluster, binary

    if binary() is None:
        return {"skipped": "no redis-server binary"}
    tool, drive = load_tool()
    with RedisCluster(primaries=3, replicas=1) as cluster:
        servers = {}
        # One plain redis-server on loopback TCP too: the cluster is reached over TCP, the
        # bench's own Redis over a unix socket, and the difference is not Cluster's.
        tcp = Node(cluster.executable, cluster.root, 99, cluster=False)
        try:
            tcp.wait_ready(time.monotonic() + 30)
            servers["single"] = _gunicorn(
                settings_module="bench.settings", workdir=workdir, name="single"
            )
            with _environ(REDIS_URL=f"redis://127.0.0.1:{tcp.port}/0"):
                servers["single_tcp"] = _gunicorn(
                    settings_module="bench.settings", workdir=workdir, name="single-tcp"
                )
            with _environ(REDIS_CLUSTER="1", REDIS_URL=cluster.url):
                servers["cluster"] = _gunicorn(
                    settings_module="bench.settings", workdir=workdir, name="cluster"
                )
            cookies = {}
            for name, server in servers.items():
                make_user(f"cl-{name}")
                cookies[name] = http_sign_in(server.port, f"cl-{name}")
            runs = alternate(
                servers,
                cookies,
                marker=b"cl-",
                drive=drive,
                slices=slices,
                seconds=seconds,
                connections=connections,
            )
        finally:
            for server in servers.values():
                server.stop()
            tcp.stop()
    result = {
        "tool": tool,
        "connections": connections,
        "seconds_per_slice": seconds,
        "slices": slices,
        "workers": os.cpu_count(),
        "cluster": "3 primaries + 3 replicas, loopback TCP",
        "single": "one redis-server (the bench's: embedded on a unix socket, or REDIS_URL)",
        "single_tcp": "one redis-server on loopback TCP",
    }
    for name, slices_ in runs.items():
        measured = summarize(slices_, seconds)
        for field in ("rps", "p50_ms", "p99_ms", "errors"):
            result[f"{name}_{field}"] = measured[field]
    result["cluster_ratio_vs_single"] = round(result["cluster_rps"] / result["single_rps"], 3)
    result["cluster_ratio_vs_single_tcp"] = round(
        result["cluster_rps"] / result["single_tcp_rps"], 3
    )
    return result


def row(result: dict) -> str:
    if "skipped" in result:
        return f"| cluster | skipped: {result['skipped']} |"
    names = ("single", "single_tcp", "cluster")
    lines = [
        "| full-page GET, gunicorn | one Redis (unix socket) | one Redis (TCP) "
        "| Redis Cluster 3+3 (TCP) |",
        "| --- | --- | --- | --- |",
    ]
    fields = [("requests/s", "rps"), ("p50 ms", "p50_ms"), ("p99 ms", "p99_ms")]
    fields.append(("errors", "errors"))
    for label, field in fields:
        cells = " | ".join(str(result[f"{n}_{field}"]) for n in names)
        lines.append(f"| {label} | {cells} |")
    lines.append(
        f"\nCluster / one Redis: {result['cluster_ratio_vs_single']} (unix socket), "
        f"{result['cluster_ratio_vs_single_tcp']} (TCP)."
    )
    return "\n".join(lines)


def main() -> int:
    from .env import BenchEnv

    env = BenchEnv()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from .__main__ import _make_user

        call_command("migrate", "--noinput", verbosity=0)
        call_command("collectstatic", "--noinput", verbosity=0)
        result = run(workdir=env.workdir, make_user=_make_user)
        print(row(result))
        return 0
    finally:
        env.close()


if __name__ == "__main__":
    raise SystemExit(main())
