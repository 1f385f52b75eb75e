"""Privilege changes inside a signed-in session: each seals its facts (``auth_at``, factors,
elevation deadline) and rotates the key (``rotate``). The caller has verified the password or
factor; the session itself is the permission (a user changes only their own privileges)."""

from django.contrib.auth import update_session_auth_hash

from sessions_admin import clock, crypto, events, registry, remember
from sessions_admin.conf import app_settings, concurrency_policy
from sessions_admin.policy import (
    PASSWORD,
    SECOND_FACTORS,
    Admission,
    admit_new_session,
    join_factors,
)

from .ending import evict
from .selectors import max_sessions_for
from .sign_in import _save_now


def rotate(*, request, why: str) -> None:
    """Rotate the session key (privilege change) and log it."""
    old = request.session.digest
    request.session.cycle_key()
    _record_rotation(request, request.user, old, why)


def _record_rotation(request, user, old: str | None, why: str) -> None:
    events.record(
        "session_rotated",
        request=request,
        user=user,
        digest=request.session.digest,
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
    events.record("elevated", request=request, user=request.user, digest=request.session.digest)
    return until


def admit_elevation(*, request) -> Admission:
    """A staff session entering sudo mode, under ``CONCURRENCY_POLICY`` and ``MAX_PER_STAFF``.

    The session asking is the one that counts as new: ADMIT when the others are fewer than the
    limit; EVICT ends the least recently active others (done here); DENY and PROMPT change
    nothing (the caller refuses, or asks which session to end: ``end_for_elevation``).
    """
    user = request.user
    current = request.session.digest
    others = [(i.digest, i.meta.last_seen) for i in registry.list_sessions(user.pk)]
    others = [(h, seen) for h, seen in others if h != current]
    decision = admit_new_session(others, max_sessions_for(user), concurrency_policy())
    for digest in decision.evict:
        evict(request=request, user=user, digest=digest, chosen=False)
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
    if chosen is None or chosen.digest == request.session.digest:
        return False
    evict(request=request, user=user, digest=chosen.digest, chosen=True)
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
    old = request.session.digest
    request.session.set_privileges(auth_at=clock.now())
    update_session_auth_hash(request, user)
    _save_now(request)
    _record_rotation(request, user, old, "password_changed")
    current = request.session.digest
    others = [i.digest for i in registry.list_sessions(user.pk) if i.digest != current]
    count = registry.end_many(others, reason="password_changed", uid=str(user.pk))
    registry.delete_tombstones(user.pk, keep=[old] if old else [])
    forgotten = remember.forget_all(user.pk, request=request)
    events.record(
        "password_changed",
        request=request,
        user=user,
        actor=user,
        digest=current,
        sessions_ended=count,
        devices_forgotten=forgotten,
    )
    return count


def drop_elevation(*, request) -> None:
    request.session.set_privileges(elevated_until=None)
    rotate(request=request, why="elevation_dropped")
    events.record(
        "elevation_dropped", request=request, user=request.user, digest=request.session.digest
    )
