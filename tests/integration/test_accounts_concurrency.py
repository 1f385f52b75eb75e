"""The concurrent-logon policy at sign-in, and the notice other sessions get of a new sign-in.

Each device is its own test Client (its own cookie, user agent and address). MAX_PER_USER is 2:
the second sign-in is admitted under every policy; the third meets the policy.
"""

import re
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.test import Client

from sessions_admin import crypto, registry, services
from sessions_admin.models import SecurityEvent
from sessions_admin.policy import END_REASONS
from sessions_admin.redis_keys import connection, pending_login_key
from tests.devices import PHONE, WINDOWS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LAPTOP = {
    "HTTP_USER_AGENT": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/156.0.0.0 Safari/537.36"
    ),
    "REMOTE_ADDR": "203.0.113.5",
}
EVICTED_TEXT = END_REASONS["evicted"]


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[settings.SESSION_COOKIE_NAME].value)


def live_digests(user) -> set[str]:
    return {i.digest for i in registry.list_sessions(user.pk)}


def post_login(client, username="alice"):
    client.get("/accounts/login/")
    return client.post("/accounts/login/", {"username": username, "password": PASSWORD})


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


@pytest.fixture
def alice(make_user, frozen_clock, session_settings):
    session_settings(MAX_PER_USER=2)
    return make_user("alice")


@pytest.fixture
def device(frozen_clock):
    """``device(PHONE)``: a client signed in as alice, a minute after the previous device."""

    def make(profile):
        frozen_clock.advance(60)
        client = Client(**profile)
        assert post_login(client).status_code == 302
        return client

    return make


@pytest.mark.parametrize("policy", ["evict_oldest", "deny_new", "prompt"])
def test_sign_ins_up_to_the_limit_are_admitted_under_every_policy(
    alice, device, session_settings, policy
):
    session_settings(CONCURRENCY_POLICY=policy)
    first, second = device(LAPTOP), device(PHONE)
    assert signed_in(first) and signed_in(second)
    assert live_digests(alice) == {digest_of(first), digest_of(second)}


def test_evict_oldest_ends_the_least_recently_active_session(alice, device, session_settings):
    session_settings(CONCURRENCY_POLICY="evict_oldest")
    oldest, newer = device(LAPTOP), device(PHONE)
    oldest_digest = digest_of(oldest)
    third = device(WINDOWS)

    assert live_digests(alice) == {digest_of(newer), digest_of(third)}
    response = oldest.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert EVICTED_TEXT in oldest.get(response["Location"]).content.decode()
    assert signed_in(newer) and signed_in(third)
    evicted = SecurityEvent.objects.get(name="session_evicted")
    assert evicted.user == alice and evicted.session_hash == crypto.event_hash(oldest_digest)


def test_evict_oldest_past_the_limit_ends_every_surplus_session(alice, device, session_settings):
    session_settings(CONCURRENCY_POLICY="evict_oldest", MAX_PER_USER=3)
    a, b, c = device(LAPTOP), device(PHONE), device(WINDOWS)
    session_settings(MAX_PER_USER=2)  # the limit was lowered while three were live
    d = device(LAPTOP)
    assert live_digests(alice) == {digest_of(c), digest_of(d)}
    assert not signed_in(a) and not signed_in(b)
    assert SecurityEvent.objects.filter(name="session_evicted").count() == 2


def test_deny_new_refuses_the_sign_in_and_says_why(alice, device, session_settings):
    session_settings(CONCURRENCY_POLICY="deny_new")
    first, second = device(LAPTOP), device(PHONE)
    third = Client(**WINDOWS)
    response = post_login(third)

    assert response.status_code == 409
    assert "already signed in on 2 devices" in response.content.decode()
    assert not signed_in(third)
    assert live_digests(alice) == {digest_of(first), digest_of(second)}
    assert SecurityEvent.objects.filter(name="login_denied_concurrency", user=alice).count() == 1
    assert not SecurityEvent.objects.filter(name="login", ip=WINDOWS["REMOTE_ADDR"]).exists()


def test_deny_new_past_the_limit_still_refuses(alice, device, session_settings):
    session_settings(CONCURRENCY_POLICY="deny_new", MAX_PER_USER=3)
    device(LAPTOP), device(PHONE), device(WINDOWS)
    session_settings(MAX_PER_USER=2)
    assert post_login(Client(**LAPTOP)).status_code == 409
    assert len(live_digests(alice)) == 3


@pytest.fixture
def at_the_limit(alice, device, session_settings):
    session_settings(CONCURRENCY_POLICY="prompt")
    return device(LAPTOP), device(PHONE)


def test_prompt_creates_no_session_before_the_choice(alice, at_the_limit):
    _laptop, _phone = at_the_limit
    before = live_digests(alice)
    newcomer = Client(**WINDOWS)
    response = post_login(newcomer)

    assert response.status_code == 302 and response["Location"] == "/accounts/login/choose/"
    assert live_digests(alice) == before
    assert not signed_in(newcomer)
    page = newcomer.get("/accounts/login/choose/").content.decode()
    assert "Chrome 156 on Linux, 203.0.113.5" in page
    assert "Safari 17 on iPhone, 198.51.100.7" in page
    assert page.count('type="radio" name="handle"') == 2


def test_prompt_choice_ends_the_chosen_session_and_signs_in(alice, at_the_limit):
    laptop, phone = at_the_limit
    newcomer = Client(**WINDOWS)
    post_login(newcomer)
    page = newcomer.get("/accounts/login/choose/").content.decode()
    handle = crypto.handle_for(digest_of(laptop))
    assert f'value="{handle}"' in page

    response = newcomer.post("/accounts/login/choose/", {"handle": handle})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert signed_in(newcomer) and signed_in(phone)
    assert live_digests(alice) == {digest_of(phone), digest_of(newcomer)}
    gone = laptop.get("/dashboard/")
    assert EVICTED_TEXT in laptop.get(gone["Location"]).content.decode()
    evicted = SecurityEvent.objects.get(name="session_evicted")
    assert evicted.detail["chosen"] is True


def test_prompt_choice_is_one_use(alice, at_the_limit):
    laptop, _phone = at_the_limit
    newcomer = Client(**WINDOWS)
    post_login(newcomer)
    token = newcomer.session[services.PENDING_SIGN_IN]
    assert 0 < connection().ttl(pending_login_key(token)) <= services.PENDING_SIGN_IN_TTL
    newcomer.post("/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(laptop))})
    assert not connection().exists(pending_login_key(token))


def test_prompt_cancelled_creates_nothing_and_ends_nothing(alice, at_the_limit):
    laptop, phone = at_the_limit
    before = live_digests(alice)
    newcomer = Client(**WINDOWS)
    post_login(newcomer)
    token = newcomer.session[services.PENDING_SIGN_IN]

    response = newcomer.post("/accounts/login/choose/", {"cancel": "1"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not connection().exists(pending_login_key(token))
    assert live_digests(alice) == before
    assert signed_in(laptop) and signed_in(phone) and not signed_in(newcomer)
    # The abandoned choice cannot be completed afterwards.
    late = newcomer.post("/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(phone))})
    assert late["Location"] == "/accounts/login/"
    assert live_digests(alice) == before
    assert not SecurityEvent.objects.filter(name="session_evicted").exists()


def test_prompt_abandoned_pending_sign_in_expires(alice, at_the_limit):
    newcomer = Client(**WINDOWS)
    post_login(newcomer)
    connection().delete(pending_login_key(newcomer.session[services.PENDING_SIGN_IN]))  # TTL ran
    response = newcomer.get("/accounts/login/choose/")
    assert response["Location"] == "/accounts/login/"
    assert len(live_digests(alice)) == 2 and not signed_in(newcomer)


def test_prompt_choice_without_pending_sign_in_is_sent_to_sign_in(alice):
    assert Client().get("/accounts/login/choose/")["Location"] == "/accounts/login/"


def test_prompt_past_the_limit_asks_again_until_below_it(alice, device, session_settings):
    session_settings(CONCURRENCY_POLICY="prompt", MAX_PER_USER=3)
    a, b, c = device(LAPTOP), device(PHONE), device(WINDOWS)
    session_settings(MAX_PER_USER=2)
    newcomer = Client(**LAPTOP)
    post_login(newcomer)
    again = newcomer.post("/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(a))})
    assert again["Location"] == "/accounts/login/choose/"
    assert not signed_in(newcomer)
    done = newcomer.post("/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(b))})
    assert done["Location"] == "/dashboard/"
    assert live_digests(alice) == {digest_of(c), digest_of(newcomer)}


def test_other_sessions_are_told_of_a_new_sign_in_once(alice, device, frozen_clock):
    laptop = device(LAPTOP)
    phone = device(PHONE)
    at = datetime.fromtimestamp(frozen_clock.now(), tz=UTC).strftime("%H:%M")
    notice = f"New sign-in from Safari 17 on iPhone, 198.51.100.7, at {at} UTC"

    first = laptop.get("/dashboard/").content.decode()
    assert notice in first
    second = laptop.get("/dashboard/").content.decode()
    assert "New sign-in from" not in second
    assert "New sign-in from" not in phone.get("/dashboard/").content.decode()


def test_evicted_session_gets_no_notice_but_the_survivor_does(alice, device, session_settings):
    session_settings(CONCURRENCY_POLICY="evict_oldest")
    oldest, survivor = device(LAPTOP), device(PHONE)
    device(WINDOWS)
    page = survivor.get("/dashboard/").content.decode()
    assert re.search(r"New sign-in from Firefox 128 on Windows, 192\.0\.2\.44", page)
    assert "Firefox" not in (registry.meta_of(digest_of(oldest)).notice or "")


def test_prompt_cannot_end_another_users_session(alice, at_the_limit, make_user):
    make_user("bob")
    bob = Client(**PHONE)
    assert post_login(bob, "bob").status_code == 302
    newcomer = Client(**WINDOWS)
    post_login(newcomer)
    response = newcomer.post(
        "/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(bob))}
    )
    assert response["Location"] == "/accounts/login/choose/", "still at the limit: asked again"
    assert signed_in(bob) and not signed_in(newcomer)
    assert not SecurityEvent.objects.filter(name="session_evicted").exists()


def test_prompt_pending_sign_in_dies_with_a_password_change(alice, at_the_limit):
    laptop, _phone = at_the_limit
    newcomer = Client(**WINDOWS)
    post_login(newcomer)
    alice.set_password("changed meanwhile, elsewhere")
    alice.save()
    response = newcomer.post(
        "/accounts/login/choose/", {"handle": crypto.handle_for(digest_of(laptop))}
    )
    assert response["Location"] == "/accounts/login/"
    assert not signed_in(newcomer)
    assert digest_of(laptop) in live_digests(alice)
