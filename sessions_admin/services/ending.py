"""Ending sessions: one, the others, all of a user's (staff, operators), every user's; eviction;
disabling and enabling an account. Each function checks who may do it before it writes.

Commands pass ``request=None`` and ``actor=None`` (the server's own authority) and say so in the
event detail (``via="command"``).
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from sessions_admin import events, registry, remember

from .selectors import index_sizes


class CurrentSessionError(Exception):
    """The handle names the session making the request: that one ends by signing out."""


class OwnAccountRefused(PermissionDenied):
    """An account-wide staff action on the actor's own account: refused by the staff rule. The
    console turns it into a message saying where to go instead."""


def check_staff_may_act_on(*, actor, user, own_sessions: bool = False) -> None:
    """The staff rule: staff act on others, never on a higher rank (only a superuser acts on a
    superuser), and on their own account only through their own pages.

    ``own_sessions``: the console may end one of the actor's own other sessions (the one making
    the request is refused by ``end_session`` itself). ``actor`` None is an operator command,
    which runs with the server's own authority.
    """
    if actor is None:
        return
    if actor.pk == user.pk and not own_sessions:
        raise OwnAccountRefused("Use your own pages to act on your own account.")
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser may act on a superuser's account.")


def evict(*, request, user, digest: str, chosen: bool) -> None:
    """End one session under the concurrency policy (``chosen``: the user picked it)."""
    if registry.end_session(digest=digest, reason="evicted", uid=str(user.pk)):
        events.record(
            "session_evicted", request=request, user=user, actor=user, digest=digest, chosen=chosen
        )
    # An evicted device that was remembered must not sign itself back in (and evict in turn).
    remember.forget_for_sessions(user.pk, [digest])


def end_session(*, request, actor, user, handle: str, by_staff: bool = False):
    """End one of ``user``'s sessions by its handle; returns its SessionInfo, or None.

    Another user's handle ends nothing (None). The session making the request is refused with
    CurrentSessionError: ending it here would sign the actor out without the logout's care.
    """
    if by_staff:
        check_staff_may_act_on(actor=actor, user=user, own_sessions=True)
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
    keep = request.session.digest if request.user.pk == user.pk else None
    others = [i for i in registry.list_sessions(user.pk) if i.digest != keep]
    count = registry.end_many([i.digest for i in others], reason="ended_by_user", uid=str(user.pk))
    # "Sign out everywhere": no device signs itself back in; this one is forgotten too.
    remember.forget_all(user.pk, request=request if request.user.pk == user.pk else None)
    for info in others:
        events.record(
            "session_ended_by_user", request=request, user=user, actor=actor, digest=info.digest
        )
    return count


def _end_everything(user, *, reason: str):
    """Every session of ``user`` ends with ``reason``; its tombstones and remembered devices go
    too. Returns (the sessions ended, how many)."""
    infos = registry.list_sessions(user.pk)
    count = registry.end_many([i.digest for i in infos], reason=reason, uid=str(user.pk))
    registry.delete_tombstones(user.pk)
    remember.forget_all(user.pk)
    return infos, count


def end_user_sessions(*, request, actor, user, **detail) -> int:
    """End every session of ``user`` for staff or an operator: one event per session ended."""
    check_staff_may_act_on(actor=actor, user=user)
    infos, count = _end_everything(user, reason="ended_by_staff")
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
    check_staff_may_act_on(actor=actor, user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    _, count = _end_everything(user, reason="account_disabled")
    events.record(
        "account_disabled", request=request, user=user, actor=actor, sessions_ended=count, **detail
    )
    return count


def enable_account(*, request, actor, user, **detail) -> bool:
    """Re-enable a disabled account; True if it was disabled. Its ended sessions stay ended."""
    check_staff_may_act_on(actor=actor, user=user)
    if user.is_active:
        return False
    user.is_active = True
    user.save(update_fields=["is_active"])
    events.record("account_enabled", request=request, user=user, actor=actor, **detail)
    return True


def end_everyones_sessions(*, actor=None, request=None, **detail) -> int:
    """End every signed-in session of every user (``manage.py end_all_sessions``).

    Walks the users and their indexes, O(users + sessions). Anonymous sessions hold no privilege
    and are left to their TTLs.
    """
    ended = 0
    for user in get_user_model().objects.order_by("pk").iterator(chunk_size=500):
        if index_sizes([user.pk])[str(user.pk)]:
            ended += end_user_sessions(request=request, actor=actor, user=user, **detail)
        else:
            remember.forget_all(user.pk)  # a remembered device would sign itself back in
    return ended
