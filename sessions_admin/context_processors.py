"""What every page's header and timeout script need: deadlines, elevation, notices."""

from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.shortcuts import resolve_url
from django.templatetags.static import static
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.utils.safestring import SafeString

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
    idle_at = int(idle_deadline(meta, lim))
    absolute_at = int(absolute_deadline(meta, lim))
    page = _page_constants(getattr(request, "urlconf", None), _script_name(request))
    return {
        "session_ui": {
            **page,
            "idle_deadline": idle_at,
            "absolute_deadline": absolute_at,
            "expires_at": int(expires_at(meta, lim)),
            "server_now": int(now),
            # The <body>'s data attributes for js/session-timeout.js, as one string: the
            # constants are escaped once per process, the deadlines are integers.
            "body_attributes": SafeString(
                f'{page["body_constants"]} data-idle-deadline="{idle_at}"'
                f' data-absolute-deadline="{absolute_at}" data-server-now="{int(now)}"'
            ),
            "elevated_seconds_left": elevation_seconds_left(meta, now),
            "notice": getattr(request, "session_notice", None),
            # Counted at this session's last activity write (at most one activity window ago,
            # and this request's own write, if due, happened before the view): no round trip.
            "session_count": (
                meta.sessions
                if meta.sessions is not None
                else SimpleLazyObject(lambda: registry.recently_active_count(user.pk, now=now))
            ),
        }
    }


def _script_name(request) -> str:
    """The script name Django's handler set the URL prefix from (``request.path`` is it plus
    ``path_info``): a key for ``_page_constants`` without reading the prefix back from the
    handler's thread-local (about 4 µs a page, as much again for the URLconf)."""
    return request.path[: len(request.path) - len(request.path_info)]


@lru_cache(maxsize=16)
def _page_constants(urlconf, script_name) -> dict:
    """What the timeout script needs that changes only with the URLconf (``urlconf`` None: the
    project's), the script name the site is mounted under, and the settings (a change clears
    this cache): resolved and escaped once, not on every page."""
    lim = limits()
    idle, idle_warning, resolution = lim.idle, app_settings.IDLE_WARNING, lim.resolution
    urls = {
        "status_url": reverse("sessions_admin:status", urlconf=urlconf),
        "keepalive_url": reverse("sessions_admin:keepalive", urlconf=urlconf),
        "logout_url": resolve_url(app_settings.LOGOUT_URL),
        "login_url": resolve_url(settings.LOGIN_URL),
    }
    return {
        **urls,
        "idle_timeout": idle,
        "idle_warning": idle_warning,
        "resolution": resolution,
        "timeout_css": static("css/timeout.css"),
        "timeout_js": static("js/session-timeout.js"),
        "body_constants": format_html(
            ' data-idle-timeout="{}" data-idle-warning="{}" data-activity-resolution="{}"'
            ' data-status-url="{}" data-keepalive-url="{}" data-logout-url="{}"'
            ' data-login-url="{}"',
            idle,
            idle_warning,
            resolution,
            urls["status_url"],
            urls["keepalive_url"],
            urls["logout_url"],
            urls["login_url"],
        ),
    }


@receiver(setting_changed)
def _forget_page_constants(**kwargs) -> None:
    """A test's override_settings may change the static storage or the URLs."""
    _page_constants.cache_clear()
