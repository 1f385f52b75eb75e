"""Signing in and out: the concurrency policy around Django's ``login()``, a sign-in held
while the user chooses a session to end or proves a second factor, a remembered device, and
signing out. The caller has checked the password; the pending sign-in is bound to the browser
that typed it (only that browser completes or cancels it).
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import SESSION_KEY, get_user_model, login, logout
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted

from sessions_admin import clock, crypto, events, registry, remember, switches
from sessions_admin.conf import concurrency_policy
from sessions_admin.devices import describe_device
from sessions_admin.policy import PASSWORD, SECOND_FACTORS, Admission, client_key, join_factors
from sessions_admin.redis_keys import connection, guarded, pending_login_key
from sessions_admin.request_facts import facts_for

from .ending import evict
from .selectors import max_sessions_for


def sign_in(*, request, user, factors=(), snapshot=None, alongside=None) -> Admission:
    """Sign ``user`` in under the concurrent-logon policy; returns what the policy decided.

    The key rotates whatever the policy decides (a planted pre-login key never sees the
    outcome). Admission (count, decide, reserve the slot) is one atomic step in the registry,
    so parallel sign-ins never exceed the limit. ADMIT and EVICT sign in (EVICT first ends the
    oldest sessions, reason "evicted"). DENY and PROMPT sign nobody in: the caller says why, or
    asks which session to end (``hold_pending_sign_in``). This session, if it already belongs
    to the user, is not counted: signing in over it replaces it.

    ``factors`` are what this sign-in proved (``("password",)``, ``("password", "passkey")``);
    none for a remembered device. They are sealed with the sign-in (``assurance_met``).
    ``snapshot`` (``registry.IndexSnapshot``): the user's index, read earlier in this request;
    ``alongside(pipe)``: writes to send in admission's round trip (``registry.admit``).
    """
    current = request.session.digest if _signed_in_as(request, user) else None
    admitted = registry.admit(
        user.pk,
        current=current,
        max_per_user=max_sessions_for(user),
        policy=concurrency_policy(),
        now=clock.now(),
        snapshot=snapshot,
        alongside=alongside,
    )
    decision, live = admitted.decision, admitted.live
    if decision.admission in (Admission.DENY, Admission.PROMPT):
        _rotate_anonymous(request)
        if decision.admission is Admission.DENY:
            events.record(
                "login_denied_concurrency", request=request, user=user, live_sessions=len(live)
            )
        return decision.admission
    evicted = [h for h in decision.evict if not h.startswith(registry.RESERVATION)]
    for digest in evicted:
        evict(request=request, user=user, digest=digest, chosen=False)
    request.session.reservation = admitted.reservation
    _seal_factors(request, factors)
    # login() rotates the key (its cycle_key(), or the receiver's when it keeps the key); the
    # rotation rides the receiver's save (one round trip: store.SessionStore._save_rotating).
    request.session.rotate_with_save = True
    try:
        # The engine's user_logged_in receiver (signals.record_sign_in) renews the key, records
        # the sign-in facts and saves, claiming the reserved slot.
        login(request, user)
        kept = request.session.reservation_kept
    except SessionInterrupted:
        kept = False
    finally:
        request.session.rotate_with_save = False
    if not kept:
        # evict_oldest chose this sign-in, still in flight, for a newer one, or the rotation
        # was refused (the pre-login key ended meanwhile): it ends, and its next request (with
        # the pre-login key, whose successor is ended) is told so. An unclaimed slot is freed.
        if request.session.reservation:
            registry.release(user.pk, request.session.reservation)
            request.session.reservation = None
        evict(request=request, user=user, digest=request.session.digest, chosen=False)
        request.session.hold_cookie()
        # login() had set request.user before its receiver's save found the slot gone or the
        # rotation refused: nobody is signed in (no device remembered for this request).
        request.user = AnonymousUser()
        return decision.admission
    notice = _new_sign_in_notice(request)
    registry.set_fields_each([i.digest for i in live if i.digest not in evicted], notice=notice)
    return decision.admission


def _seal_factors(request, factors) -> None:
    """The factors of a sign-in, written before ``login()`` (which keeps the data when it
    rotates an anonymous or the same user's session; its receiver saves them in its one save).
    A factor proven earlier in this browser never carries over into a new sign-in."""
    session = request.session
    if session.session_key is not None and session.meta is None:
        return  # nothing of ours to carry: login() starts from an empty session
    second = any(f in SECOND_FACTORS for f in factors)
    session.set_privileges(factors=join_factors(factors), factor_at=clock.now() if second else None)
    request.session_factors_sealed = True  # signals.record_sign_in leaves them as they are


def _signed_in_as(request, user) -> bool:
    return str(request.session.get(SESSION_KEY, "")) == str(user.pk)


def _rotate_anonymous(request) -> None:
    """A correct password that signs nobody in (yet) still renews the pre-login key."""
    if request.session.session_key is not None and request.session.meta is not None:
        request.session.cycle_key()
    _save_now(request)


def _new_sign_in_notice(request) -> str:
    """'New sign-in from Chrome 156 on Linux, 203.0.113.5, at 10:42 UTC': shown once elsewhere."""
    facts = facts_for(request)
    at = datetime.fromtimestamp(clock.now(), tz=UTC).strftime("%H:%M")
    where = f", {facts.ip}" if facts.ip else ""
    return f"New sign-in from {describe_device(facts.ua)}{where}, at {at} UTC"


# --- The prompt policy: a sign-in waiting for the user to choose a session to end -------------
# The password was accepted, but no session exists for the user yet. Redis holds who is signing
# in, under a random token with a short TTL, bound to the (just rotated) pre-login key and to
# the browser that typed the password; the pre-login session holds only the token. Anyone else
# (another browser, or the key as it was before the password) sees nothing of it.
PENDING_SIGN_IN = "_pending_sign_in"
PENDING_SIGN_IN_TTL = 300


@dataclass(frozen=True)
class PendingSignIn:
    user: object
    next_url: str
    token: str
    remember: bool = False
    factors: tuple = (PASSWORD,)


# A pending sign-in waits for one of two steps: "choose" (the prompt policy's choice of a session
# to end) or "factor" (the second factor after a correct password). Each page completes only its
# own step: the choice page can never complete a sign-in still waiting for its second factor.
STEP_CHOOSE = "choose"
STEP_FACTOR = "factor"


def hold_pending_sign_in(
    *,
    request,
    user,
    next_url: str,
    remember_device: bool = False,
    step: str = STEP_CHOOSE,
    factors=(PASSWORD,),
) -> None:
    if step == STEP_FACTOR:
        # The password was right: the pre-login key is renewed before anything is held on it.
        _rotate_anonymous(request)
    token = secrets.token_urlsafe(32)
    facts = facts_for(request)
    payload = {
        "uid": str(user.pk),
        "auth_hash": user.get_session_auth_hash(),
        "next": next_url,
        "digest": request.session.digest,
        "ua": facts.ua,
        "client": client_key(facts.ip),
        "remember": bool(remember_device),
        "step": step,
        "factors": list(factors),
    }
    with guarded():
        connection().set(pending_login_key(token), json.dumps(payload), ex=PENDING_SIGN_IN_TTL)
    request.session[PENDING_SIGN_IN] = token
    _save_now(request)
    events.record(
        "login_pending", request=request, user=user, digest=request.session.digest, step=step
    )


def _pending_record(request) -> tuple[str | None, dict | None, bool]:
    """(token, the record or None if gone, whether this browser is the one it is bound to)."""
    token = request.session.get(PENDING_SIGN_IN)
    if not token:
        return None, None, False
    with guarded():
        raw = connection().get(pending_login_key(token))
    if not raw:
        return token, None, False
    payload = json.loads(raw)
    facts = facts_for(request)
    bound = (
        payload.get("digest") == request.session.digest
        and payload.get("ua") == facts.ua
        and payload.get("client") == client_key(facts.ip)
    )
    return token, payload, bound


def pending_sign_in(*, request, step: str = STEP_CHOOSE) -> PendingSignIn | None:
    """The sign-in this browser is completing at ``step``, or None (none, expired, another
    browser's, waiting for another step, or the password changed meanwhile)."""
    token, payload, bound = _pending_record(request)
    if payload is None or not bound or payload.get("step", STEP_CHOOSE) != step:
        return None
    user = get_user_model()._default_manager.filter(pk=payload["uid"], is_active=True).first()
    if user is None or not crypto.constant_time_equal(
        user.get_session_auth_hash(), payload["auth_hash"]
    ):
        return None
    return PendingSignIn(
        user=user,
        next_url=payload["next"],
        token=token,
        remember=bool(payload.get("remember")),
        factors=tuple(payload.get("factors") or (PASSWORD,)),
    )


def abandon_pending_sign_in(*, request, why: str, step: str = STEP_CHOOSE) -> None:
    """Cancelled, or found expired: the held password is forgotten, and that is logged.

    Another browser presenting the same key changes nothing (it cannot even cancel).
    """
    token, payload, bound = _pending_record(request)
    if token is None or (payload is not None and not bound):
        return
    if payload is not None and payload.get("step", STEP_CHOOSE) != step:
        return  # a sign-in waiting at the other step is that page's to abandon
    request.session.pop(PENDING_SIGN_IN, None)
    if payload is not None:
        _consume(token)
    uid = payload["uid"] if payload else None
    user = get_user_model()._default_manager.filter(pk=uid).first() if uid else None
    events.record("login_prompt_abandoned", request=request, user=user, reason=why)


def _consume(token: str) -> bool:
    """One use: of two requests completing the same choice, only one deletes the token."""
    with guarded():
        return bool(connection().delete(pending_login_key(token)))


def complete_pending_sign_in(*, request, handle: str) -> tuple[Admission | None, str]:
    """End the session the user chose, then sign in (asking again if still at the limit).

    Returns (admission, next_url); admission None when the pending sign-in had gone.
    """
    pending = pending_sign_in(request=request)
    request.session.pop(PENDING_SIGN_IN, None)
    if pending is None or not _consume(pending.token):
        return None, ""
    user = pending.user
    chosen = registry.find(user.pk, handle)
    if chosen is not None:
        evict(request=request, user=user, digest=chosen.digest, chosen=True)
    return _finish_pending(request, pending), pending.next_url


def _finish_pending(request, pending: PendingSignIn) -> Admission:
    user = pending.user
    admission = sign_in(request=request, user=user, factors=pending.factors)
    if admission is Admission.PROMPT:
        hold_pending_sign_in(
            request=request,
            user=user,
            next_url=pending.next_url,
            remember_device=pending.remember,
            factors=pending.factors,
        )
    elif admission in (Admission.ADMIT, Admission.EVICT) and request.user.is_authenticated:
        settle_remembered_device(request=request, user=user, wanted=pending.remember)
    return admission


def complete_factor_sign_in(*, request, factor: str) -> tuple[Admission | None, str]:
    """The second factor of a pending sign-in was verified (by the project): sign in.

    One use (two requests completing it: only one does); ``sign_in`` runs the concurrency
    policy and ``login()``, which rotates the key again. Returns (admission, next_url);
    admission None when the pending sign-in had gone.
    """
    pending = pending_sign_in(request=request, step=STEP_FACTOR)
    request.session.pop(PENDING_SIGN_IN, None)
    if pending is None or not _consume(pending.token):
        return None, ""
    pending = PendingSignIn(
        user=pending.user,
        next_url=pending.next_url,
        token=pending.token,
        remember=pending.remember,
        factors=(*pending.factors, factor),
    )
    return _finish_pending(request, pending), pending.next_url


def settle_remembered_device(*, request, user, wanted: bool) -> None:
    """After a password sign-in: a new device token if 'Keep me signed in' was ticked (and the
    option is on); otherwise the token this browser held, if any, is forgotten."""
    if wanted and remember.enabled():
        remember.remember_device(request=request, user=user)
    else:
        remember.forget_device(request=request, uid=user.pk)


def sign_out(*, request) -> None:
    user = request.user if request.user.is_authenticated else None
    digest = request.session.digest
    if user is not None:
        events.record("logout", request=request, user=user, digest=digest)
    # This device's token is forgotten and its cookie deleted (other devices stay remembered).
    remember.forget_device(request=request, uid=user.pk if user is not None else None)
    switches.sign_out(request, logout)  # logout(request), unless a lab turned it off


def _save_now(request) -> None:
    """Save inside a view; a session ended meanwhile is Django's 400, as in SessionMiddleware."""
    try:
        request.session.save()
    except UpdateError:
        raise SessionInterrupted(
            "The session was ended by another request before this one completed."
        ) from None
