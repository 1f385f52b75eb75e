"""The session key: strict mode, fixation, forged and tampered keys, replay, and what Redis
and the security log hold. Django test client, real Redis, no mocks."""

import json
import logging
import secrets

import pytest
from django.conf import settings

from accounts.models import User
from sessions_admin import crypto
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection, data_key, guess_key, meta_key

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME


def key_of(client) -> str | None:
    morsel = client.cookies.get(COOKIE)
    return morsel.value if morsel and morsel.value else None


def test_login_rotates_and_the_pre_login_key_is_never_authenticated(client, make_user, sign_in):
    make_user("alice")
    client.get("/accounts/login/")
    pre_login = key_of(client)
    assert pre_login and crypto.key_digest(pre_login)
    sign_in(client)
    post_login = key_of(client)
    assert post_login and post_login != pre_login
    assert client.get("/dashboard/").status_code == 200
    # The fixed pre-login key, replayed by an attacker, is not signed in (read-only tombstone).
    client.cookies[COOKIE] = pre_login
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)
    meta = connection().hgetall(meta_key(crypto.key_digest(pre_login)))
    assert b"uid" not in meta and meta[b"successor"] == crypto.key_digest(post_login).encode()


def test_forged_key_gets_a_fresh_key_and_is_counted(client):
    forged = secrets.token_hex(16)  # 32 chars of [0-9a-f]: well-formed, names nothing
    client.cookies[COOKIE] = forged
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    fresh = response.cookies[COOKIE].value
    assert fresh and fresh != forged
    assert not connection().exists(data_key(crypto.key_digest(forged)))
    assert connection().exists(data_key(crypto.key_digest(fresh)))
    assert connection().scard(guess_key("127.0.0.1")) == 1


def test_tampered_payload_is_an_unknown_session_not_a_500(client, make_user, sign_in):
    make_user("alice")
    sign_in(client)
    key = key_of(client)
    h = crypto.key_digest(key)
    token = bytearray(connection().get(data_key(h)))
    token[40] = ord("A") if token[40] != ord("A") else ord("B")
    connection().set(data_key(h), bytes(token), keepttl=True)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert key_of(client) != key
    assert connection().scard(guess_key("127.0.0.1")) == 1
    rejected = SecurityEvent.objects.get(name="session_payload_rejected")
    assert rejected.session_hash == crypto.event_hash(h)


def test_cookie_replayed_after_logout_is_anonymous(client, make_user, sign_in):
    make_user("alice")
    sign_in(client)
    client.get("/dashboard/")
    stolen = key_of(client)
    client.post("/accounts/logout/")
    client.cookies[COOKIE] = stolen
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert key_of(client) != stolen


def test_tombstone_ends_with_its_successor_on_logout(client, make_user, sign_in):
    """A pre-rotation key inside its grace window dies with the session it moved to."""
    make_user("alice", staff=True)
    sign_in(client)
    signed_in = key_of(client)
    from sessions_admin.store import SessionStore

    store = SessionStore(signed_in)
    store.load()
    store.cycle_key()  # as an elevation would
    client.cookies[COOKIE] = store.session_key
    assert client.get("/dashboard/").status_code == 200
    client.post("/accounts/logout/")
    client.cookies[COOKIE] = signed_in  # still within ROTATION_GRACE
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize(
    "where", ["query", "form", "header", "path-param"], ids=lambda w: f"key-in-{w}"
)
def test_session_key_outside_the_cookie_is_ignored(client, make_user, sign_in, where):
    make_user("alice")
    victim = client.__class__()
    sign_in(victim)
    key = key_of(victim)
    assert victim.get("/dashboard/").status_code == 200
    if where == "query":
        response = client.get(f"/dashboard/?{COOKIE}={key}&sessionid={key}")
    elif where == "form":
        response = client.post("/dashboard/", {COOKIE: key, "sessionid": key})
    elif where == "header":
        response = client.get("/dashboard/", HTTP_X_SESSION_ID=key, HTTP_AUTHORIZATION=key)
    else:
        response = client.get(f"/dashboard/;jsessionid={key}")
    assert response.status_code in (302, 404, 405)
    assert key_of(client) != key


def test_redis_dump_holds_neither_the_cookie_key_nor_plaintext(
    client, make_user, sign_in, redis_prefix
):
    make_user("alice", email="alice@example.test")
    sign_in(client)
    client.get("/dashboard/")
    key = key_of(client)
    conn = connection()
    dump = b""
    for name in conn.scan_iter(match=f"{redis_prefix}*"):
        dump += name
        kind = conn.type(name)
        if kind == b"string":
            dump += conn.get(name)
        elif kind == b"hash":
            for k, v in conn.hgetall(name).items():
                dump += k + v
        elif kind == b"zset":
            for member, _ in conn.zrange(name, 0, -1, withscores=True):
                dump += member
    assert dump
    assert key.encode() not in dump
    user = User.objects.get(username="alice")
    for plaintext in (b"_auth_user_id", b"_auth_user_hash", user.get_session_auth_hash().encode()):
        assert plaintext not in dump


def test_security_events_name_the_session_by_hash_only(client, make_user, sign_in, caplog):
    make_user("alice")
    with caplog.at_level(logging.INFO, logger="security"):
        sign_in(client)
        key = key_of(client)
        client.post("/accounts/logout/")
    lines = [r.getMessage() for r in caplog.records if r.name == "security"]
    assert lines
    for line in lines:
        event = json.loads(line)
        assert {"event", "user", "ip", "session"} <= event.keys()
        assert key not in line and crypto.key_digest(key) not in line
    events = {json.loads(line)["event"]: json.loads(line) for line in lines}
    assert events["login"]["user"] == "alice" and events["login"]["ip"] == "127.0.0.1"
    assert events["login"]["session"] == crypto.event_hash(crypto.key_digest(key))
    for row in SecurityEvent.objects.all():
        blob = json.dumps([row.session_hash, row.detail], default=str)
        assert key not in blob and crypto.key_digest(key) not in blob


def test_event_detail_cannot_overwrite_the_fields_a_siem_keys_on(make_user, caplog):
    from sessions_admin import events

    alice = make_user("alice")
    with caplog.at_level(logging.INFO, logger="security"):
        events.record(
            "login", user=alice, digest="ab" * 32, event="logout", user_id=99, session="forged"
        )
    line = json.loads(caplog.records[-1].getMessage())
    assert line["event"] == "login" and line["user_id"] == alice.pk
    assert line["session"] == crypto.event_hash("ab" * 32)
