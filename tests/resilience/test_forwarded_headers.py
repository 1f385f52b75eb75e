"""Forwarded headers from the client are never trusted without a declared proxy (item 9).

A real gunicorn on plain loopback HTTP, started from project/gunicorn.conf.py. With
``TRUSTED_PROXY_COUNT=0`` neither gunicorn nor Django may believe a client that claims HTTPS:
no HSTS, and ``SECURE_SSL_REDIRECT=1`` still redirects. The same headers through a server that
declares one trusted proxy (``TRUSTED_PROXY_COUNT=1``, loopback as the proxy) are believed, which
shows the requests below would be caught if trust leaked.
"""

import re
import time

import pytest

from .conftest import Stack, send

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


@pytest.fixture(scope="module")
def forwarded_stack(resilience_workdir, collected_static):
    # FORWARDED_ALLOW_IPS is set on purpose: TRUSTED_PROXY_COUNT=0 must win over it.
    stack = Stack(resilience_workdir, "forwarded", SECURE_SSL_REDIRECT=1)
    # Ready once /healthz/ answers at all: with SECURE_SSL_REDIRECT it is a 301 over plain HTTP.
    ready = (200, 301)
    no_proxy = stack.start_server(
        "no-proxy", ready_statuses=ready, TRUSTED_PROXY_COUNT=0, FORWARDED_ALLOW_IPS="127.0.0.1"
    )
    one_proxy = stack.start_server("one-proxy", ready_statuses=ready, TRUSTED_PROXY_COUNT=1)
    yield no_proxy, one_proxy
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
