import json
import logging

from django.contrib.auth.decorators import login_required
from django.db import connection as db_connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from sessions_admin import events
from sessions_admin.middleware import passive
from sessions_admin.redis_keys import ping as redis_ping

from .middleware import CrossSiteRequestRefused

# 404s here can be someone probing for other users' sessions: they are security events.
SENSITIVE_PREFIXES = ("/sessions/", "/console/")
CSP_REPORT_MAX_BYTES = 8192


@require_safe
def home(request):
    return render(request, "home.html")


@require_safe
@login_required
def dashboard(request):
    return render(request, "dashboard.html")


@require_safe
@passive
def healthz(request):
    """JSON of the two stores' health; 503 when either is down. Never touches a session."""
    status = {}
    try:
        redis_ping()
        status["redis"] = "ok"
    except Exception:
        status["redis"] = "down"  # no exception names: they tell an attacker what runs here
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception:
        status["database"] = "down"
    healthy = all(v == "ok" for v in status.values())
    status["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(status, status=200 if healthy else 503)


def bad_request(request, exception=None):
    """handler400: a styled page with a way back. A request refused for its Host header
    (DisallowedHost) is rendered without it: the page's context would ask for the host again."""
    from django.core.exceptions import DisallowedHost

    if not isinstance(exception, DisallowedHost):
        try:
            return render(request, "400.html", status=400)
        except Exception:  # a request too broken to render with: the page without it
            logging.getLogger("django.request").debug("400 page rendered without the request")
    return HttpResponse(render_to_string("400.html"), status=400)


def server_error(request):
    """handler500: a plain 500 page. A session-store outage is the engine's 503
    (sessions_admin.middleware.StoreOutageMiddleware), never this."""
    return HttpResponse(render_to_string("500.html"), status=500)


# --- Refusals: each a page, and a rate-limited access_denied event (OWASP ASVS 16.3) -----------
def _record_denied(request, reason: str, **detail) -> None:
    """One access_denied event per client IP and reason a minute; a JSON line on "security".

    Called before the session middleware has run for refusals by FetchMetadataMiddleware, so
    nothing here may assume request.user or request.session exists.
    """
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    signed_in = user is not None and user.is_authenticated
    events.record_limited(
        "access_denied",
        request=request,
        key_extra=reason,
        user=user if signed_in else None,
        digest=session.digest if signed_in and session is not None else None,
        reason=reason,
        method=request.method[:10],
        path=request.path[:200],
        **detail,
    )


def forbidden(request, exception=None):
    """handler403: a member on a staff page, a cross-site request refused, a staff rule."""
    cross_site = isinstance(exception, CrossSiteRequestRefused)
    _record_denied(request, "cross_site" if cross_site else "forbidden")
    return render(request, "403.html", {"cross_site": cross_site}, status=403)


def not_found(request, exception=None):
    """handler404: a styled page; under /sessions/ and /console/ also a security event."""
    if request.path.startswith(SENSITIVE_PREFIXES):
        _record_denied(request, "not_found")
    return render(request, "404.html", status=404)


def csrf_failure(request, reason=""):
    _record_denied(request, "csrf", csrf_reason=str(reason)[:100])
    return render(request, "403_csrf.html", {"login_url": "/accounts/login/"}, status=403)


# --- CSP violation reports -----------------------------------------------------------------------
def _csp_detail(body: bytes) -> dict | None:
    """The fields of a report worth keeping, from report-uri's or the Reporting API's format."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, list) and data and isinstance(data[0], dict):  # application/reports+json
        data = data[0].get("body")
    elif isinstance(data, dict):  # application/csp-report
        data = data.get("csp-report")
    if not isinstance(data, dict):
        return None

    def field(*names):
        for name in names:
            value = data.get(name)
            if isinstance(value, str | int):
                return str(value)[:200]
        return ""

    return {
        "directive": field("effective-directive", "effectiveDirective", "violated-directive"),
        # Query strings are dropped: they can hold tokens.
        "document": field("document-uri", "documentURL").split("?", 1)[0],
        "blocked": field("blocked-uri", "blockedURL").split("?", 1)[0],
        "source": field("source-file", "sourceFile").split("?", 1)[0],
        "line": field("line-number", "lineNumber"),
    }


@csrf_exempt  # the browser sends reports without a token; nothing here acts for a user
@require_POST
@passive
def csp_report(request):
    """Where browsers POST Content-Security-Policy violations (the report-uri directive).

    Size-limited, never creates or extends a session, records at most one csp_violation event
    per client IP a minute.
    """
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > CSP_REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    detail = _csp_detail(request.read(CSP_REPORT_MAX_BYTES + 1)[:CSP_REPORT_MAX_BYTES])
    if detail is None:
        return HttpResponse(status=400)
    events.record_limited("csp_violation", request=request, **detail)
    return HttpResponse(status=204)
