"""Sign-in throttling: per account and per client IP, on the real Redis, timed by the one clock.

LOGIN_FAILURE_LIMIT is 5 in FAILURE_WINDOW = 900 seconds (the per-IP limit is 25).
"""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection, throttle_key

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
WRONG = "wrong horse battery staple"
HERE = {"REMOTE_ADDR": "203.0.113.5"}
ELSEWHERE = {"REMOTE_ADDR": "198.51.100.9"}


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


@pytest.fixture
def alice(make_user, frozen_clock):
    return make_user("alice")


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
    assert connection().exists(throttle_key("user", "alice"))


def test_account_is_throttled_from_any_address_and_case(alice):
    fail(Client(**HERE), 5)
    refused = attempt(Client(**ELSEWHERE), "ALICE", PASSWORD)
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


def test_a_correct_password_clears_the_account_count(alice):
    client = Client(**HERE)
    fail(client, 4)
    assert attempt(client, password=PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    fail(client, 4)
    assert attempt(client, password=PASSWORD).status_code == 302


def test_one_address_failing_across_many_accounts_is_throttled(alice):
    spray = Client(**HERE)
    for i in range(25):
        attempt(spray, username=f"nobody{i}")
    assert attempt(Client(**HERE), password=PASSWORD).status_code == 429
    assert attempt(Client(**ELSEWHERE), password=PASSWORD).status_code == 302
    assert SecurityEvent.objects.filter(name="login_failed").count() == 25


def test_a_flood_of_refused_attempts_logs_one_event_not_one_each(alice):
    """Each refusal still answers 429, but only the first writes a row: no database flood."""
    client = Client(**HERE)
    fail(client, 5)
    for _ in range(20):
        assert attempt(client).status_code == 429
    assert SecurityEvent.objects.filter(name="login_throttled").count() == 1


def test_unicode_variants_of_the_username_share_the_accounts_counter(alice):
    """Django signs fullwidth "alice" in as alice (NFKC), so it must count against alice too."""
    fail(Client(**HERE), 5)
    refused = attempt(
        Client(REMOTE_ADDR="198.51.100.99"), username="\uff41\uff4cice", password=PASSWORD
    )
    assert refused.status_code == 429
