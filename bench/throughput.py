"""Throughput over loopback HTTP: gunicorn (workers = cores) serving /dashboard/ to one signed-in
client, this project vs the same app on Django's stock cache sessions (bench.stock_settings).

Driven by wrk (Debian's package) when it is on PATH, else by a small bounded Python load
generator (threads, http.client keep-alive). Configurations alternate in short slices. The ratio
to stock is paired by slice: the median over slices of (ours / stock) requests/s, each pair
measured seconds apart, so a stall of the machine that lands on one configuration's slice (one
slice in a run at half the others' rate is common on the shared bench machine) moves one pair,
not the whole figure; the ratio of the totals is kept beside it. requests/s is the total over
all slices, p50 and p99 the median of the slices' own percentiles.

Every request is sent on a new connection (``Connection: close``). With keep-alive, each of the
load's 8 connections stays with the gunicorn worker that accepted it, and a slice in which one
worker took most of them ran on one core: about 300 requests/s against 700-800, in about one
slice in four, on either configuration (pairs of slices at 0.39 and 2.28 of each other). On new
connections the two workers share every slice (612-811 requests/s, pairs at 0.79-1.08).
"""

import http.client
import multiprocessing
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.test import override_settings

from tests.servers import Gunicorn

from .stats import median_ratio, pct

PATH = "/dashboard/"
PASSWORD = "correct horse battery staple"


def _gunicorn(*, settings_module: str, workdir: Path, name: str) -> Gunicorn:
    """The app under gunicorn, one worker per core, on a free loopback port over plain HTTP."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "WEB_CONCURRENCY": str(multiprocessing.cpu_count()),
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "GUNICORN_CERTFILE": "",
        "GUNICORN_KEYFILE": "",
    }
    return Gunicorn(env, log_path=workdir / f"gunicorn-{name}.log")


def request(port, method, path, *, cookie=None, body=None, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Host": "127.0.0.1"}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def cookie_from(headers, name) -> str | None:
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


def http_sign_in(port: int, username: str) -> str:
    """Sign in through the real login form over HTTP; returns the session cookie value."""
    name = settings.SESSION_COOKIE_NAME
    status, headers, body = request(port, "GET", "/accounts/login/")
    cookie = cookie_from(headers, name)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": username, "password": PASSWORD}
    )
    status, headers, _ = request(
        port, "POST", "/accounts/login/", cookie=f"{name}={cookie}", body=form
    )
    if status != 302:
        raise RuntimeError(f"sign-in answered {status}")
    return cookie_from(headers, name)


def stock_session(user) -> str:
    """A signed-in session made directly with Django's cache backend, as login() would."""
    from .stock_settings import SESSION_ENGINE

    with override_settings(SESSION_ENGINE=SESSION_ENGINE):
        store = import_module(SESSION_ENGINE).SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        return store.session_key


def _wrk(port, cookie, seconds, connections) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "5s",
            "-H",
            f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}",
            "-H",
            "Connection: close",
            f"http://127.0.0.1:{port}{PATH}",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": rps,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "requests": total,
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def _python_load(port, cookie, seconds, connections) -> dict:
    """Bounded: `connections` threads, each stops at the deadline or after 200,000 requests."""
    deadline = time.monotonic() + seconds
    latencies, errors = [], [0]
    lock = threading.Lock()
    header = {
        "Host": "127.0.0.1",
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}",
        "Connection": "close",  # see the module docstring; http.client reconnects by itself
    }

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        mine = []
        bad = 0
        while time.monotonic() < deadline and len(mine) < 200_000:
            t0 = time.perf_counter()
            try:
                conn.request("GET", PATH, headers=header)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    bad += 1
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                continue
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 10)
    elapsed = time.monotonic() - start
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(latencies, 50) * 1e3,
        "p99_ms": pct(latencies, 99) * 1e3,
        "requests": len(latencies),
        "errors": errors[0],
    }


def load_tool():
    """wrk when it is on PATH, else the Python load generator: (its name, its drive function)."""
    return ("wrk", _wrk) if shutil.which("wrk") else ("python", _python_load)


def workers_minor_faults(server) -> int | None:
    """The minor page faults so far of a gunicorn's workers (its master's children, from
    Linux's /proc; None elsewhere). Per request, they show whether a configuration runs in
    CPython 3.11's frame-stack chunk thrash (bench/profiling.py ``_in_a_thread``)."""
    pid = server.process.pid
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        # /proc/PID/stat: after the command name's closing parenthesis, minflt is the 8th field
        return sum(
            int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[7])
            for child in children
        )
    except (OSError, ValueError, IndexError):
        return None


def alternate(servers: dict, cookies: dict, *, marker: bytes, drive, slices, seconds, connections):
    """Each configuration checked (its signed-in page shows ``marker``) and warmed up, then all
    driven in turn, ``slices`` times: the slices' results of each configuration."""
    for name, server in servers.items():
        status, _, body = request(
            server.port, "GET", PATH, cookie=f"{settings.SESSION_COOKIE_NAME}={cookies[name]}"
        )
        if status != 200 or marker not in body:
            log = server.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name}: signed-in GET answered {status}\n{log}")
        drive(server.port, cookies[name], 1, connections)  # warm-up
    runs = {name: [] for name in servers}
    for _ in range(slices):
        for name, server in servers.items():
            faults0 = workers_minor_faults(server)
            result = drive(server.port, cookies[name], seconds, connections)
            faults1 = workers_minor_faults(server)
            if faults0 is not None and faults1 is not None:
                result["minor_faults"] = faults1 - faults0
            runs[name].append(result)
    return runs


def summarize(slices_: list[dict], seconds: int) -> dict:
    """Requests/s over all slices; p50 and p99 the median of the slices' own."""
    total = sum(r["requests"] for r in slices_)
    faults = [r["minor_faults"] for r in slices_ if "minor_faults" in r]
    return {
        "minor_faults_per_request": round(sum(faults) / total, 2) if faults and total else None,
        "rps": round(total / (seconds * len(slices_)), 1),
        "p50_ms": round(sorted(r["p50_ms"] for r in slices_)[len(slices_) // 2], 2),
        "p99_ms": round(sorted(r["p99_ms"] for r in slices_)[len(slices_) // 2], 2),
        "requests": total,
        "errors": sum(r["errors"] for r in slices_),
    }


def run(*, workdir: Path, make_user, slices: int = 9, seconds: int = 2, connections: int = 8):
    tool, drive = load_tool()
    servers = {
        "ours": _gunicorn(settings_module="bench.settings", workdir=workdir, name="ours"),
        "ours_without_session_ui": _gunicorn(
            settings_module="bench.no_ui_settings", workdir=workdir, name="ours-no-ui"
        ),
        "stock_cache": _gunicorn(
            settings_module="bench.stock_settings", workdir=workdir, name="stock"
        ),
    }
    try:
        make_user("tp-ours")
        make_user("tp-ours-no-ui")
        cookies = {
            "ours": http_sign_in(servers["ours"].port, "tp-ours"),
            "ours_without_session_ui": http_sign_in(
                servers["ours_without_session_ui"].port, "tp-ours-no-ui"
            ),
            "stock_cache": stock_session(make_user("tp-stock")),
        }
        runs = alternate(
            servers,
            cookies,
            marker=b"tp-",
            drive=drive,
            slices=slices,
            seconds=seconds,
            connections=connections,
        )
    finally:
        for server in servers.values():
            server.stop()
    result = {
        "tool": tool,
        "connections": connections,
        "seconds_per_slice": seconds,
        "slices": slices,
        "workers": multiprocessing.cpu_count(),
    }
    result["configurations"] = list(runs)
    for name, slices_ in runs.items():
        result[name] = {**summarize(slices_, seconds), "slices": slices_}
    for name in ("ours", "ours_without_session_ui"):
        result[name].update(paired_ratio(runs[name], runs["stock_cache"]))
    result["throughput_ratio_vs_stock"] = result["ours"]["ratio_vs_stock"]
    result["throughput_ratio_vs_stock_of_totals"] = result["ours"]["ratio_vs_stock_of_totals"]
    return result


def paired_ratio(slices_: list[dict], stock: list[dict]) -> dict:
    """Requests/s against stock: the median over slice pairs, each pair's ratio, and the ratio
    of the totals."""
    ours_rps, stock_rps = [r["rps"] for r in slices_], [r["rps"] for r in stock]
    return {
        "ratio_vs_stock": round(median_ratio(ours_rps, stock_rps), 3),
        "ratio_vs_stock_by_slice": [
            round(o / s, 3) for o, s in zip(ours_rps, stock_rps, strict=True)
        ],
        "ratio_vs_stock_of_totals": round(
            sum(r["requests"] for r in slices_) / sum(r["requests"] for r in stock), 3
        ),
    }
