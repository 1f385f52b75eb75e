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


# --- Your sessions, the staff console and the management commands (issue 5) ------------------
# Appended here so every state change stays in this module. Commands pass request=None and
# actor=None, and say so in the event detail (via="command").


def end_user_sessions(*, request, actor, user, **detail) -> int:
    """End every session of ``user`` for staff or an operator: one event per session ended."""
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
