"""Response headers the whole site needs beyond Django's SecurityMiddleware and django-csp."""

from django.conf import settings
from django.http import HttpResponseNotAllowed
from django.utils.cache import add_never_cache_headers, patch_vary_headers


class RejectTraceMiddleware:
    """TRACE (and TRACK) echo the request, cookies included: answer 405 before anything runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("TRACE", "TRACK"):
            return HttpResponseNotAllowed(["GET", "HEAD", "POST", "OPTIONS"])
        return self.get_response(request)


class NoStoreMiddleware:
    """Nothing that depends on a session is stored by a browser or a proxy (OWASP, STIG).

    Static files never reach this middleware: whitenoise answers them with a year's caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
        response["Pragma"] = "no-cache"
        response["Expires"] = "0"
        patch_vary_headers(response, ["Cookie"])
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
