"""Sign-in and re-authentication throttling on the real Redis, timed by the one clock.

With LOGIN_FAILURE_LIMIT = 5 in a window of 900 seconds, the budgets are (accounts/throttle.py):

* 5 failures per (account, client): always;
* 25 per account, counted from clients the account has not signed in from in 30 days (spraying
  one account from many addresses);
* 100 per client across accounts, for (account, client) pairs that are not known (stuffing);
* 5 per signed-in session for re-authentication (sudo / confirm password, the current password
  on password change), separate from every anonymous budget.

A client is ``sessions_admin.policy.client_key(ip)``: an IPv4 address or an IPv6 /64.
"""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from accounts import throttle
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
WRONG = "wrong horse battery staple"
NEW = "a brand new passphrase for bob"
HERE = {"REMOTE_ADDR": "203.0.113.5"}
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.9"}
ATTACKER = {"REMOTE_ADDR": "192.0.2.66"}
BOBS_PHONE = {"REMOTE_ADDR": "198.51.100.77"}


class CountingHasher(MD5PasswordHasher):
    """A real (fast) hasher that counts the password checks and hashings it performs."""

    algorithm = "counting_md5"
    calls = 0

    def verify(self, password, encoded):
        type(self).calls += 1
        return super().verify(password, encoded)

    def encode(self, password, salt):
        type(self).calls += 1
        return super().encode(password, salt)


def attempt(client, username="alice", password=WRONG, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def fail(client, times, username="alice", **extra):
    responses = [attempt(client, username, **extra) for _ in range(times)]
    return responses[-1]


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def device(profile, username="alice"):
    """A browser at ``profile`` signed in as ``username``: its client becomes known."""
    client = Client(**profile)
    assert attempt(client, username, PASSWORD).status_code == 302
    return client


def elevate(client, password=PASSWORD):
    return client.post("/accounts/elevate/", {"password": password, "next": "/dashboard/"})


def change_password(client, old=PASSWORD, new=NEW):
    return client.post(
        "/accounts/password/",
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


@pytest.fixture
def alice(make_user, session_settings, frozen_clock):
    session_settings(MAX_PER_USER=50, CONCURRENCY_POLICY="evict_oldest")
    return make_user("alice")


@pytest.fixture
def bob(make_user, alice):
    return make_user("bob")


# --- the (account, client) budget ------------------------------------------------------------


def test_fifth_failure_throttles_even_the_right_password_and_says_how_long(alice):
    client = Client(**HERE)
    for _ in range(4):
        response = attempt(client)
        assert response.status_code == 200
        assert b"Too many failed sign-ins" not in response.content
    fifth = attempt(client)
    assert "Too many failed sign-ins. Try again in 15 minutes." in fifth.content.decode()

    refused = attempt(client, password=PASSWORD)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "900"
    assert "Too many failed sign-ins. Try again in 15 minutes." in refused.content.decode()
    assert not signed_in(client)
    assert SecurityEvent.objects.filter(name="login_failed", user=alice).count() == 5
    throttled = SecurityEvent.objects.get(name="login_throttled")
    assert throttled.user == alice and throttled.detail["retry_after"] == 900
    assert connection().exists(throttle.key("pair", "203.0.113.5|alice"))


def test_the_pair_budget_is_case_blind(alice):
    fail(Client(**HERE), 5)
    assert attempt(Client(**HERE), "ALICE", PASSWORD).status_code == 429


def test_unicode_variants_of_the_username_share_the_accounts_counter(alice):
    """Django signs fullwidth "alice" in as alice (NFKC), so it must count against alice too."""
    fail(Client(**HERE), 5)
    refused = attempt(Client(**HERE), username="\uff41\uff4cice", password=PASSWORD)
    assert refused.status_code == 429


def test_throttled_attempt_never_reaches_the_password_hasher(settings, make_user, frozen_clock):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    make_user("alice")
    client = Client(**HERE)
    fail(client, 5)
    CountingHasher.calls = 0
    assert attempt(client, password=PASSWORD).status_code == 429
    assert attempt(client, username="alice", password=WRONG).status_code == 429
    assert CountingHasher.calls == 0


@pytest.mark.parametrize(
    ("after", "throttled", "words"),
    [(899, True, "Try again in 1 minute."), (900, False, None), (901, False, None)],
)
def test_failures_stop_counting_when_the_window_passes(
    alice, frozen_clock, after, throttled, words
):
    client = Client(**HERE)
    fail(client, 5)
    frozen_clock.advance(after)
    response = attempt(client, password=PASSWORD)
    if throttled:
        assert response.status_code == 429
        assert response["Retry-After"] == str(900 - after)
        assert words in response.content.decode()
    else:
        assert response.status_code == 302
        assert signed_in(client)


def test_the_window_slides_with_each_failure(alice, frozen_clock):
    client = Client(**HERE)
    fail(client, 4)
    frozen_clock.advance(600)
    attempt(client)  # the fifth failure, 600 s after the first four
    frozen_clock.advance(300)  # the first four age out; one failure remains in the window
    response = attempt(client, password=PASSWORD)
    assert response.status_code == 302


def test_successes_never_count(alice):
    client = Client(**HERE)
    for _ in range(6):
        assert attempt(client, password=PASSWORD).status_code == 302
        client.post("/accounts/logout/")
    response = attempt(client)
    assert response.status_code == 200
    assert b"Too many failed sign-ins" not in response.content


def test_a_correct_password_clears_the_pairs_count(alice):
    client = Client(**HERE)
    fail(client, 4)
    assert attempt(client, password=PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    fail(client, 4)
    assert attempt(client, password=PASSWORD).status_code == 302


def test_a_flood_of_refused_attempts_logs_one_event_not_one_each(alice):
    """Each refusal still answers 429, but only the first writes a row: no database flood."""
    client = Client(**HERE)
    fail(client, 5)
    for _ in range(20):
        assert attempt(client).status_code == 429
    assert SecurityEvent.objects.filter(name="login_throttled").count() == 1


# --- item 4: nobody's failures lock out somebody else -----------------------------------------


def test_item4_five_failures_from_an_attackers_address_do_not_lock_bob_out(bob):
    phone = device(BOBS_PHONE, "bob")
    phone.post("/accounts/logout/")
    for _ in range(5):
        attempt(Client(**ATTACKER), "bob")
    assert attempt(Client(**ATTACKER), "bob", PASSWORD).status_code == 429

    known = attempt(Client(**BOBS_PHONE), "bob", PASSWORD)
    assert known.status_code == 302, "bob's known device is not locked out by an outsider"
    unknown = attempt(Client(REMOTE_ADDR="198.51.100.200"), "bob", PASSWORD)
    assert unknown.status_code == 302, "5 failures are far below the account-wide budget"


def test_item4_spraying_one_account_from_many_addresses_is_still_slowed(bob):
    phone = device(BOBS_PHONE, "bob")
    phone.post("/accounts/logout/")
    for n in range(5):  # 5 addresses x 5 failures: every pair at its limit, the account at 25
        for _ in range(5):
            assert attempt(Client(REMOTE_ADDR=f"192.0.2.{n + 10}"), "bob").status_code == 200
    assert SecurityEvent.objects.filter(name="login_failed", username="bob").count() == 25

    fresh = attempt(Client(REMOTE_ADDR="192.0.2.99"), "bob", WRONG)
    assert fresh.status_code == 429 and fresh["Retry-After"] == "900"
    new_device = attempt(Client(REMOTE_ADDR="198.51.100.200"), "bob", PASSWORD)
    assert new_device.status_code == 429, "an unfamiliar client waits while bob is sprayed"
    assert attempt(Client(**BOBS_PHONE), "bob", PASSWORD).status_code == 302


def test_item4_anonymous_failures_do_not_stop_reauthentication_in_a_live_session(bob):
    session = device(BOBS_PHONE, "bob")
    for n in range(30):  # the account's anonymous budgets are spent, from everywhere
        attempt(Client(REMOTE_ADDR=f"192.0.2.{n + 10}"), "bob")
    for _ in range(5):
        attempt(Client(**BOBS_PHONE), "bob")
    assert attempt(Client(**BOBS_PHONE), "bob", PASSWORD).status_code == 429

    assert elevate(session).status_code == 302, "confirm password in bob's own session"
    done = change_password(session)
    assert done.status_code == 302 and done["Location"] == "/accounts/password/"
    assert signed_in(session)


def test_item4_the_per_session_budget_stops_a_stolen_session_guessing(bob):
    thief = device(BOBS_PHONE, "bob")  # a session of bob's whose cookie a thief has taken
    own = device(BOBS_PHONE, "bob")
    for _ in range(4):
        assert elevate(thief, WRONG).status_code == 200
    fifth = elevate(thief, WRONG)
    assert "Too many failed sign-ins" in fifth.content.decode()
    refused = elevate(thief)  # even the right password, now
    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    assert change_password(thief).status_code == 429
    assert change_password(thief)["Retry-After"] == "900"

    assert elevate(own).status_code == 302, "bob's own session has its own budget"
    assert attempt(Client(**ELSEWHERE), "bob", PASSWORD).status_code == 302, (
        "re-authentication failures do not spend the anonymous budgets"
    )
    failed = SecurityEvent.objects.filter(name="login_failed", username="bob")
    assert [e.detail["purpose"] for e in failed] == ["elevation"] * 5
    assert SecurityEvent.objects.filter(name="login_throttled", username="bob").count() == 1


def test_item4_wrong_current_passwords_spend_the_same_session_budget(bob):
    session = device(BOBS_PHONE, "bob")
    for _ in range(5):
        assert change_password(session, old=WRONG).status_code == 200
    refused = elevate(session)
    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    mismatch = {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW + "x"}
    assert session.post("/accounts/password/", mismatch).status_code == 429


def test_item4_a_correct_current_password_with_a_bad_new_one_is_not_a_failure(bob):
    session = device(BOBS_PHONE, "bob")
    mismatch = {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW + "x"}
    for _ in range(6):
        assert session.post("/accounts/password/", mismatch).status_code == 200
    assert elevate(session).status_code == 302
    assert not SecurityEvent.objects.filter(name="login_failed").exists()


def test_item4_classroom_failures_under_other_names_do_not_lock_out_a_correct_sign_in(bob):
    """One NAT, 30 people: 30 failures under other names leave both known and new pairs in.

    A pair that is known (bob signed in from this address before) ignores the per-client ceiling
    altogether; a pair that is not (alice, first time here) is refused only past 100 failures
    from this client in 15 minutes (next test).
    """
    device(HERE, "bob").post("/accounts/logout/")
    for i in range(30):
        assert attempt(Client(**HERE), f"pupil{i}").status_code == 200
    assert attempt(Client(**HERE), "bob", PASSWORD).status_code == 302
    assert attempt(Client(**HERE), "alice", PASSWORD).status_code == 302


def test_item4_the_client_ceiling_stops_stuffing_but_not_known_pairs(bob):
    device(HERE, "bob").post("/accounts/logout/")
    for i in range(100):
        assert attempt(Client(**HERE), f"victim{i}").status_code == 200
    refused = attempt(Client(**HERE), "alice", PASSWORD)
    assert refused.status_code == 429 and refused["Retry-After"] == "900"
    assert attempt(Client(**HERE), "bob", PASSWORD).status_code == 302
    assert attempt(Client(**ELSEWHERE), "alice", PASSWORD).status_code == 302


# --- item 6: an IPv6 /64 is one client ---------------------------------------------------------


def test_item6_failures_from_one_ipv6_64_count_as_one_client(alice):
    for n in range(5):
        assert attempt(Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")).status_code == 200
    rotated = attempt(Client(REMOTE_ADDR="2001:db8:1:2:aaaa:bbbb:cccc:dddd"), password=PASSWORD)
    assert rotated.status_code == 429
    next_door = attempt(Client(REMOTE_ADDR="2001:db8:1:3::1"), password=PASSWORD)
    assert next_door.status_code == 302
    assert connection().exists(throttle.key("pair", "2001:db8:1:2::/64|alice"))


def test_item6_a_known_ipv6_client_stays_known_across_its_64(bob):
    device({"REMOTE_ADDR": "2001:db8:5:6::1"}, "bob").post("/accounts/logout/")
    for n in range(5):
        for _ in range(5):
            attempt(Client(REMOTE_ADDR=f"192.0.2.{n + 10}"), "bob")
    assert attempt(Client(REMOTE_ADDR="192.0.2.99"), "bob", PASSWORD).status_code == 429
    moved = attempt(Client(REMOTE_ADDR="2001:db8:5:6:1234::9"), "bob", PASSWORD)
    assert moved.status_code == 302
