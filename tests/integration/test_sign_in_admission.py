"""Issue 12: admission as a compare-and-set on the user's index, and the sign-in's rotation
riding its first save. On the real Redis; a concurrent sign-in is made to land at the worst
moment by running a real one from inside the first one's decision.
"""

import pytest
from django.conf import settings
from django.test import Client

from sessions_admin import clock, crypto, registry, remember, services
from sessions_admin.policy import Admission, ConcurrencyPolicy
from sessions_admin.redis_keys import connection, data_key, meta_key, user_index_key, user_key

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME


@pytest.fixture
def alice(make_user, frozen_clock, session_settings):
    session_settings(MAX_PER_USER=1, CONCURRENCY_POLICY="deny_new")
    return make_user("alice")


def _admit(user, **kwargs):
    return registry.admit(
        user.pk,
        current=None,
        max_per_user=1,
        policy=ConcurrencyPolicy.DENY_NEW,
        now=clock.now(),
        **kwargs,
    )


def _index(user) -> list[str]:
    return [m.decode() for m in connection().zrange(user_index_key(user.pk), 0, -1)]


def test_a_snapshot_older_than_the_index_is_decided_again(alice, sign_in):
    snapshot = registry.IndexSnapshot(alice.pk)
    snapshot.take(connection().zrange(user_index_key(alice.pk), 0, -1, withscores=True))
    assert snapshot.entries == []  # read before the password was hashed...
    assert sign_in(Client()).status_code == 302  # ...and another device signed in meanwhile

    admitted = _admit(alice, snapshot=snapshot)

    assert admitted.decision.admission is Admission.DENY
    assert admitted.reservation is None
    assert len(_index(alice)) == 1 and not _index(alice)[0].startswith(registry.RESERVATION)
    assert [i.digest for i in admitted.live] == _index(alice)


def test_a_change_between_decision_and_write_applies_nothing_and_decides_again(alice, monkeypatch):
    """Another sign-in's reservation lands after this one read and decided ADMIT: the script
    sees the index changed, writes nothing, and the decision made again is DENY."""
    decide = registry.admit_new_session
    calls = []

    def racing(counted, limit, policy):
        calls.append(len(counted))
        if len(calls) == 1:
            monkeypatch.setattr(registry, "admit_new_session", decide)
            assert _admit(alice).decision.admission is Admission.ADMIT  # the other sign-in
            monkeypatch.setattr(registry, "admit_new_session", racing)
        return decide(counted, limit, policy)

    monkeypatch.setattr(registry, "admit_new_session", racing)
    admitted = _admit(alice)

    assert calls == [0, 1]
    assert admitted.decision.admission is Admission.DENY
    assert len(_index(alice)) == 1  # the other sign-in's reservation, and nothing of ours


def test_a_snapshot_of_another_account_is_not_used(alice, make_user, sign_in):
    sign_in(Client())
    bob = make_user("bob")
    empty = registry.IndexSnapshot(bob.pk)
    empty.entries = []
    assert _admit(alice, snapshot=empty).decision.admission is Admission.DENY


def test_dead_entries_are_pruned_by_the_admission_that_finds_them(alice, sign_in):
    """(An entry with no metadata at all is, in Cluster mode, maybe a write in flight: kept.)"""
    c = Client()
    sign_in(c)
    gone = crypto.key_digest(c.cookies[COOKIE].value)
    connection().delete(data_key(gone))  # its payload expired (TTL): dead, still indexed

    admitted = _admit(alice)

    assert admitted.decision.admission is Admission.ADMIT
    assert [m.startswith(registry.RESERVATION) for m in _index(alice)] == [True]


def test_a_sign_in_whose_pre_login_key_ended_meanwhile_signs_nobody_in(alice, monkeypatch):
    """The rotation rides the save; refused there (the pre-login key was ended between the
    load and the save), the sign-in stops as a refused cycle_key() did: no session, the slot
    given back, the pre-login key not rotated, no cookie."""
    c = Client()
    c.get("/accounts/login/")
    pre = c.cookies[COOKIE].value
    real = registry.admit

    def admit_then_end_pre_login(*args, **kwargs):
        admitted = real(*args, **kwargs)
        registry.end_session(digest=crypto.key_digest(pre), reason="logout")
        return admitted

    monkeypatch.setattr(registry, "admit", admit_then_end_pre_login)
    c.post("/accounts/login/", {"username": "alice", "password": "correct horse battery staple"})

    assert _index(alice) == []  # neither a session nor a reservation holds the only slot
    assert c.cookies[COOKIE].value == pre
    assert connection().hget(meta_key(crypto.key_digest(pre)), "successor") is None
    assert c.get("/dashboard/").status_code == 302
    monkeypatch.undo()
    assert services.max_sessions_for(alice) == 1
    again = Client()
    again.get("/accounts/login/")
    ok = again.post(
        "/accounts/login/", {"username": "alice", "password": "correct horse battery staple"}
    )
    assert ok.status_code == 302 and again.get("/dashboard/").status_code == 200


def test_a_sign_in_evicted_in_flight_ends_itself(alice, monkeypatch, session_settings):
    """evict_oldest took this sign-in's reservation between its admission and its save: the
    save's script rotates but claims nothing, and the sign-in ends its new session."""
    session_settings(CONCURRENCY_POLICY="evict_oldest")
    real = registry.admit

    def admit_then_lose_the_slot(*args, **kwargs):
        admitted = real(*args, **kwargs)
        connection().zrem(user_index_key(alice.pk), admitted.reservation)
        return admitted

    monkeypatch.setattr(registry, "admit", admit_then_lose_the_slot)
    c = Client()
    c.get("/accounts/login/")
    pre = c.cookies[COOKIE].value
    c.post("/accounts/login/", {"username": "alice", "password": "correct horse battery staple"})

    assert _index(alice) == []
    successor = connection().hget(meta_key(crypto.key_digest(pre)), "successor").decode()
    assert connection().hget(meta_key(successor), "end_reason") == b"evicted"
    told = c.get("/dashboard/", follow=True)
    assert "signed in on another device" in told.content.decode()


def test_the_pre_login_key_becomes_a_tombstone_of_the_signed_in_key(alice, sign_in):
    c = Client()
    c.get("/accounts/login/")
    pre = crypto.key_digest(c.cookies[COOKIE].value)
    sign_in(c)
    new = crypto.key_digest(c.cookies[COOKIE].value)
    meta = connection().hgetall(meta_key(pre))
    assert new != pre and meta[b"successor"].decode() == new and b"obsolete_at" in meta
    assert _index(alice) == [new]
    assert connection().hget(meta_key(new), "sessions") == b"1"


@pytest.mark.parametrize("failure", ["pre_login_ended", "evicted_in_flight"])
def test_a_sign_in_that_did_not_happen_remembers_no_device(
    alice, monkeypatch, session_settings, failure
):
    """'Keep me signed in' ticked, and the sign-in stopped after login() had run (the rotation
    refused by the save, or the slot taken in flight): no device token, no remember cookie."""
    session_settings(CONCURRENCY_POLICY="evict_oldest", REMEMBER_DAYS=30)
    c = Client()
    c.get("/accounts/login/")
    pre = c.cookies[COOKIE].value
    real = registry.admit

    def admit_then_fail(*args, **kwargs):
        admitted = real(*args, **kwargs)
        if failure == "pre_login_ended":
            registry.end_session(digest=crypto.key_digest(pre), reason="logout")
        else:
            connection().zrem(user_index_key(alice.pk), admitted.reservation)
        return admitted

    monkeypatch.setattr(registry, "admit", admit_then_fail)
    post = {"username": "alice", "password": "correct horse battery staple", "remember": "on"}
    c.post("/accounts/login/", post)

    assert not connection().exists(user_key(alice.pk, "remember"))
    assert not c.cookies.get(remember.cookie_name()) or not c.cookies[remember.cookie_name()].value
