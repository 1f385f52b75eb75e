import ipaddress
from functools import lru_cache

from django.conf import settings

from sessions_admin.conf import app_settings
from sessions_admin.policy import human_duration


def site(request):
    """The demo banner and the login page's self-reload need these on every page."""
    return {
        "demo_mode": settings.DEMO_MODE,
        "demo_idle": _duration(app_settings.IDLE_TIMEOUT),
        "demo_absolute": _duration(app_settings.ABSOLUTE_TIMEOUT),
        "login_timeout": settings.ACCOUNTS["LOGIN_TIMEOUT"],
        "insecure_origin": insecure_origin(request),
    }


@lru_cache(maxsize=8)
def _duration(seconds: int) -> str:
    """The limits change only with the settings: their wording is built once, not per page."""
    return human_duration(seconds)


def insecure_origin(request) -> bool:
    """Plain HTTP on an address that is not loopback: the browser will drop the session cookie.

    The cookie is ``__Host-``/``Secure``. Browsers store it from HTTPS origins and from loopback
    (``localhost``, ``*.localhost``, 127.0.0.0/8, ``[::1]``: secure contexts even over http),
    nowhere else; on, say, ``http://192.168.1.20:8000`` the cookie is dropped and every sign-in
    fails with "This form has expired". ``templates/partials/insecure_origin_notice.html`` says so.
    """
    if request is None or request.is_secure():
        return False
    return not is_loopback_host(_raw_host(request))


def _raw_host(request) -> str:
    # The Host header as sent (never X-Forwarded-Host: USE_X_FORWARDED_HOST is off). Not
    # request.get_host(): a context processor must not raise DisallowedHost while rendering.
    return request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")


def is_loopback_host(host: str) -> bool:
    """``host`` (optionally ``:port``; IPv6 in brackets) names this machine's loopback."""
    host = host.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
