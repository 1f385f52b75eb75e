"""Django's SessionBase contract (``SessionTestsMixin`` of tests/sessions_tests/tests.py),
run against sessions_admin.store.SessionStore on the real Redis.

Ported as pytest functions; the Django test names are kept so the two can be compared.

Left out, on purpose (they test behaviour this store does not have, so they are not counted):
* test_default_expiry, test_custom_expiry_seconds/_timedelta/_datetime/_reset,
  test_get_expire_at_browser_close, test_actual_expiry: ``set_expiry()`` and the expiry-age
  arithmetic are SessionBase's own code, untouched here, and this store ignores them by design:
  the cookie is a browser-session cookie and the idle/absolute deadlines are server-side
  policy (policy.py), tested in tests/unit/test_policy.py and test_engine_timeouts.py.
* test_session_key_valid_string_saved: Django accepts any key of 8+ characters; this store
  accepts only keys of the form it makes (32 of [a-z0-9]); see
  test_session_key_of_another_form_is_invalid below, which replaces it.
Changed, on purpose:
* test_cycle: after cycle_key() the old key is a read-only tombstone for ROTATION_GRACE
  seconds; ``exists()`` means "names a live, writable session", so it is still False.
"""

import base64
import logging

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends.base import UpdateError

from sessions_admin.store import SessionStore


@pytest.fixture
def session():
    s = SessionStore()
    yield s
    s.delete()


def test_new_session(session):
    assert session.modified is False
    assert session.accessed is False


def test_get_empty(session):
    assert session.get("cat") is None


def test_store(session):
    session["cat"] = "dog"
    assert session.modified is True
    assert session.pop("cat") == "dog"


def test_pop(session):
    session["some key"] = "exists"
    session.accessed = False
    session.modified = False
    assert session.pop("some key") == "exists"
    assert session.accessed is True
    assert session.modified is True
    assert session.get("some key") is None


def test_pop_default(session):
    assert session.pop("some key", "does not exist") == "does not exist"
    assert session.accessed is True
    assert session.modified is False


def test_pop_default_named_argument(session):
    assert session.pop("some key", default="does not exist") == "does not exist"
    assert session.accessed is True
    assert session.modified is False


def test_pop_no_default_keyerror_raised(session):
    with pytest.raises(KeyError):
        session.pop("some key")


def test_setdefault(session):
    assert session.setdefault("foo", "bar") == "bar"
    assert session.setdefault("foo", "baz") == "bar"
    assert session.accessed is True
    assert session.modified is True


def test_update(session):
    session.update({"update key": 1})
    assert session.accessed is True
    assert session.modified is True
    assert session.get("update key", None) == 1


def test_has_key(session):
    session["some key"] = 1
    session.modified = False
    session.accessed = False
    assert "some key" in session
    assert session.accessed is True
    assert session.modified is False


def test_values(session):
    assert list(session.values()) == []
    assert session.accessed is True
    session["some key"] = 1
    session.modified = False
    session.accessed = False
    assert list(session.values()) == [1]
    assert session.accessed is True
    assert session.modified is False


def test_keys(session):
    session["x"] = 1
    session.modified = False
    session.accessed = False
    assert list(session.keys()) == ["x"]
    assert session.accessed is True
    assert session.modified is False


def test_items(session):
    session["x"] = 1
    session.modified = False
    session.accessed = False
    assert list(session.items()) == [("x", 1)]
    assert session.accessed is True
    assert session.modified is False


def test_clear(session):
    session["x"] = 1
    session.modified = False
    session.accessed = False
    assert list(session.items()) == [("x", 1)]
    session.clear()
    assert list(session.items()) == []
    assert session.accessed is True
    assert session.modified is True


def test_save(session):
    session.save()
    assert session.exists(session.session_key) is True


def test_delete(session):
    session.save()
    session.delete(session.session_key)
    assert session.exists(session.session_key) is False


def test_flush(session):
    session["foo"] = "bar"
    session.save()
    prev_key = session.session_key
    session.flush()
    assert session.exists(prev_key) is False
    assert session.session_key != prev_key
    assert session.session_key is None
    assert session.modified is True
    assert session.accessed is True


def test_cycle(session):
    session["a"], session["b"] = "c", "d"
    session.save()
    prev_key = session.session_key
    prev_data = list(session.items())
    session.cycle_key()
    assert session.exists(prev_key) is False
    assert session.session_key != prev_key
    assert list(session.items()) == prev_data
    # and the new key really holds the data
    assert dict(SessionStore(session.session_key).items()) == dict(prev_data)


def test_cycle_with_no_session_cache(session):
    session["a"], session["b"] = "c", "d"
    session.save()
    prev_data = list(session.items())
    reloaded = SessionStore(session.session_key)
    assert hasattr(reloaded, "_session_cache") is False
    reloaded.cycle_key()
    assert sorted(reloaded.items()) == sorted(prev_data)
    reloaded.delete()


def test_save_doesnt_clear_data(session):
    session["a"] = "b"
    session.save()
    assert session["a"] == "b"


def test_invalid_key():
    session = SessionStore("1")
    try:
        session.save()
        assert session.session_key != "1"
        assert session.get("cat") is None
        session.delete()
    finally:
        session.delete("1")


def test_session_key_empty_string_invalid(session):
    session._session_key = ""
    assert session.session_key is None


def test_session_key_too_short_invalid(session):
    session._session_key = "1234567"
    assert session.session_key is None


def test_session_key_of_another_form_is_invalid(session):
    """Replaces test_session_key_valid_string_saved: only keys this store makes are accepted."""
    for key in ("12345678", "A" * 32, "a" * 31, "a" * 33, "a" * 31 + "-"):
        session._session_key = key
        assert session.session_key is None
    session._session_key = "a" * 32
    assert session.session_key == "a" * 32


def test_session_key_is_read_only(session):
    with pytest.raises(AttributeError):
        session.session_key = session._get_new_session_key()


def test_decode(session):
    data = {"a test key": "a test value"}
    encoded = session.encode(data)
    assert session.decode(encoded) == data


def test_decode_failure_logged_to_security(session, caplog):
    bad_encode = base64.b64encode(b"flaskdj:alkdjf").decode("ascii")
    with caplog.at_level(logging.WARNING, logger="django.security.SuspiciousSession"):
        assert session.decode(bad_encode) == {}
    assert "corrupted" in caplog.text


def test_session_load_does_not_create_record():
    """Loading an unknown session key does not create a session record (a DoS otherwise)."""
    session = SessionStore("someunknownkey")
    session.load()
    assert session.session_key is None
    assert session.exists(session.session_key) is False
    assert session.session_key != "someunknownkey"


def test_session_load_of_well_formed_unknown_key_does_not_create_record():
    key = "k" * 32
    session = SessionStore(key)
    assert session.load() == {}
    assert session.session_key is None
    assert session.exists(key) is False


def test_session_save_does_not_resurrect_session_logged_out_in_other_context():
    s1 = SessionStore()
    s1["test_data"] = "value1"
    s1.save(must_create=True)
    s2 = SessionStore(s1.session_key)
    s2.delete()
    s1["test_data"] = "value2"
    with pytest.raises(UpdateError):
        s1.save()
    assert s1.load() == {}


# --- the async API (Django 5.0+): SessionBase's a* methods over this store -------------------
def test_aget_empty(session):
    assert async_to_sync(session.aget)("cat") is None


def test_astore_and_asave(session):
    async def go():
        await session.aset("cat", "dog")
        await session.asave()
        return session.session_key

    key = async_to_sync(go)()
    assert async_to_sync(session.aexists)(key) is True
    assert async_to_sync(SessionStore(key).aget)("cat") == "dog"


def test_acycle_key(session):
    async def go():
        await session.aset("a", "c")
        await session.asave()
        prev = session.session_key
        await session.acycle_key()
        return prev

    prev = async_to_sync(go)()
    assert session.session_key != prev
    assert async_to_sync(session.aget)("a") == "c"
    assert async_to_sync(session.aexists)(prev) is False


def test_aflush(session):
    async def go():
        await session.aset("foo", "bar")
        await session.asave()
        prev = session.session_key
        await session.aflush()
        return prev

    prev = async_to_sync(go)()
    assert async_to_sync(session.aexists)(prev) is False
    assert session.session_key is None


def test_asave_does_not_resurrect_session_logged_out_in_other_context():
    async def go():
        s1 = SessionStore()
        await s1.aset("test_data", "value1")
        await s1.asave(must_create=True)
        await SessionStore(s1.session_key).adelete()
        await s1.aset("test_data", "value2")
        with pytest.raises(UpdateError):
            await s1.asave()
        return await s1.aload()

    assert async_to_sync(go)() == {}
