"""Property tests: whatever a cookie or the store holds, loading never raises, never adopts the
presented key, and the response is never a 500."""

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from sessions_admin import crypto
from sessions_admin.redis_keys import connection, data_key, meta_key
from sessions_admin.store import Lookup, SessionStore

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME
FUZZ = hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# What a cookie header can carry: printable ASCII without the separators SimpleCookie rejects.
cookie_text = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';,"\\'),
    max_size=80,
)
well_formed = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=32, max_size=32)


@FUZZ
@given(key=st.one_of(cookie_text, well_formed))
def test_arbitrary_cookie_never_raises_never_adopts(key, session_settings):
    session_settings(GUESS_LIMIT=10_000)
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None
    assert store.lookup in (Lookup.UNKNOWN, Lookup.NONE)
    c = Client(raise_request_exception=False)
    c.cookies[COOKIE] = key
    response = c.get("/accounts/login/")
    assert response.status_code == 200
    fresh = response.cookies[COOKIE].value
    assert fresh and fresh != key


@FUZZ
@given(
    payload=st.binary(max_size=300),
    meta=st.dictionaries(
        st.sampled_from(
            ["created_at", "last_seen", "uid", "obsolete_at", "successor", "end_reason", "ip"]
        ),
        st.one_of(st.binary(max_size=20), st.sampled_from([b"0", b"1e308", b"nan", b"-1"])),
        max_size=7,
    ),
)
def test_arbitrary_bytes_under_a_valid_digest_are_never_adopted(payload, meta, session_settings):
    session_settings(GUESS_LIMIT=10_000)
    key = SessionStore()._get_new_session_key()
    h = crypto.key_digest(key)
    conn = connection()
    conn.set(data_key(h), payload, px=60_000)
    if meta:
        conn.hset(meta_key(h), mapping=meta)
        conn.pexpire(meta_key(h), 60_000)
    store = SessionStore(key)
    assert store.load() == {}  # nothing but a Fernet token under our key is ever a session
    assert store.lookup != Lookup.LIVE
    c = Client(raise_request_exception=False)
    c.cookies[COOKIE] = key
    for path in ("/dashboard/", "/accounts/login/", "/sessions/status/"):
        response = c.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code < 500, (path, response.status_code)
    conn.delete(data_key(h), meta_key(h))
