import sys

from django.contrib.auth.decorators import login_required
from django.db import connection as db_connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from sessions_admin.middleware import passive
from sessions_admin.redis_keys import StoreUnavailable, connection


def home(request):
    return render(request, "home.html")


@login_required
def dashboard(request):
    return render(request, "dashboard.html")


@require_safe
@passive
def healthz(request):
    """JSON of the two stores' health; 503 when either is down. Never touches a session."""
    status = {}
    try:
        connection().ping()
        status["redis"] = "ok"
    except Exception as exc:
        status["redis"] = f"down: {type(exc).__name__}"
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        status["database"] = "ok"
    except Exception as exc:
        status["database"] = f"down: {type(exc).__name__}"
    healthy = all(v == "ok" for v in status.values())
    status["status"] = "ok" if healthy else "unavailable"
    return JsonResponse(status, status=200 if healthy else 503)


def server_error(request):
    """handler500: a session-store outage is a 503 that says so; anything else a plain 500.

    Rendered without a RequestContext, so the error page itself never touches the session.
    """
    exc = sys.exc_info()[1]
    if isinstance(exc, StoreUnavailable) or _is_redis_error(exc):
        body = render_to_string("503.html")
        response = HttpResponse(body, status=503)
        response["Retry-After"] = "5"
        return response
    return HttpResponse(render_to_string("500.html"), status=500)


def _is_redis_error(exc) -> bool:
    from redis.exceptions import RedisError

    return isinstance(exc, RedisError)


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", {"login_url": "/accounts/login/"}, status=403)
