"""State changes of sessions, with keyword-only arguments; ownership is checked here, not in views.

Views call these and render; they never touch Redis or decide policy themselves.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model, login, logout, update_session_auth_hash
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import PermissionDenied

from . import clock, crypto, events, registry, remember, switches
from .conf import app_settings, concurrency_policy
from .devices import describe_device
from .policy import (
    PASSWORD,
    SECOND_FACTORS,
    Admission,
    admit_new_session,
    client_key,
    join_factors,
    session_limit,
)
from .redis_keys import connection, guarded, pending_login_key
from .request_facts import facts_for


def _digest(request) -> str | None:
    return request.session.digest


def max_sessions_for(user) -> int:
    """This account's live-session limit (``policy.session_limit`` decides)."""
    return session_limit(
        is_staff=user.is_staff,
        member_limit=app_settings.MAX_PER_USER,
        staff_limit=app_settings.MAX_PER_STAFF,
    )


def sign_in(*, request, user, factors=()) -> Admission:
    """Sign ``user`` in under the concurrent-logon policy; returns what the policy decided.

    The key rotates whatever the policy decides (a planted pre-login key never sees the
    outcome). Admission (count, decide, reserve the slot) is one atomic step in the registry,
    so parallel sign-ins never exceed the limit. ADMIT and EVICT sign in (EVICT first ends the
    oldest sessions, reason "evicted"). DENY and PROMPT sign nobody in: the caller says why, or
    asks which session to end (``hold_pending_sign_in``). This session, if it already belongs
    to the user, is not counted: signing in over it replaces it.

    ``factors`` are what this sign-in proved (``("password",)``, ``("password", "passkey")``);
    none for a remembered device. They are sealed with the sign-in (``assurance_met``).
    """
    current = _digest(request) if _signed_in_as(request, user) else None
    live = [i for i in registry.list_sessions(user.pk) if i.digest != current]
    decision, reservation = registry.admit(
        user.pk,
        current=current,
        max_per_user=max_sessions_for(user),
        policy=concurrency_policy(),
        now=clock.now(),
    )
    if decision.admission in (Admission.DENY, Admission.PROMPT):
        _rotate_anonymous(request)
        if decision.admission is Admission.DENY:
            events.record(
                "login_denied_concurrency", request=request, user=user, live_sessions=len(live)
            )
        return decision.admission
    evicted = [h for h in decision.evict if not h.startswith(registry.RESERVATION)]
    for digest in evicted:
        _evict(request=request, user=user, digest=digest, chosen=False)
    request.session.reservation = reservation
    _seal_factors(request, factors)
    try:
        # The engine's user_logged_in receiver (signals.record_sign_in) renews the key, records
        # the sign-in facts and saves, claiming the reserved slot.
        login(request, user)
        kept = request.session.reservation_kept
    except SessionInterrupted:
        kept = False
    if not kept:
        # evict_oldest chose this sign-in, still in flight, for a newer one: it ends, and its
        # next request (with the pre-login key, whose successor is ended) is told so.
        _evict(request=request, user=user, digest=_digest(request), chosen=False)
        request.session.hold_cookie()
        return decision.admission
    notice = _new_sign_in_notice(request)
    for info in live:
        if info.digest not in evicted:
            registry.set_fields(info.digest, notice=notice)
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
    from django.contrib.auth import SESSION_KEY

    return str(request.session.get(SESSION_KEY, "")) == str(user.pk)


def _rotate_anonymous(request) -> None:
    """A correct password that signs nobody in (yet) still renews the pre-login key."""
    if request.session.session_key is not None and request.session.meta is not None:
        request.session.cycle_key()
    _save_now(request)


def _evict(*, request, user, digest: str, chosen: bool) -> None:
    if registry.end_session(digest=digest, reason="evicted", uid=str(user.pk)):
        events.record(
            "session_evicted", request=request, user=user, actor=user, digest=digest, chosen=chosen
        )
    # An evicted device that was remembered must not sign itself back in (and evict in turn).
    remember.forget_for_sessions(user.pk, [digest])


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
        "digest": _digest(request),
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
    events.record("login_pending", request=request, user=user, digest=_digest(request), step=step)


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
        payload.get("digest") == _digest(request)
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
        _evict(request=request, user=user, digest=chosen.digest, chosen=True)
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
    digest = _digest(request)
    if user is not None:
        events.record("logout", request=request, user=user, digest=digest)
    # This device's token is forgotten and its cookie deleted (other devices stay remembered).
    remember.forget_device(request=request, uid=user.pk if user is not None else None)
    switches.sign_out(request, logout)  # logout(request), unless a lab turned it off


def rotate(*, request, why: str) -> None:
    """Rotate the session key (privilege change) and log it."""
    old = _digest(request)
    request.session.cycle_key()
    events.record(
        "session_rotated",
        request=request,
        user=request.user,
        digest=_digest(request),
        reason=why,
        previous=crypto.event_hash(old) if old else None,
    )


def _proven(request, factor: str, now: float) -> dict:
    """The sealed facts after proving ``factor`` now: added to the session's factors; a second
    factor also stamps ``factor_at``."""
    meta = request.session.meta
    facts = {"factors": join_factors([*(meta.factors.split(",") if meta else []), factor])}
    if factor in SECOND_FACTORS:
        facts["factor_at"] = now
    return facts


def elevate(*, request, factor: str = PASSWORD) -> float:
    """Sudo mode: a fresh authentication (password, passkey or code) and the elevation deadline,
    sealed into a new key."""
    now = clock.now()
    until = now + app_settings.ELEVATION_TIMEOUT
    request.session.set_privileges(
        auth_at=now, elevated_until=until, **_proven(request, factor, now)
    )
    rotate(request=request, why="elevated")
    events.record("elevated", request=request, user=request.user, digest=_digest(request))
    return until


def admit_elevation(*, request) -> Admission:
    """A staff session entering sudo mode, under ``CONCURRENCY_POLICY`` and ``MAX_PER_STAFF``.

    The session asking is the one that counts as new: ADMIT when the others are fewer than the
    limit; EVICT ends the least recently active others (done here); DENY and PROMPT change
    nothing (the caller refuses, or asks which session to end: ``end_for_elevation``).
    """
    user = request.user
    current = _digest(request)
    others = [(i.digest, i.meta.last_seen) for i in registry.list_sessions(user.pk)]
    others = [(h, seen) for h, seen in others if h != current]
    decision = admit_new_session(others, max_sessions_for(user), concurrency_policy())
    for digest in decision.evict:
        _evict(request=request, user=user, digest=digest, chosen=False)
    if decision.admission is Admission.DENY:
        events.record(
            "login_denied_concurrency",
            request=request,
            user=user,
            digest=current,
            live_sessions=len(others) + 1,
            step="elevation",
        )
    return decision.admission


def end_for_elevation(*, request, handle: str) -> bool:
    """The prompt at elevation: end the session the user chose (their own, not this one)."""
    user = request.user
    chosen = registry.find(user.pk, handle)
    if chosen is None or chosen.digest == _digest(request):
        return False
    _evict(request=request, user=user, digest=chosen.digest, chosen=True)
    return True


def reauthenticate(*, request, factor: str = PASSWORD) -> None:
    """'Confirm your password' for members: a fresh authentication in a new key, no sudo mode."""
    now = clock.now()
    request.session.set_privileges(auth_at=now, **_proven(request, factor, now))
    rotate(request=request, why="reauthenticated")


def prove_factor(*, request, factor: str) -> None:
    """A second factor proven inside a signed-in session (the console's step-up, or a factor
    just enrolled with a code or passkey): a fresh authentication, sealed into a new key.
    Sudo mode, if on, keeps its deadline."""
    now = clock.now()
    request.session.set_privileges(auth_at=now, **_proven(request, factor, now))
    rotate(request=request, why="second_factor")


def finalize_password_change(*, request, user) -> int:
    """After ``form.save()``: rotate this key, end every other session at once; returns how many.

    ``update_session_auth_hash`` keeps this session valid under the new password hash (and cycles
    its key); the others are ended with the reason "password_changed" in one MULTI, and the
    user's tombstones are deleted (but this request's own, whose racing requests stay read-only).
    """
    old = _digest(request)
    request.session.set_privileges(auth_at=clock.now())
    update_session_auth_hash(request, user)
    _save_now(request)
    events.record(
        "session_rotated",
        request=request,
        user=user,
        digest=_digest(request),
        reason="password_changed",
        previous=crypto.event_hash(old) if old else None,
    )
    others = [i.digest for i in registry.list_sessions(user.pk) if i.digest != _digest(request)]
    count = registry.end_many(others, reason="password_changed", uid=str(user.pk))
    registry.delete_tombstones(user.pk, keep=[old] if old else [])
    forgotten = remember.forget_all(user.pk, request=request)
    events.record(
        "password_changed",
        request=request,
        user=user,
        actor=user,
        digest=_digest(request),
        sessions_ended=count,
        devices_forgotten=forgotten,
    )
    return count


def drop_elevation(*, request) -> None:
    request.session.set_privileges(elevated_until=None)
    rotate(request=request, why="elevation_dropped")
    events.record("elevation_dropped", request=request, user=request.user, digest=_digest(request))


class CurrentSessionError(Exception):
    """The handle names the session making the request: that one ends by signing out."""


def end_session(*, request, actor, user, handle: str, by_staff: bool = False):
    """End one of ``user``'s sessions by its handle; returns its SessionInfo, or None.

    Another user's handle ends nothing (None). The session making the request is refused with
    CurrentSessionError: ending it here would sign the actor out without the logout's care.
    """
    if by_staff and user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser may end a superuser's sessions.")
    info = registry.find(user.pk, handle)
    if info is None:
        return None
    if info.digest == request.session.digest:
        raise CurrentSessionError
    reason = "ended_by_staff" if by_staff else "ended_by_user"
    registry.end_session(digest=info.digest, reason=reason, uid=str(user.pk))
    remember.forget_for_sessions(user.pk, [info.digest])
    events.record(
        "session_ended_by_staff" if by_staff else "session_ended_by_user",
        request=request,
        user=user,
        actor=actor,
        digest=info.digest,
    )
    return info


def end_other_sessions(*, request, actor, user) -> int:
    """End every session of ``user`` but the one making this request."""
    keep = _digest(request) if request.user.pk == user.pk else None
    others = [i for i in registry.list_sessions(user.pk) if i.digest != keep]
    count = registry.end_many([i.digest for i in others], reason="ended_by_user", uid=str(user.pk))
    # "Sign out everywhere": no device signs itself back in; this one is forgotten too.
    remember.forget_all(user.pk, request=request if request.user.pk == user.pk else None)
    for info in others:
        events.record(
            "session_ended_by_user", request=request, user=user, actor=actor, digest=info.digest
        )
    return count


def end_all_sessions(*, request, actor, user, reason: str, event: str) -> int:
    infos = registry.list_sessions(user.pk)
    count = registry.end_many([i.digest for i in infos], reason=reason, uid=str(user.pk))
    registry.delete_tombstones(user.pk)
    remember.forget_all(user.pk)
    for info in infos:
        events.record(event, request=request, user=user, actor=actor, digest=info.digest)
    return count


# --- Your sessions, the staff console and the management commands (issue 5) ------------------
# Appended here so every state change stays in this module. Commands pass request=None and
# actor=None, and say so in the event detail (via="command").


def _check_staff_may_act_on(*, actor, user) -> None:
    """Staff act on others, never on themselves here, and never on a higher rank.

    ``actor`` is None for operator commands, which run with the server's own authority.
    """
    if actor is None:
        return
    if actor.pk == user.pk:
        raise PermissionDenied("Use your own pages to act on your own account.")
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser may act on a superuser's account.")


def end_user_sessions(*, request, actor, user, **detail) -> int:
    """End every session of ``user`` for staff or an operator: one event per session ended."""
    _check_staff_may_act_on(actor=actor, user=user)
    infos = registry.list_sessions(user.pk)
    count = registry.end_many([i.digest for i in infos], reason="ended_by_staff", uid=str(user.pk))
    registry.delete_tombstones(user.pk)
    remember.forget_all(user.pk)
    for info in infos:
        events.record(
            "session_ended_by_staff",
            request=request,
            user=user,
            actor=actor,
            digest=info.digest,
            **detail,
        )
    return count


def disable_account(*, request, actor, user, **detail) -> int:
    """Disable the account, then end all of its sessions at once; returns how many ended.

    ``is_active`` goes first, so no new sign-in can slip in between; Django's ModelBackend also
    refuses an inactive user on every request, so a session that somehow survived is anonymous.
    """
    _check_staff_may_act_on(actor=actor, user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    infos = registry.list_sessions(user.pk)
    count = registry.end_many(
        [i.digest for i in infos], reason="account_disabled", uid=str(user.pk)
    )
    registry.delete_tombstones(user.pk)
    remember.forget_all(user.pk)
    events.record(
        "account_disabled", request=request, user=user, actor=actor, sessions_ended=count, **detail
    )
    return count


def enable_account(*, request, actor, user, **detail) -> bool:
    """Re-enable a disabled account; True if it was disabled. Its ended sessions stay ended.

    The same rules as ``disable_account``: staff never act on themselves here, and only a
    superuser acts on a superuser.
    """
    _check_staff_may_act_on(actor=actor, user=user)
    if user.is_active:
        return False
    user.is_active = True
    user.save(update_fields=["is_active"])
    events.record("account_enabled", request=request, user=user, actor=actor, **detail)
    return True


def index_sizes(uids) -> dict[str, int]:
    """ZCARD of each user's index in one pipeline: O(len(uids)), never a keyspace scan.

    An index may still hold entries of sessions that expired since it was last listed (they are
    pruned lazily by listing and by ``manage.py prune_sessions``), so this is an upper bound on
    live sessions; ``registry.count_live`` is exact for one user.
    """
    from .redis_keys import connection, guarded, user_index_key

    uids = [str(u) for u in uids]
    if not uids:
        return {}
    with guarded():
        pipe = connection().pipeline(transaction=False)
        for uid in uids:
            pipe.zcard(user_index_key(uid))
        sizes = pipe.execute()
    return dict(zip(uids, sizes, strict=True))


def indexed_session_total(*, chunk: int = 1000) -> int:
    """Sessions in every user's index: ZCARD per user, pipelined in chunks.

    O(users) round-trip work in O(users / chunk) round trips, and never O(keys): the console's
    overall count. It counts index entries, so expired-but-unpruned sessions are included until
    the next listing or ``prune_sessions`` run (see ``index_sizes``).
    """
    from django.contrib.auth import get_user_model

    total = 0
    uids = get_user_model().objects.order_by("pk").values_list("pk", flat=True)
    batch: list = []
    for uid in uids.iterator(chunk_size=chunk):
        batch.append(uid)
        if len(batch) >= chunk:
            total += sum(index_sizes(batch).values())
            batch = []
    return total + sum(index_sizes(batch).values())


def end_everyones_sessions(*, actor=None, request=None, **detail) -> int:
    """End every signed-in session of every user (``manage.py end_all_sessions``).

    Walks the users and their indexes, O(users + sessions). Anonymous sessions hold no privilege
    and are left to their TTLs.
    """
    from django.contrib.auth import get_user_model

    ended = 0
    for user in get_user_model().objects.order_by("pk").iterator(chunk_size=500):
        if index_sizes([user.pk])[str(user.pk)]:
            ended += end_user_sessions(request=request, actor=actor, user=user, **detail)
        else:
            remember.forget_all(user.pk)  # a remembered device would sign itself back in
    return ended


def prune_all_indexes() -> tuple[int, int]:
    """Drop dead entries from every user's index; returns (entries pruned, live sessions)."""
    from django.contrib.auth import get_user_model

    pruned = live = 0
    for uid in get_user_model().objects.order_by("pk").values_list("pk", flat=True).iterator():
        before = index_sizes([uid])[str(uid)]
        if not before:
            continue
        remaining = registry.prune_index(uid)
        pruned += before - remaining
        live += remaining
    return pruned, live


def _save_now(request) -> None:
    """Save inside a view; a session ended meanwhile is Django's 400, as in SessionMiddleware."""
    from django.contrib.sessions.backends.base import UpdateError
    from django.contrib.sessions.exceptions import SessionInterrupted

    try:
        request.session.save()
    except UpdateError:
        raise SessionInterrupted(
            "The session was ended by another request before this one completed."
        ) from None
