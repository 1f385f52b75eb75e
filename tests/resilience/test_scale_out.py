"""Two app instances on two ports, one Redis, one database, one set of secrets: any instance can
serve any request, and an end or a rotation on one is seen by the other at once."""

import re

from .conftest import USERS, Client
from .test_concurrency import _elevate, _owner_of

END_PATH = r'action="/sessions/([^/"]+)/end/"'


def test_session_started_on_one_instance_works_on_the_other(pair_stack):
    a, b = pair_stack.servers
    client = Client(a)
    client.sign_in(USERS[1])
    page = client.get("/dashboard/", server=b)
    assert page.status == 200
    assert _owner_of(page.text) == [USERS[1]]


def test_signing_out_on_one_instance_ends_the_session_on_both(pair_stack):
    a, b = pair_stack.servers
    client = Client(a)
    client.sign_in(USERS[2])
    key = client.session_key
    assert client.get("/dashboard/", server=b).status == 200
    out = client.post("/accounts/logout/", server=a)
    assert out.status == 302
    again = Client(b).get("/dashboard/", cookie=key)
    assert again.status == 302
    assert again.header("Location").startswith("/accounts/login/")


def test_ending_a_session_from_one_instance_signs_it_out_on_the_other(pair_stack):
    a, b = pair_stack.servers
    laptop, phone = Client(a), Client(b)
    laptop.sign_in(USERS[3])
    phone.sign_in(USERS[3])
    listing = laptop.get("/sessions/", server=a)
    assert listing.status == 200
    handles = re.findall(END_PATH, listing.text)
    assert handles, listing.text[:500]
    token = laptop.csrf_token("/sessions/")
    for handle in handles:
        ended = laptop.request(
            "POST",
            f"/sessions/{handle}/end/",
            form={"csrfmiddlewaretoken": token, "next": "/sessions/"},
        )
        assert ended.status in (200, 302), ended.status
    after = phone.get("/dashboard/", server=b)
    assert after.status == 302
    assert after.header("Location").startswith("/accounts/login/")
    assert laptop.get("/dashboard/", server=b).status == 200


def test_rotation_on_one_instance_is_seen_by_the_other(pair_stack):
    a, b = pair_stack.servers
    client = Client(a)
    client.sign_in(USERS[-1])
    old_key = client.session_key
    rotated = _elevate(client, a)
    assert rotated.status == 302
    new_key = client.session_key
    assert new_key != old_key
    assert client.get("/dashboard/", server=b).status == 200
    # The old key is a read-only tombstone on the other instance too: a write is refused.
    token = client.csrf_token("/dashboard/", server=b)
    stale = client.request(
        "POST",
        "/sessions/keepalive/",
        server=b,
        cookie=old_key,
        extra={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert stale.status == 409, stale.status
