"""State changes of sessions, with keyword-only arguments; ownership is checked here, not in views.

Views call these and render; they never touch Redis or decide policy themselves.
"""

from django.contrib.auth import login, logout

from . import clock, crypto, events, registry
from .conf import app_settings
from .request_facts import facts_for


def _digest(request) -> str | None:
    return request.session.digest


def sign_in(*, request, user) -> None:
    """Django's login() (which rotates the key), then the metadata that policy checks."""
    login(request, user)
    request.session.save()
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
    registry.index_add_now(uid=str(user.pk), digest=_digest(request), last_seen=now)
    request.session.meta = registry.meta_of(_digest(request))
    events.record("login", request=request, user=user, digest=_digest(request))


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


def drop_elevation(*, request) -> None:
    rotate(request=request, why="elevation_dropped")
    registry.set_fields(_digest(request), elevated_until=None)
    request.session.meta = registry.meta_of(_digest(request))
    events.record("elevation_dropped", request=request, user=request.user, digest=_digest(request))


def end_session(*, request, actor, user, handle: str, by_staff: bool = False) -> bool:
    """End one of ``user``'s sessions by its handle. Another user's handle ends nothing."""
    info = registry.find(user.pk, handle)
    if info is None:
        return False
    reason = "ended_by_staff" if by_staff else "ended_by_user"
    registry.end_session(digest=info.digest, reason=reason, uid=str(user.pk))
    events.record(
        "session_ended_by_staff" if by_staff else "session_ended_by_user",
        request=request,
        user=user,
        actor=actor,
        digest=info.digest,
    )
    return True


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
