"""Your sessions, and the JSON endpoints the timeout script talks to. Thin: services decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from . import clock, services
from .conf import limits
from .middleware import passive
from .policy import absolute_deadline, elevation_seconds_left, expires_at, idle_deadline


def _status_payload(request) -> dict:
    session = request.session
    if not request.user.is_authenticated or session.meta is None:
        return {"authenticated": False, "login_url": "/accounts/login/"}
    meta, lim, now = session.meta, limits(), clock.now()
    return {
        "authenticated": True,
        "server_now": now,
        "idle_deadline": idle_deadline(meta, lim),
        "absolute_deadline": absolute_deadline(meta, lim),
        "expires_at": expires_at(meta, lim),
        "elevated_seconds_left": elevation_seconds_left(meta, now),
    }


@require_GET
@passive
def status(request):
    """The session's deadlines. Never extends the session (the middleware skips the touch)."""
    payload = _status_payload(request)
    return JsonResponse(payload, status=200 if payload["authenticated"] else 401)


@require_POST
def keepalive(request):
    """Activity from the page: the middleware has just recorded it; report the new deadlines."""
    from . import registry

    if request.user.is_authenticated and request.session.meta is not None:
        now = clock.now()
        if request.session.meta.last_seen < now:
            registry.touch(digest=request.session.digest, meta=request.session.meta, now=now)
            request.session.meta = registry.meta_of(request.session.digest)
        request.session_passive = True
    payload = _status_payload(request)
    return JsonResponse(payload, status=200 if payload["authenticated"] else 401)


@login_required
def your_sessions(request):
    from . import registry

    sessions = registry.list_sessions(request.user.pk)
    return render(
        request,
        "sessions_admin/your_sessions.html",
        {"sessions": sessions, "current": request.session.digest},
    )


@login_required
@require_POST
def end_session(request, handle):
    if not services.end_session(
        request=request, actor=request.user, user=request.user, handle=handle
    ):
        raise Http404("No such session")
    messages.success(request, "The session was ended.")
    return redirect("sessions_admin:list")


@login_required
@require_POST
def end_others(request):
    count = services.end_other_sessions(request=request, actor=request.user, user=request.user)
    messages.success(request, f"Signed out {count} other session{'s' if count != 1 else ''}.")
    return redirect("sessions_admin:list")
