"""'Keep me signed in': one-time device tokens (a selector and a validator) in their own cookie.

The strong form of remember-me (Spring Security's persistent-token approach, with the split
selector/validator token): the session cookie stays a browser-session cookie; a second cookie,
``__Host-remember`` (Secure, HttpOnly, SameSite=Lax, Path=/, Max-Age = the token's life), holds
``<selector>:<validator>``. Redis keeps, under the selector, the user, the device facts, the
creation and expiry times and only an HMAC of the validator (under the session-key pepper):
a dump of Redis yields no usable cookie.

* **Any page.** ``RememberMeMiddleware`` (after ``SessionPolicyMiddleware``): a request with no
  signed-in user and a remember cookie is signed in before the view runs, through
  ``services.sign_in`` (the concurrency policy and the per-role limit apply). The sign-in is a
  fresh session (new key, new absolute deadline) but **not a recent authentication**
  (``signals.record_sign_in`` leaves ``auth_at`` empty): sudo mode, ending sessions and changing
  the password still ask for the password.
* **One use.** Each remembered sign-in replaces the validator (the selector stays: it names the
  device) and keeps the old validator's HMAC as *used*. Presenting a used validator means two
  browsers hold the same token: it was stolen. Every session and every token of the user ends
  (``remember_token_reuse``), and the login page says so. The one exception is a race, not a
  theft: the same browser (same client and user agent) presenting the validator it used less
  than ``ROTATION_GRACE`` seconds ago (tabs restored together after a restart): that request is
  served anonymous and leaves every cookie alone, so the first request's new cookies stand.
* **Fixed life.** A token lives ``REMEMBER_DAYS`` from the password sign-in that issued it; a
  remembered sign-in never extends it, so the password is asked at least that often.
* **Forgotten** by logout (this device), "Your sessions" (one or all), ending the session it
  opened (one), a password change, a disable, "sign out everywhere", staff ending all sessions.
* **Read from the cookie only**; the validator is compared in constant time after the lookup by
  selector; a malformed, unknown or expired cookie is deleted and ignored, never a 500.
"""

import enum
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.utils.http import urlencode
from redis.exceptions import WatchError

from . import clock, crypto, events, registry
from .conf import app_settings
from .policy import Admission, client_key
from .redis_keys import connection, guarded, in_order, meta_key, script, user_key
from .request_facts import facts_for

COOKIE_VALUE = re.compile(r"^([A-Za-z0-9_-]{24}):([A-Za-z0-9_-]{43})$")
# Set on the request by the middleware: the sign-in facts receiver leaves auth_at empty.
REMEMBERED_SIGN_IN = "_remembered_sign_in"
# Set on the request by whoever decided what the cookie becomes; applied to the response.
COOKIE_ACTION = "_remember_cookie_action"
# Session key: this device is remembered, but the concurrency policy refused the sign-in.
REFUSED = "_remember_refused"
# The end reason of every session ended by a reused token (the login page's words: REUSE_TEXT).
REUSE_REASON = "remember_token_reuse"
REUSE_TEXT = (
    "All your sessions were ended, and every device forgotten, because a 'Keep me signed in' "
    "token was used twice: it had probably been copied. Sign in again, and change your password "
    "if this was not you."
)
# Ended this way, the device's token also goes: only a timeout is no reason to ask again.
TIMEOUT_REASONS = frozenset({"idle", "absolute", "expired"})
USED_KEPT = 20  # used validators kept per token (the theft test looks them up)


# --- Redis layout ---------------------------------------------------------------------------
#   remember:{sel}        hash: uid v (HMAC of the validator) created_at expires_at last_used
#                         ua ip session (digest of the session it last opened) prev
#   remember:{sel}:used   sorted set: HMACs of used validators, scored by when
#   user:{uid}:remember   set of the user's selectors (redis_keys.user_key: in Cluster mode in
#                         the slot of the user's session index)
# A token's two keys share the selector's slot; the user's set is in another, so writes to both
# are ordered (``in_order``): the set first when adding, last when removing. A crash between
# leaves a selector naming no record, which ``list_tokens`` prunes.
# After a theft a token's record stays until its expiry as ``revoked`` (no validator): the next
# request presenting it, whichever validator, is told why on the login page, once.
def _p() -> str:
    return app_settings.REDIS_KEY_PREFIX


def token_key(selector: str) -> str:
    return f"{_p()}remember:{{{selector}}}"


def used_key(selector: str) -> str:
    return f"{_p()}remember:{{{selector}}}:used"


def user_tokens_key(uid) -> str:
    return user_key(uid, "remember")


def enabled() -> bool:
    return app_settings.REMEMBER_DAYS > 0


def cookie_name() -> str:
    return app_settings.REMEMBER_COOKIE_NAME


def _validator_hash(validator: str) -> str:
    return crypto.mac(b"remember:" + validator.encode())


def handle_for(selector: str) -> str:
    """The opaque handle 'Your sessions' uses: derived from the selector, useless as a cookie."""
    return crypto.mac(b"remember-handle:" + selector.encode())[:24]


def parse(raw: str | None) -> tuple[str, str] | None:
    match = COOKIE_VALUE.match(raw or "")
    return (match.group(1), match.group(2)) if match else None


def presented(request) -> tuple[str, str] | None:
    """The (selector, validator) of this request's remember cookie: the cookie, nothing else."""
    return parse(request.COOKIES.get(cookie_name()))


@dataclass(frozen=True)
class Token:
    selector: str
    handle: str
    uid: str
    created_at: float
    expires_at: float
    last_used: float | None
    ua: str
    ip: str
    session: str


def _token(selector: str, raw: dict) -> Token | None:
    d = {k.decode(): v.decode() for k, v in raw.items()}
    try:
        return Token(
            selector=selector,
            handle=handle_for(selector),
            uid=d["uid"],
            created_at=float(d["created_at"]),
            expires_at=float(d["expires_at"]),
            last_used=float(d["last_used"]) if d.get("last_used") else None,
            ua=d.get("ua", ""),
            ip=d.get("ip", ""),
            session=d.get("session", ""),
        )
    except (KeyError, ValueError):
        return None


# --- issue, consume, forget -------------------------------------------------------------------
def issue(*, request, user, session_digest: str | None) -> tuple[str, float]:
    """A new device token for ``user`` (after a password sign-in with the box ticked).

    Returns (cookie value, expires_at). The cookie is set on the response by the middleware.
    """
    now = clock.now()
    expires = now + app_settings.REMEMBER_DAYS * 86400
    selector, validator = secrets.token_urlsafe(18), secrets.token_urlsafe(32)
    facts = facts_for(request)
    record = {
        "uid": str(user.pk),
        "v": _validator_hash(validator),
        "created_at": now,
        "expires_at": expires,
        "last_used": "",
        "ua": facts.ua,
        "ip": facts.ip,
        "session": session_digest or "",
        "prev": "",
    }

    def write_token(pipe):
        pipe.hset(token_key(selector), mapping=record)
        pipe.pexpireat(token_key(selector), int(expires * 1000))

    with guarded():
        in_order(lambda pipe: pipe.sadd(user_tokens_key(user.pk), selector), write_token)
    value = f"{selector}:{validator}"
    set_cookie_later(request, value, expires - now)
    return value, expires


class Outcome(enum.Enum):
    VALID = "valid"  # the current validator: consumed, a new one issued
    RACE = "race"  # this browser's previous validator, used seconds ago: no sign-in, no theft
    REUSED = "reused"  # a used validator: the token was stolen
    REVOKED = "revoked"  # a token ended by a theft: this browser is told, once
    INVALID = "invalid"  # unknown selector, expired, or a validator never issued


@dataclass(frozen=True)
class Consumed:
    outcome: Outcome
    uid: str | None = None
    cookie: str | None = None
    expires_at: float | None = None


def _matches(candidates, presented_hash: str) -> bool:
    """Constant time on the validator: every candidate is compared, whatever matched first."""
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(candidate.encode(), presented_hash.encode())
    return found


def consume(*, selector: str, validator: str, request) -> Consumed:
    """Use a token once: check the validator and replace it, in one optimistic transaction.

    Two requests consuming the same validator at once: one wins the transaction; the other
    retries and finds the validator used (a race if it is the same browser within the grace).
    """
    presented_hash = _validator_hash(validator)
    facts = facts_for(request)
    key, used = token_key(selector), used_key(selector)
    with guarded():
        conn = connection()
        for _ in range(20):
            try:
                with conn.pipeline(transaction=True) as pipe:
                    pipe.watch(key, used)
                    raw = pipe.hgetall(key)
                    token = _token(selector, raw) if raw else None
                    now = clock.now()
                    if token is not None and raw.get(b"revoked"):
                        pipe.reset()
                        _delete(conn, selector, None)
                        return Consumed(Outcome.REVOKED, uid=token.uid)
                    if token is None or token.expires_at <= now:
                        pipe.reset()
                        if token is not None:
                            _delete(conn, selector, token.uid)
                        return Consumed(Outcome.INVALID)
                    if _matches([(raw.get(b"v") or b"").decode()], presented_hash):
                        new_validator = secrets.token_urlsafe(32)
                        pipe.multi()
                        pipe.hset(
                            key,
                            mapping={
                                "v": _validator_hash(new_validator),
                                "prev": presented_hash,
                                "last_used": now,
                                "ua": facts.ua,
                                "ip": facts.ip,
                            },
                        )
                        pipe.zadd(used, {presented_hash: now})
                        pipe.zremrangebyrank(used, 0, -(USED_KEPT + 1))
                        pipe.pexpireat(used, int(token.expires_at * 1000))
                        pipe.execute()
                        return Consumed(
                            Outcome.VALID,
                            uid=token.uid,
                            cookie=f"{selector}:{new_validator}",
                            expires_at=token.expires_at,
                        )
                    used_hashes = [m.decode() for m in pipe.zrange(used, 0, -1)]
                    prev = (raw.get(b"prev") or b"").decode()
                    pipe.reset()
                    break
            except WatchError:
                continue
        else:
            raise RuntimeError("A remember-me token did not settle after 20 attempts.")
    if not _matches(used_hashes, presented_hash):
        return Consumed(Outcome.INVALID)
    same_browser = token.ua == facts.ua and client_key(token.ip) == client_key(facts.ip)
    grace = max(app_settings.ROTATION_GRACE, 1)
    recent = token.last_used is not None and now - token.last_used <= grace
    if _matches([prev], presented_hash) and same_browser and recent:
        return Consumed(Outcome.RACE, uid=token.uid)
    return Consumed(Outcome.REUSED, uid=token.uid)


def _delete(conn, selector: str, uid: str | None) -> None:
    pipe = conn.pipeline(transaction=False)
    pipe.delete(token_key(selector))  # one key per DEL: a cluster pipeline routes each by slot
    pipe.delete(used_key(selector))
    if uid:
        pipe.srem(user_tokens_key(uid), selector)
    pipe.execute()


def link_session(selector: str, digest: str | None) -> None:
    """Remember which session the token last opened (so ending that session forgets it)."""
    if digest:
        with guarded():
            script(connection(), _SET_IF_LIVE, [token_key(selector)], "session", digest)


# Only an existing record: a token forgotten meanwhile must not come back without a TTL.
_SET_IF_LIVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
"""


def forget(selector: str, uid: str | int | None = None) -> None:
    with guarded():
        _delete(connection(), selector, str(uid) if uid is not None else None)


def forget_all(uid: str | int, *, request=None, revoked: bool = False) -> int:
    """Forget every device of the user; returns how many. With ``request``, its cookie goes too.

    ``revoked`` (a theft): each record keeps only ``revoked`` until its expiry, so the browser
    that still holds it is told why when it comes back (``Outcome.REVOKED``).
    """
    key = user_tokens_key(uid)
    with guarded():
        conn = connection()
        selectors = [s.decode() for s in conn.smembers(key)]

        def tokens(pipe):
            for selector in selectors:
                pipe.delete(used_key(selector))
                if revoked:
                    pipe.hdel(token_key(selector), "v", "prev", "session")
                    pipe.hset(token_key(selector), "revoked", 1)
                else:
                    pipe.delete(token_key(selector))

        # The tokens first, then the user's set (a revoked record is never listed either way).
        in_order(tokens, lambda pipe: pipe.delete(key))
    if request is not None and cookie_name() in request.COOKIES:
        delete_cookie_later(request)
    return len(selectors)


def forget_device(*, request, uid: str | int | None = None) -> bool:
    """Forget the token this request's cookie names (logout; a session ended elsewhere); the
    cookie is deleted either way. Only the current validator proves it is this device's."""
    pair = presented(request)
    if cookie_name() in request.COOKIES:
        delete_cookie_later(request)
    if pair is None:
        return False
    selector, validator = pair
    with guarded():
        raw = connection().hgetall(token_key(selector))
    token = _token(selector, raw) if raw else None
    if token is None or (uid is not None and token.uid != str(uid)):
        return False
    current = (raw.get(b"v") or b"").decode()
    if not _matches([current], _validator_hash(validator)):
        return False
    forget(selector, token.uid)
    return True


def list_tokens(uid: str | int) -> list[Token]:
    """The user's live device tokens, newest first; forgotten or expired selectors are pruned."""
    key = user_tokens_key(uid)
    now = clock.now()
    with guarded():
        conn = connection()
        selectors = [s.decode() for s in conn.smembers(key)]
        if not selectors:
            return []
        pipe = conn.pipeline(transaction=False)
        for selector in selectors:
            pipe.hgetall(token_key(selector))
        raws = pipe.execute()
    live, dead = [], []
    for selector, raw in zip(selectors, raws, strict=True):
        token = _token(selector, raw) if raw and not raw.get(b"revoked") else None
        if token is None or token.uid != str(uid) or token.expires_at <= now:
            dead.append(selector)
        else:
            live.append(token)
    if dead:
        with guarded():
            connection().srem(key, *dead)
    return sorted(live, key=lambda t: t.last_used or t.created_at, reverse=True)


def find(uid: str | int, handle: str) -> Token | None:
    found = None
    for token in list_tokens(uid):
        if crypto.constant_time_equal(token.handle, handle):
            found = token
    return found


def forget_for_sessions(uid: str | int, digests) -> int:
    """Forget the tokens that opened these sessions (ended one by one: by the user, by staff, by
    eviction), so an ended device does not sign itself in again. The session may have rotated
    since its token opened it (sudo mode): each token's session is followed through its
    tombstones' ``successor`` to the key it has now."""
    tokens = [t for t in list_tokens(uid) if t.session]
    if not tokens:
        return 0
    targets = set(digests)
    doomed = []
    with guarded():
        conn = connection()
        for token in tokens:
            h = token.session
            for _ in range(8):
                if not h:
                    break
                if h in targets:
                    doomed.append(token)
                    break
                raw = conn.hget(meta_key(h), "successor")
                h = raw.decode() if raw else None
    for token in doomed:
        forget(token.selector, uid)
    return len(doomed)


def revoke_everything(*, request, uid: str, selector: str) -> int:
    """A used validator came back: every session and every device token of the user ends."""
    user = get_user_model()._default_manager.filter(pk=uid).first()
    ended = registry.end_many(
        [i.digest for i in registry.list_sessions(uid)], reason=REUSE_REASON, uid=uid
    )
    registry.delete_tombstones(uid)
    forgotten = forget_all(uid, revoked=True)
    events.record(
        "remember_token_reuse",
        request=request,
        user=user,
        sessions_ended=ended,
        devices_forgotten=forgotten,
        device=handle_for(selector),
    )
    return ended


# --- the cookie ------------------------------------------------------------------------------
def set_cookie_later(request, value: str, max_age: float) -> None:
    setattr(request, COOKIE_ACTION, ("set", value, max(1, int(max_age))))


def delete_cookie_later(request) -> None:
    setattr(request, COOKIE_ACTION, ("delete",))


def apply_cookie(request, response) -> None:
    action = getattr(request, COOKIE_ACTION, None)
    if action is None or response.status_code >= 500:
        return
    if action[0] == "set":
        response.set_cookie(
            cookie_name(),
            action[1],
            max_age=action[2],
            path="/",
            secure=True,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(cookie_name(), path="/", samesite="Lax")


def remember_device(*, request, user) -> None:
    """After a password sign-in with 'Keep me signed in': a new token for this device (the one
    its cookie named, if any, is forgotten first)."""
    forget_device(request=request, uid=user.pk)
    issue(request=request, user=user, session_digest=request.session.digest)


# --- the middleware ----------------------------------------------------------------------------
class RememberMeMiddleware:
    """Place it after AuthenticationMiddleware and SessionPolicyMiddleware.

    Only a request carrying the cookie and no signed-in user costs anything (one transaction on
    the token, then Django's ``login()``); every other request reads one attribute.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        setattr(request, COOKIE_ACTION, None)
        if cookie_name() in request.COOKIES and not request.user.is_authenticated:
            early = self._sign_in(request)
            if early is not None:
                apply_cookie(request, early)
                return early
        response = self.get_response(request)
        apply_cookie(request, response)
        return response

    def _sign_in(self, request):
        from .middleware import SIGNED_OUT_REASON

        if request.session.get(REFUSED):
            return None  # refused a moment ago: not again until the login page has said why
        pair = presented(request)
        if not enabled() or pair is None:
            delete_cookie_later(request)
            return None
        reason = request.session.get(SIGNED_OUT_REASON)
        if reason and reason not in TIMEOUT_REASONS:
            # This device's session was ended (from another device, by staff, by eviction...):
            # it must not sign itself straight back in.
            forget_device(request=request)
            return None
        selector, validator = pair
        consumed = consume(selector=selector, validator=validator, request=request)
        if consumed.outcome is Outcome.INVALID:
            delete_cookie_later(request)
            return None
        if consumed.outcome is Outcome.RACE:
            # The same browser's other request won: change no cookie, sign nobody in.
            request.session.hold_cookie()
            return None
        if consumed.outcome is Outcome.REUSED:
            revoke_everything(request=request, uid=consumed.uid, selector=selector)
            delete_cookie_later(request)
            return _to_login(request, REUSE_REASON)
        if consumed.outcome is Outcome.REVOKED:
            delete_cookie_later(request)
            return _to_login(request, REUSE_REASON)
        return self._remembered(request, consumed, selector)

    def _remembered(self, request, consumed: Consumed, selector: str):
        from . import services
        from .middleware import SIGNED_OUT_REASON

        user = get_user_model()._default_manager.filter(pk=consumed.uid, is_active=True).first()
        if user is None:
            forget(selector, consumed.uid)
            delete_cookie_later(request)
            return None
        set_cookie_later(request, consumed.cookie, consumed.expires_at - clock.now())
        setattr(request, REMEMBERED_SIGN_IN, True)
        try:
            admission = services.sign_in(request=request, user=user)
        finally:
            setattr(request, REMEMBERED_SIGN_IN, False)
        if admission in (Admission.DENY, Admission.PROMPT):
            # At the limit: a remembered sign-in never evicts by choice and never prompts (no
            # one typed a password to ask). The device stays remembered; the login page says
            # why, and a password sign-in there can choose a session to end.
            if admission is Admission.PROMPT:
                events.record(
                    "login_denied_concurrency",
                    request=request,
                    user=user,
                    remembered=True,
                    live_sessions=services.max_sessions_for(user),
                )
            request.session[REFUSED] = services.max_sessions_for(user)
            return None
        if not request.user.is_authenticated:
            return None  # evicted in flight by a newer sign-in: it is told on its next request
        request.session.pop(SIGNED_OUT_REASON, None)
        link_session(selector, request.session.digest)
        return None


def _to_login(request, reason: str):
    """Continue to the login page, told why (the same shape as the policy's sign-outs)."""
    login_url = resolve_url(settings.LOGIN_URL)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {"authenticated": False, "reason": reason, "login_url": login_url}, status=401
        )
    from .middleware import SIGNED_OUT_REASON

    request.session[SIGNED_OUT_REASON] = reason
    if request.path == login_url:
        return None
    target = login_url
    if request.method == "GET":
        target += "?" + urlencode({"next": request.get_full_path()})
    return HttpResponseRedirect(target)


def refused_text(limit: int) -> str:
    devices = f"{limit} device{'s' if limit != 1 else ''}"
    return (
        "This device is remembered, but your account is already signed in on "
        f"{devices}, the most it allows. Sign in with your password to choose what to end."
    )
