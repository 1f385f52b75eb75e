"""What every page's header and timeout script need: deadlines, elevation, notices."""

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from . import clock, registry
from .conf import app_settings, limits
from .policy import absolute_deadline, elevation_seconds_left, expires_at, idle_deadline


def session_ui(request):
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated or session.meta is None:
        return {"session_ui": None}
    meta = session.meta
    now = clock.now()
    lim = limits()
    return {
        "session_ui": {
            "idle_timeout": lim.idle,
            "idle_warning": app_settings.IDLE_WARNING,
            "resolution": lim.resolution,
            "idle_deadline": int(idle_deadline(meta, lim)),
            "absolute_deadline": int(absolute_deadline(meta, lim)),
            "expires_at": int(expires_at(meta, lim)),
            "server_now": int(now),
            "elevated_seconds_left": elevation_seconds_left(meta, now),
            "notice": getattr(request, "session_notice", None),
            # Counted at this session's last activity write (at most one activity window ago,
            # and this request's own write, if due, happened before the view): no round trip.
            "session_count": (
                meta.sessions
                if meta.sessions is not None
                else SimpleLazyObject(lambda: registry.recently_active_count(user.pk, now=now))
            ),
            "status_url": reverse("sessions_admin:status"),
            "keepalive_url": reverse("sessions_admin:keepalive"),
            "logout_url": resolve_url(app_settings.LOGOUT_URL),
            "login_url": resolve_url(settings.LOGIN_URL),
        }
    }
