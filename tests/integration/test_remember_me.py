"""'Keep me signed in' (issue 16): one-time device tokens in their own __Host- cookie.

Each device is a Django test Client (its own cookies, user agent and address) signed in through
the real login form against the real Redis. "A browser restart" is deleting the session cookie.
"""

import re

import pytest
from django.conf import settings
from django.test import Client

from sessions_admin import crypto, registry, remember
from sessions_admin.models import SecurityEvent
from sessions_admin.redis_keys import connection
from tests.devices import PHONE, WINDOWS

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
SESSION = settings.SESSION_COOKIE_NAME
REMEMBER = "__Host-remember"
DAY = 86400
TOLD = "was used twice: it had probably been copied"  # remember.REUSE_TEXT, as HTML shows it


@pytest.fixture(autouse=True)
def limits(session_settings, frozen_clock):
    session_settings(
        MAX_PER_USER=10, MAX_PER_STAFF=10, CONCURRENCY_POLICY="evict_oldest", REMEMBER_DAYS=30
    )


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def sign_in(client, username="alice", *, remember_me=True, next_url=None):
    client.get("/accounts/login/")
    data = {"username": username, "password": PASSWORD}
    if remember_me:
        data["remember"] = "on"
    if next_url:
        data["next"] = next_url
    response = client.post("/accounts/login/", data)
    assert response.status_code == 302, "sign-in failed"
    return response


def device(profile=PHONE, username="alice", **kw) -> Client:
    client = Client(**profile)
    sign_in(client, username, **kw)
    return client


def restart(client) -> None:
    """A browser restart: the session cookie (no Max-Age) is gone, the remember cookie stays."""
    del client.cookies[SESSION]


def digest_of(client) -> str:
    return crypto.key_digest(client.cookies[SESSION].value)


def remember_value(client) -> str | None:
    morsel = client.cookies.get(REMEMBER)
    return morsel.value if morsel is not None and morsel.value else None


def signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


def replay(profile, value) -> Client:
    """Another browser holding a copy of a remember cookie, and nothing else."""
    thief = Client(**profile)
    thief.cookies[REMEMBER] = value
    return thief


# --- the form and the cookie ------------------------------------------------------------------
def test_the_box_is_offered_unticked_and_only_where_remembering_is_on(alice, session_settings):
    page = Client().get("/accounts/login/").content.decode()
    assert re.search(r'<input type="checkbox" name="remember" id="id_remember"[^>]*>', page)
    assert 'id="id_remember" value="on" aria-describedby="remember-help">' in page  # unticked
    assert '<label for="id_remember">Keep me signed in</label>' in page
    session_settings(REMEMBER_DAYS=0)
    assert 'name="remember"' not in Client().get("/accounts/login/").content.decode()


def test_ticked_sign_in_sets_a_host_cookie_with_the_tokens_life(alice):
    client = Client(**PHONE)
    response = sign_in(client)
    morsel = response.cookies[REMEMBER]
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}:[A-Za-z0-9_-]{43}", morsel.value)
    assert morsel["secure"] and morsel["httponly"]
    assert morsel["samesite"] == "Lax" and morsel["path"] == "/" and not morsel["domain"]
    assert int(morsel["max-age"]) == 30 * DAY
    # The only other __Host- cookie set at sign-in; the session cookie stays non-persistent.
    assert {name for name in response.cookies if name.startswith("__Host-")} == {SESSION, REMEMBER}
    assert not response.cookies[SESSION]["max-age"]


def test_unticked_or_switched_off_sets_no_cookie(alice, session_settings):
    assert REMEMBER not in sign_in(Client(**PHONE), remember_me=False).cookies
    session_settings(REMEMBER_DAYS=0)
    assert REMEMBER not in sign_in(Client(**WINDOWS), remember_me=True).cookies
    assert remember.list_tokens(alice.pk) == []


def test_redis_holds_only_a_hash_of_the_validator(alice, redis_prefix):
    client = device()
    selector, validator = remember_value(client).split(":")
    conn = connection()
    dump = b"".join(
        repr(conn.hgetall(k) if conn.type(k) == b"hash" else conn.dump(k)).encode()
        for k in conn.scan_iter(match=f"{redis_prefix}*")
    )
    assert validator.encode() not in dump
    record = conn.hgetall(remember.token_key(selector))
    assert record[b"v"].decode() == remember._validator_hash(validator)
    assert record[b"uid"] == str(alice.pk).encode()
    assert record[b"ua"].decode() == PHONE["HTTP_USER_AGENT"]
    assert record[b"ip"].decode() == PHONE["REMOTE_ADDR"]
    assert conn.sismember(remember.user_tokens_key(alice.pk), selector)
    assert 29 * DAY < conn.ttl(remember.token_key(selector)) <= 30 * DAY


# --- a remembered sign-in ----------------------------------------------------------------------
def test_after_a_restart_any_page_signs_in_with_a_new_key_and_a_new_validator(alice, frozen_clock):
    phone = device()
    first_key, first_cookie = phone.cookies[SESSION].value, remember_value(phone)
    frozen_clock.advance(3600)
    restart(phone)
    response = phone.get("/dashboard/")
    assert response.status_code == 200 and response.context["user"] == alice
    assert phone.cookies[SESSION].value != first_key
    new_cookie = remember_value(phone)
    assert new_cookie != first_cookie
    assert new_cookie.split(":")[0] == first_cookie.split(":")[0]  # the device keeps its name
    assert int(response.cookies[REMEMBER]["max-age"]) == 30 * DAY - 3600  # never extended
    meta = registry.meta_of(digest_of(phone))
    assert meta.created_at == frozen_clock.now()  # a new absolute deadline
    assert SecurityEvent.objects.filter(name="remembered_sign_in", user=alice).count() == 1


def test_a_remembered_sign_in_is_not_a_recent_authentication(make_user, frozen_clock):
    carol = make_user("carol", staff=True)
    laptop = device(WINDOWS, "carol")
    phone = device(PHONE, "carol")
    restart(phone)
    assert signed_in(phone)
    assert phone.session.get("_session_facts", {}).get("auth_at") is None
    assert registry.meta_of(digest_of(phone)).auth_at is None
    console = phone.get("/console/sessions/")
    assert console.status_code == 302 and console["Location"].startswith("/accounts/elevate/")
    handle = crypto.handle_for(digest_of(laptop))
    ended = phone.post(f"/sessions/{handle}/end/", {"next": "/sessions/"})
    assert ended["Location"].startswith("/accounts/elevate/")
    assert signed_in(laptop)
    assert SecurityEvent.objects.filter(name="remembered_sign_in", user=carol).count() == 1
    assert SecurityEvent.objects.filter(name="login", user=carol).count() == 2  # the passwords


def test_an_idle_timeout_is_bridged_by_the_remembered_device(alice, frozen_clock):
    phone = device()
    old = phone.cookies[SESSION].value
    frozen_clock.advance(901)  # past the idle timeout
    response = phone.get("/dashboard/")
    assert response.status_code == 302  # ended, told why...
    assert phone.get(response["Location"]).status_code == 302  # ...and signed in again
    assert signed_in(phone) and phone.cookies[SESSION].value != old


# --- one use: a used validator means a stolen token --------------------------------------------
def test_a_replayed_used_validator_ends_every_session_and_token(alice, frozen_clock):
    phone = device()
    laptop = device(WINDOWS, remember_me=True)
    stolen = remember_value(phone)
    restart(phone)
    assert signed_in(phone)  # the validator in `stolen` is now used
    frozen_clock.advance(120)
    thief = replay(WINDOWS, stolen)
    response = thief.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert thief.cookies[REMEMBER].value == ""  # deleted
    assert TOLD in thief.get(response["Location"]).content.decode()
    assert registry.list_sessions(alice.pk) == []
    assert remember.list_tokens(alice.pk) == []
    assert not signed_in(laptop)
    event = SecurityEvent.objects.get(name="remember_token_reuse")
    assert event.user == alice and event.detail["sessions_ended"] == 3
    # The victim is told on the login page.
    told = phone.get("/dashboard/", follow=True).content.decode()
    assert TOLD in told
    assert not signed_in(phone)


def test_the_thief_first_then_the_victim_is_told_at_its_next_visit(alice, frozen_clock):
    phone = device()
    stolen = remember_value(phone)
    restart(phone)
    thief = replay(WINDOWS, stolen)
    assert signed_in(thief)  # the thief wins the first use
    frozen_clock.advance(3600)
    page = phone.get("/dashboard/", follow=True).content.decode()
    assert TOLD in page
    assert not signed_in(thief)
    assert SecurityEvent.objects.filter(name="remember_token_reuse").count() == 1


def test_a_device_holding_a_revoked_token_is_told_once(alice, frozen_clock):
    phone, laptop = device(), device(WINDOWS)
    stolen = remember_value(phone)
    restart(phone)
    assert signed_in(phone)
    frozen_clock.advance(60)
    replay(PHONE, stolen).get("/dashboard/")  # theft detected: everything revoked
    restart(laptop)  # the laptop was closed meanwhile: no session to carry the news
    page = laptop.get("/dashboard/", follow=True).content.decode()
    assert TOLD in page
    assert laptop.cookies[REMEMBER].value == ""
    assert TOLD not in Client(**WINDOWS).get("/accounts/login/").content.decode()


def test_restored_tabs_racing_with_one_validator_are_not_a_theft(alice, frozen_clock):
    phone = device()
    cookie = remember_value(phone)
    restart(phone)
    assert signed_in(phone)
    frozen_clock.advance(5)
    twin = replay(PHONE, cookie)  # the other tab, sent before the first answer arrived
    response = twin.get("/dashboard/")
    assert response.status_code == 302
    assert REMEMBER not in response.cookies and SESSION not in response.cookies
    assert signed_in(phone)
    assert not SecurityEvent.objects.filter(name="remember_token_reuse").exists()
    frozen_clock.advance(60)  # past the grace: the same replay is a theft
    replay(PHONE, cookie).get("/dashboard/")
    assert not signed_in(phone)


# --- the cookie is input like any other --------------------------------------------------------
@pytest.mark.parametrize(
    "value", ["garbage", "a" * 24 + ":" + "b" * 42, "x" * 500, "a:b:c", "é" * 10, ""]
)
def test_a_malformed_cookie_is_deleted_and_ignored(alice, value):
    client = Client()
    client.cookies[REMEMBER] = value
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response.cookies[REMEMBER].value == ""
    assert response.cookies[REMEMBER]["max-age"] == 0


def test_a_wrong_validator_or_unknown_selector_is_ignored_not_a_theft(alice):
    phone = device()
    selector = remember_value(phone).split(":")[0]
    for forged in (f"{selector}:{'A' * 43}", f"{'B' * 24}:{'A' * 43}"):
        response = replay(WINDOWS, forged).get("/dashboard/")
        assert response.status_code == 302 and response.cookies[REMEMBER].value == ""
    assert remember.list_tokens(alice.pk)
    assert signed_in(phone)
    assert not SecurityEvent.objects.filter(name="remember_token_reuse").exists()


def test_the_token_is_read_from_the_cookie_only(alice):
    value = remember_value(device())
    client = Client(**PHONE)
    assert client.get(f"/dashboard/?{REMEMBER}={value}&remember={value}").status_code == 302
    assert client.get("/dashboard/", HTTP_X_REMEMBER=value).status_code == 302
    assert client.post("/accounts/login/", {REMEMBER: value}).status_code == 200
    assert not signed_in(client)


def test_an_expired_token_is_ignored_and_deleted(alice, frozen_clock):
    phone = device()
    restart(phone)
    frozen_clock.advance(30 * DAY + 1)
    response = phone.get("/dashboard/")
    assert response.status_code == 302 and response.cookies[REMEMBER].value == ""
    assert remember.list_tokens(alice.pk) == []


def test_a_disabled_account_is_not_signed_in_by_its_token(alice):
    phone = device()
    restart(phone)
    alice.is_active = False
    alice.save()
    assert not signed_in(phone)


# --- forgetting ----------------------------------------------------------------------------------
def test_logout_forgets_this_device_only_and_deletes_its_cookie(alice):
    phone, laptop = device(), device(WINDOWS)
    response = phone.post("/accounts/logout/")
    assert response.cookies[REMEMBER].value == ""
    assert [t.ua for t in remember.list_tokens(alice.pk)] == [WINDOWS["HTTP_USER_AGENT"]]
    restart(laptop)
    assert signed_in(laptop)


def test_your_sessions_lists_remembered_devices_with_their_expiry(alice):
    device(WINDOWS)
    phone = device()
    page = phone.get("/sessions/")
    html = page.content.decode()
    devices = page.context["devices"]
    assert {d.device for d in devices} == {"Safari 17 on iPhone", "Firefox 128 on Windows"}
    assert [d.current for d in devices if d.device == "Safari 17 on iPhone"] == [True]
    assert all(d.expires_in == "in 30 days" for d in devices)
    assert html.count("data-remembered-expiry") == 2
    assert 'aria-label="Forget Firefox 128 on Windows, 192.0.2.44"' in html


def test_forgetting_a_device_needs_a_recent_authentication_then_works(alice, frozen_clock):
    laptop = device(WINDOWS)
    phone = device()
    laptop_token = next(t for t in remember.list_tokens(alice.pk) if t.ua == laptop_ua())
    restart(phone)
    assert signed_in(phone)  # remembered: no recent password
    path = f"/sessions/remembered/{laptop_token.handle}/forget/"
    asked = phone.post(path, {"next": "/sessions/"})
    assert asked["Location"].startswith("/accounts/elevate/")
    assert len(remember.list_tokens(alice.pk)) == 2
    form = phone.get(asked["Location"]).content.decode()
    assert "forget a remembered device" in form
    resume = re.search(r'name="resume" value="([^"]+)"', form).group(1)
    done = phone.post(
        "/accounts/elevate/",
        {"password": PASSWORD, "next": "/sessions/", "resume": resume},
        follow=True,
    )
    assert "Forgot Firefox 128 on Windows" in done.content.decode()
    assert [t.ua for t in remember.list_tokens(alice.pk)] == [PHONE["HTTP_USER_AGENT"]]
    restart(laptop)
    assert not signed_in(laptop)


def laptop_ua():
    return WINDOWS["HTTP_USER_AGENT"]


def test_another_users_device_handle_is_404_and_forgets_nothing(alice, make_user):
    make_user("bob")
    bobs = device(WINDOWS, "bob")
    handle = remember.list_tokens(bobs.session["_auth_user_id"])[0].handle
    response = device().post(f"/sessions/remembered/{handle}/forget/")
    assert response.status_code == 404
    restart(bobs)
    assert signed_in(bobs)


def test_forget_all_devices(alice):
    device(WINDOWS)
    phone = device()
    response = phone.post("/sessions/remembered/forget-all/", {"next": "/sessions/"})
    assert response.cookies[REMEMBER].value == ""
    assert remember.list_tokens(alice.pk) == []
    assert signed_in(phone)  # the session itself stays


@pytest.mark.parametrize("how", ["password_change", "end_others", "disable", "staff_end_all"])
def test_these_forget_every_device(alice, make_user, how):
    laptop, phone = device(WINDOWS), device()
    if how == "password_change":
        new = "another long passphrase 42"
        form = {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
        assert phone.post("/accounts/password/", form).status_code == 302
    elif how == "end_others":
        phone.post("/sessions/end-others/", {"next": "/sessions/"})
    else:
        from sessions_admin import services

        staff = make_user("carol", staff=True)
        if how == "disable":
            services.disable_account(request=None, actor=staff, user=alice)
        else:
            services.end_user_sessions(request=None, actor=staff, user=alice)
    assert remember.list_tokens(alice.pk) == []
    restart(laptop)
    assert not signed_in(laptop)


def test_ending_a_session_forgets_the_device_even_after_a_restart(alice, frozen_clock):
    laptop, phone = device(WINDOWS), device()
    # The laptop's session rotates (a remembered sign-in, then sudo-like rotations) first.
    restart(laptop)
    assert signed_in(laptop)
    laptop.post("/accounts/elevate/", {"password": PASSWORD, "next": "/dashboard/"})
    handle = crypto.handle_for(digest_of(laptop))
    assert phone.post(f"/sessions/{handle}/end/", {"next": "/sessions/"})["Location"] == (
        "/sessions/"
    )
    restart(laptop)  # closed before it could hear of it
    assert not signed_in(laptop)
    assert [t.ua for t in remember.list_tokens(alice.pk)] == [PHONE["HTTP_USER_AGENT"]]


def test_a_device_whose_session_was_ended_forgets_itself_on_its_next_request(alice):
    laptop, phone = device(WINDOWS), device()
    # Ended with no link to its token (say, by an operator's script): the device itself notices.
    registry.end_session(digest=digest_of(laptop), reason="ended_by_user")
    response = laptop.get("/dashboard/", follow=True)
    assert "ended from another device" in response.content.decode()
    assert not signed_in(laptop)
    assert [t.ua for t in remember.list_tokens(alice.pk)] == [PHONE["HTTP_USER_AGENT"]]
    assert signed_in(phone)


# --- the concurrency policy applies; a remembered sign-in never prompts ------------------------
@pytest.mark.parametrize("policy", ["deny_new", "prompt"])
def test_at_the_limit_a_remembered_sign_in_is_refused_and_the_login_page_says_why(
    alice, session_settings, policy
):
    phone = device()
    restart(phone)  # its old session lives on in Redis until it idles out: it still counts
    session_settings(MAX_PER_USER=2, CONCURRENCY_POLICY=policy)
    device(WINDOWS, remember_me=False)
    response = phone.get("/dashboard/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")
    html = response.content.decode()
    assert "This device is remembered, but your account is already signed in on 2 devices" in html
    assert remember_value(phone)  # still remembered, with a fresh validator
    assert SecurityEvent.objects.filter(name="login_denied_concurrency").count() == 1
    assert not SecurityEvent.objects.filter(name="login_pending").exists()  # never a prompt


def test_under_evict_oldest_a_remembered_sign_in_ends_the_oldest(
    alice, session_settings, frozen_clock
):
    laptop = device(WINDOWS, remember_me=False)
    frozen_clock.advance(60)
    phone = device()
    restart(phone)
    session_settings(MAX_PER_USER=2)
    frozen_clock.advance(60)
    assert signed_in(phone)
    assert not signed_in(laptop)
    assert SecurityEvent.objects.filter(name="session_evicted").count() == 1
