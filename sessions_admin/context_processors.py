"""What every page's header and timeout script need: deadlines, elevation, notices."""

from functools import lru_cache

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import get_script_prefix, get_urlconf, reverse
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
            **_urls(
                get_urlconf() or settings.ROOT_URLCONF,
                get_script_prefix(),
                app_settings.LOGOUT_URL,
                settings.LOGIN_URL,
            ),
        }
    }


@lru_cache(maxsize=16)
def _urls(urlconf, script_prefix, logout_url, login_url) -> dict:
    """The timeout script's URLs: constants of a URLconf, resolved once, not on every page."""
    return {
        "status_url": reverse("sessions_admin:status", urlconf=urlconf),
        "keepalive_url": reverse("sessions_admin:keepalive", urlconf=urlconf),
        "logout_url": resolve_url(logout_url),
        "login_url": resolve_url(login_url),
    }
