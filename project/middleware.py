"""Response headers the whole site needs beyond Django's SecurityMiddleware and django-csp,
the Fetch Metadata resource-isolation policy, and pages for bare 405 answers."""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.cache import patch_vary_headers

SAFE_METHODS = ("GET", "HEAD")
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_FORWARDED_PROTOCOL",
    "HTTP_FORWARDED",
    "HTTP_X_REAL_IP",
)


@lru_cache(maxsize=8)
def trusted_networks(allowed: tuple[str, ...]) -> tuple | None:
    """``TRUSTED_PROXY_IPS`` (addresses or CIDR networks) as networks; ``None`` for ``*``."""
    if "*" in allowed:
        return None
    return tuple(ipaddress.ip_network(item, strict=False) for item in allowed)


def peer_is_trusted(remote_addr: str, allowed) -> bool:
    networks = trusted_networks(tuple(allowed))
    if networks is None:
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False  # a unix-socket peer, or nothing: not a declared proxy
    return any(address in network for network in networks)


class ForwardedHeadersMiddleware:
    """Forwarded headers are believed only from a declared proxy's address.

    ``TRUSTED_PROXY_COUNT`` says how many proxies append to ``X-Forwarded-For``; the peer that
    talks to the app must also be one of them (``TRUSTED_PROXY_IPS``, from gunicorn's
    ``FORWARDED_ALLOW_IPS``: addresses or CIDR networks), or anything that can reach gunicorn
    directly (a local process, another user of the machine) could claim any client address and
    HTTPS. gunicorn checks the peer only for the scheme it computes itself and hands every
    header on, so this is the one place the decision is made. Any other peer's forwarded
    headers are removed before Django's ``is_secure()`` or the session's binding read them.
    First in MIDDLEWARE.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        trusted = settings.SESSIONS_ADMIN.get("TRUSTED_PROXY_COUNT", 0) > 0 and peer_is_trusted(
            request.META.get("REMOTE_ADDR", ""), settings.TRUSTED_PROXY_IPS
        )
        if not trusted:
            for name in FORWARDED_HEADERS:
                request.META.pop(name, None)
        return self.get_response(request)


class CrossSiteRequestRefused(PermissionDenied):
    """A cross-site request the resource-isolation policy refuses (handler403 names it)."""


def method_not_allowed_page(request, allowed) -> HttpResponseNotAllowed:
    """A 405 that is a page with a way back, keeping the Allow header."""
    response = render(request, "405.html", {"allowed": allowed}, status=405)
    not_allowed = HttpResponseNotAllowed(allowed, content=response.content)
    not_allowed["Content-Type"] = response["Content-Type"]
    return not_allowed


class CrossOriginResourcePolicyMiddleware:
    """``Cross-Origin-Resource-Policy: same-origin`` on every response, static files included:
    no other site may embed our responses (Spectre-class leaks, XSSI)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault(
            "Cross-Origin-Resource-Policy", settings.SECURE_CROSS_ORIGIN_RESOURCE_POLICY
        )
        return response


class RejectTraceMiddleware:
    """TRACE (and TRACK) echo the request, cookies included: answer 405 before anything runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("TRACE", "TRACK"):
            return method_not_allowed_page(request, ["GET", "HEAD", "POST", "OPTIONS"])
        return self.get_response(request)


def resource_isolation_allows(request) -> bool:
    """web.dev's resource isolation policy, on the Fetch Metadata request headers.

    Allowed: browsers that send no Sec-Fetch-Site; requests from our own origin or site, or
    typed by the user (``none``); cross-site top-level GET/HEAD navigations (a link from another
    site). Everything else cross-site (fetch, images, scripts, frames, form POSTs) is refused.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is None or site in ("same-origin", "same-site", "none"):
        return True
    return (
        request.method in SAFE_METHODS
        and request.headers.get("Sec-Fetch-Mode") == "navigate"
        and request.headers.get("Sec-Fetch-Dest") == "document"
    )


class FetchMetadataMiddleware:
    """Refuse what the resource-isolation policy refuses, before the session is loaded.

    Static files are exempt (another site may load our CSS like any public file); whitenoise
    answers them before this middleware anyway. The refusal goes through handler403, which renders
    the 403 page and records a rate-limited ``access_denied`` event.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(settings.STATIC_URL) and not resource_isolation_allows(
            request
        ):
            raise CrossSiteRequestRefused("cross-site request refused by resource isolation")
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """A view's bare 405 (require_POST, require_safe...) becomes the 405 page, Allow kept."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 405
            and not getattr(response, "streaming", False)
            and not response.content
        ):
            allowed = [m.strip() for m in response.get("Allow", "").split(",") if m.strip()]
            return method_not_allowed_page(request, allowed)
        return response


class NoStoreMiddleware:
    """Nothing that depends on a session is stored by a browser or a proxy (OWASP, STIG).

    Static files never reach this middleware: whitenoise answers them with a year's caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        response["Pragma"] = "no-cache"
        response["Expires"] = "0"
        patch_vary_headers(response, ["Cookie"])
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
