"""State changes of sessions, with keyword-only arguments; ownership is checked here, not in views.

Views call these and render; they never touch Redis or decide policy themselves.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model, login, logout, update_session_auth_hash
from django.core.exceptions import PermissionDenied

from . import clock, crypto, events, registry
from .conf import app_settings
from .devices import describe_device
from .policy import Admission, admit_new_session
from .redis_keys import connection, guarded, pending_login_key
from .request_facts import facts_for


def _digest(request) -> str | None:
    return request.session.digest


def sign_in(*, request, user) -> Admission:
    """Sign ``user`` in under the concurrent-logon policy; returns what the policy decided.

    ADMIT and EVICT sign in (EVICT first ends the oldest sessions, reason "evicted"). DENY and
    PROMPT create nothing: the caller says why, or asks which session to end
    (``hold_pending_sign_in``). This session, if it already belongs to the user, is not counted.
    """
    current = _digest(request)
    live = [i for i in registry.list_sessions(user.pk) if i.digest != current]
    decision = admit_new_session(
        [(i.digest, i.meta.last_seen) for i in live],
        app_settings.MAX_PER_USER,
        app_settings.CONCURRENCY_POLICY,
    )
    if decision.admission is Admission.DENY:
        events.record(
            "login_denied_concurrency", request=request, user=user, live_sessions=len(live)
        )
    if decision.admission in (Admission.DENY, Admission.PROMPT):
        return decision.admission
    for digest in decision.evict:
        _evict(request=request, user=user, digest=digest, chosen=False)
    _complete_sign_in(request=request, user=user)
    notice = _new_sign_in_notice(request)
    for info in live:
        if info.digest not in decision.evict:
            registry.set_fields(info.digest, notice=notice)
    return decision.admission


def _complete_sign_in(*, request, user) -> None:
    """Django's login() (which rotates the key), then the metadata that policy checks."""
    login(request, user)
    _save_now(request)
    now = clock.now()
    facts = facts_for(request)
    registry.set_fields(
        _digest(request),
        uid=str(user.pk),
        created_at=now,
        last_seen=now,
        auth_at=now,
        ip=facts.ip,
        ua=facts.ua,
        elevated_until=None,
    )
    request.session.meta = registry.meta_of(_digest(request))
    events.record("login", request=request, user=user, digest=_digest(request))


def _evict(*, request, user, digest: str, chosen: bool) -> None:
    if registry.end_session(digest=digest, reason="evicted", uid=str(user.pk)):
        events.record(
            "session_evicted", request=request, user=user, actor=user, digest=digest, chosen=chosen
        )


def _new_sign_in_notice(request) -> str:
    """'New sign-in from Chrome 156 on Linux, 203.0.113.5, at 10:42 UTC': shown once elsewhere."""
    facts = facts_for(request)
    at = datetime.fromtimestamp(clock.now(), tz=UTC).strftime("%H:%M")
    where = f", {facts.ip}" if facts.ip else ""
    return f"New sign-in from {describe_device(facts.ua)}{where}, at {at} UTC"


# --- The prompt policy: a sign-in waiting for the user to choose a session to end -------------
# The password was accepted, but no session exists for the user yet. Redis holds who is signing
# in, under a random token with a short TTL; the anonymous session holds only the token.
PENDING_SIGN_IN = "_pending_sign_in"
PENDING_SIGN_IN_TTL = 300


@dataclass(frozen=True)
class PendingSignIn:
    user: object
    next_url: str


def hold_pending_sign_in(*, request, user, next_url: str) -> None:
    token = secrets.token_urlsafe(32)
    payload = {"uid": str(user.pk), "auth_hash": user.get_session_auth_hash(), "next": next_url}
    with guarded():
        connection().set(pending_login_key(token), json.dumps(payload), ex=PENDING_SIGN_IN_TTL)
    request.session[PENDING_SIGN_IN] = token


def pending_sign_in(*, request) -> PendingSignIn | None:
    """The sign-in this browser is completing, or None (none, expired, or password changed)."""
    token = request.session.get(PENDING_SIGN_IN)
    if not token:
        return None
    with guarded():
        raw = connection().get(pending_login_key(token))
    if not raw:
        return None
    payload = json.loads(raw)
    user = get_user_model()._default_manager.filter(pk=payload["uid"], is_active=True).first()
    if user is None or not crypto.constant_time_equal(
        user.get_session_auth_hash(), payload["auth_hash"]
    ):
        return None
    return PendingSignIn(user=user, next_url=payload["next"])


def cancel_pending_sign_in(*, request) -> None:
    token = request.session.pop(PENDING_SIGN_IN, None)
    if token:
        with guarded():
            connection().delete(pending_login_key(token))


def complete_pending_sign_in(*, request, handle: str) -> tuple[Admission | None, str]:
    """End the session the user chose, then sign in (asking again if still at the limit).

    Returns (admission, next_url); admission None when the pending sign-in had gone.
    """
    pending = pending_sign_in(request=request)
    cancel_pending_sign_in(request=request)  # one use only, whatever happens next
    if pending is None:
        return None, ""
    user = pending.user
    chosen = registry.find(user.pk, handle)
    if chosen is not None:
        _evict(request=request, user=user, digest=chosen.digest, chosen=True)
    admission = sign_in(request=request, user=user)
    if admission is Admission.PROMPT:
        hold_pending_sign_in(request=request, user=user, next_url=pending.next_url)
    return admission, pending.next_url


def sign_out(*, request) -> None:
    user = request.user if request.user.is_authenticated else None
    digest = _digest(request)
    if user is not None:
        events.record("logout", request=request, user=user, digest=digest)
    logout(request)


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


def elevate(*, request) -> float:
    """Sudo mode: rotate, then record a fresh authentication and the elevation deadline."""
    rotate(request=request, why="elevated")
    now = clock.now()
    until = now + app_settings.ELEVATION_TIMEOUT
    registry.set_fields(_digest(request), auth_at=now, elevated_until=until)
    request.session.meta = registry.meta_of(_digest(request))
    events.record("elevated", request=request, user=request.user, digest=_digest(request))
    return until


def reauthenticate(*, request) -> None:
    """'Confirm your password' for members: rotate and record auth_at, no sudo mode."""
    rotate(request=request, why="reauthenticated")
    registry.set_fields(_digest(request), auth_at=clock.now())
    request.session.meta = registry.meta_of(_digest(request))


def finalize_password_change(*, request, user) -> int:
    """After ``form.save()``: rotate this key, end every other session at once; returns how many.

    ``update_session_auth_hash`` keeps this session valid under the new password hash (and cycles
    its key); the others are ended with the reason "password_changed" in one MULTI.
    """
    old = _digest(request)
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
    registry.set_fields(_digest(request), auth_at=clock.now())
    request.session.meta = registry.meta_of(_digest(request))
    others = [i.digest for i in registry.list_sessions(user.pk) if i.digest != _digest(request)]
    count = registry.end_many(others, reason="password_changed", uid=str(user.pk))
    events.record(
        "password_changed",
        request=request,
        user=user,
        actor=user,
        digest=_digest(request),
        sessions_ended=count,
    )
    return count


def drop_elevation(*, request) -> None:
    rotate(request=request, why="elevation_dropped")
    registry.set_fields(_digest(request), elevated_until=None)
    request.session.meta = registry.meta_of(_digest(request))
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
    for info in others:
        events.record(
            "session_ended_by_user", request=request, user=user, actor=actor, digest=info.digest
        )
    return count


def end_all_sessions(*, request, actor, user, reason: str, event: str) -> int:
    infos = registry.list_sessions(user.pk)
    count = registry.end_many([i.digest for i in infos], reason=reason, uid=str(user.pk))
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
    events.record(
        "account_disabled", request=request, user=user, actor=actor, sessions_ended=count, **detail
    )
    return count


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
