"""Forwarded headers from the client are never trusted without a declared proxy (item 9).

A real gunicorn on plain loopback HTTP, started from project/gunicorn.conf.py. With
``TRUSTED_PROXY_COUNT=0`` neither gunicorn nor Django may believe a client that claims HTTPS:
no HSTS, and ``SECURE_SSL_REDIRECT=1`` still redirects. The same headers through a server that
declares one trusted proxy (``TRUSTED_PROXY_COUNT=1``, loopback as the proxy) are believed, which
shows the requests below would be caught if trust leaked.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, Stack, _free_port, send

SPOOFED = {
    "Host": "127.0.0.1",
    "User-Agent": "forwarded-tests/1.0",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Ssl": "on",
    "X-Forwarded-Protocol": "ssl",
    "Forwarded": "for=203.0.113.9;proto=https;host=evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-For": "203.0.113.9",
}


CSRF_LOG = re.compile(r"^Forbidden \(.+\): /accounts/login/$", re.M)


class _Gunicorn:
    """A gunicorn of the stack with extra env; ready once /healthz/ answers at all (301 too)."""

    def __init__(self, stack: Stack, name: str, **env):
        self.port = _free_port()
        self.log_path = stack.workdir / f"gunicorn-{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "project/gunicorn.conf.py"],
            cwd=ROOT,
            env={
                **stack.env,
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "GUNICORN_ACCESS_LOG": str(stack.workdir / f"access-{name}.log"),
                **{k: str(v) for k, v in env.items()},
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}")
            try:
                send(self.port, "GET", "/healthz/", headers={"Host": "127.0.0.1"}, timeout=2)
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn never answered; see {self.log_path}")
            time.sleep(0.1)

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def forwarded_stack(resilience_workdir, collected_static):
    # FORWARDED_ALLOW_IPS is set on purpose: TRUSTED_PROXY_COUNT=0 must win over it.
    stack = Stack(resilience_workdir, "forwarded", SECURE_SSL_REDIRECT=1)
    no_proxy = _Gunicorn(stack, "no-proxy", TRUSTED_PROXY_COUNT=0, FORWARDED_ALLOW_IPS="127.0.0.1")
    one_proxy = _Gunicorn(stack, "one-proxy", TRUSTED_PROXY_COUNT=1)
    yield no_proxy, one_proxy
    no_proxy.stop()
    one_proxy.stop()
    stack.close()


@pytest.mark.parametrize("path", ["/accounts/login/", "/dashboard/", "/"])
def test_item9_forwarded_proto_not_trusted_without_proxy(forwarded_stack, path):
    no_proxy, _ = forwarded_stack
    response = send(no_proxy.port, "GET", path, headers=SPOOFED)
    assert response.status == 301, (response.status, response.text[:300])
    assert response.header("Location") == f"https://127.0.0.1{path}"
    assert response.header("Strict-Transport-Security") is None
    assert not response.set_cookies()


def test_item9_forwarded_headers_honoured_only_behind_a_declared_proxy(forwarded_stack):
    """The control: the same request through a declared proxy is HTTPS (HSTS, no redirect)."""
    _, one_proxy = forwarded_stack
    response = send(one_proxy.port, "GET", "/accounts/login/", headers=SPOOFED)
    assert response.status == 200
    hsts = response.header("Strict-Transport-Security")
    assert hsts and "includeSubDomains" in hsts


def test_item16_csrf_failure_is_logged_with_debug_off(forwarded_stack):
    """django.security.csrf and the security event reach the server's log (DEBUG=0)."""
    _, one_proxy = forwarded_stack
    headers = {**SPOOFED, "Content-Type": "application/x-www-form-urlencoded"}
    response = send(one_proxy.port, "POST", "/accounts/login/", headers=headers, body=b"a=1")
    assert response.status == 403
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        log = one_proxy.log_text()
        if CSRF_LOG.search(log) and '"event": "access_denied"' in log:
            break
        time.sleep(0.1)
    assert CSRF_LOG.search(log), log[-2000:]  # django.security.csrf's own line
    line = next(x for x in log.splitlines() if '"event": "access_denied"' in x)
    assert re.search(r'"reason": "csrf"', line)
