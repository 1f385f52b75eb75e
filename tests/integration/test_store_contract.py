"""What this store promises beyond Django's ``SessionTestsMixin``.

Django's own mixin runs unchanged in test_django_session_contract.py (fetched from the Django
sdist, with its deviations written down there). These are the project's additions to it: that
the data really moves with ``cycle_key()``, that a well-formed but unknown key is never
adopted, and that a saved session is read back by another store instance (sync and async).
"""

from asgiref.sync import async_to_sync

from sessions_admin.store import SessionStore


def test_cycle_moves_the_data_to_the_new_key():
    session = SessionStore()
    session["a"], session["b"] = "c", "d"
    session.save()
    prev_key = session.session_key
    session.cycle_key()
    assert dict(SessionStore(session.session_key).items()) == {"a": "c", "b": "d"}
    assert SessionStore().exists(prev_key) is False  # a read-only tombstone, not a live session
    session.delete()


def test_session_load_of_well_formed_unknown_key_does_not_create_record():
    key = "k" * 32
    session = SessionStore(key)
    assert session.load() == {}
    assert session.session_key is None
    assert session.exists(key) is False


def test_asave_is_read_back_by_another_store():
    session = SessionStore()

    async def go():
        await session.aset("cat", "dog")
        await session.asave()
        return session.session_key

    key = async_to_sync(go)()
    assert async_to_sync(session.aexists)(key) is True
    assert async_to_sync(SessionStore(key).aget)("cat") == "dog"
    session.delete()
