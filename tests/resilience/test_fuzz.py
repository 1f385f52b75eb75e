"""Hostile input against the running app: random cookies, raw headers (oversized, non-ASCII,
CR/LF), login form fields and session handles. Never a 5xx. Modest example counts."""

import socket
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import USERS, Client

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def server(pair_stack):
    return pair_stack.servers[0]


@pytest.fixture(scope="module")
def header_victim(server):
    """A session for the header fuzz (a changed User-Agent may end it: BIND_UA=terminate)."""
    client = Client(server)
    client.sign_in(USERS[4])
    return client


@pytest.fixture(scope="module")
def handle_owner(server):
    client = Client(server)
    client.sign_in(USERS[5])
    return client


@pytest.mark.parametrize("value", ["", "0", "x" * 31, "X" * 32, "a" * 33, "%00", "a,b"])
def test_malformed_session_cookie_is_treated_as_unknown_not_a_server_error(server, value):
    r = Client(server).get("/dashboard/", cookie=value)
    assert r.status in (302, 429), r.status


def _raw_status(port: int, request: bytes) -> int | None:
    """Send bytes as they are (CR/LF included); the status code, or None if the server closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return None
            data += chunk
    return int(data.split(b" ", 2)[1])


cookie_values = st.text(min_size=0, max_size=200).map(lambda t: urllib.parse.quote(t, safe=""))


@FUZZ
@given(
    value=cookie_values
    | st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=32, max_size=32)
)
def test_random_session_cookies_never_cause_a_server_error(server, value):
    r = Client(server).get("/dashboard/", cookie=value)
    assert r.status in (302, 429), r.status


header_values = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.integers(min_value=4_000, max_value=20_000).map(lambda n: b"x" * n),
    st.sampled_from([b"a\r\nSet-Cookie: __Host-id=evil", b"x\r\n\r\nGET / HTTP/1.1", b"\n", b"\r"]),
)
header_names = st.sampled_from(
    [b"User-Agent", b"X-Forwarded-For", b"Host", b"Accept", b"X-CSRFToken", b"X-Fuzz"]
)


@FUZZ
@given(name=header_names, value=header_values)
def test_hostile_headers_never_cause_a_server_error(server, header_victim, name, value):
    request = (
        b"GET /dashboard/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + f"Cookie: __Host-id={header_victim.session_key}\r\n".encode()
        + name
        + b": "
        + value
        + b"\r\n\r\n"
    )
    status = _raw_status(server.port, request)
    assert status is None or status < 500, status


@FUZZ
@given(username=st.text(max_size=300), password=st.text(max_size=300))
def test_hostile_login_fields_never_cause_a_server_error(server, username, password):
    client = Client(server)
    token = client.csrf_token("/accounts/login/")
    r = client.request(
        "POST",
        "/accounts/login/",
        form={"csrfmiddlewaretoken": token, "username": username, "password": password},
    )
    assert r.status < 500, r.status
    assert r.status != 302 or username in USERS


@FUZZ
@given(handle=st.text(min_size=1, max_size=120))
def test_hostile_session_handles_never_cause_a_server_error(handle_owner, handle):
    token = handle_owner.csrf_token("/dashboard/")
    path = "/sessions/" + urllib.parse.quote(handle, safe="") + "/end/"
    r = handle_owner.request("POST", path, form={"csrfmiddlewaretoken": token})
    assert 300 <= r.status < 500, r.status
    assert handle_owner.get("/dashboard/").status == 200
