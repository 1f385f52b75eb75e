"""The only gates for sudo mode and recent authentication: one decorator each.

A view declares what it needs; the decision is policy.is_elevated / policy.recently_authenticated.
A request that fails the gate is sent to /accounts/elevate/ and resumed there afterwards (?next=).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.http import urlencode

from sessions_admin import clock
from sessions_admin.conf import limits
from sessions_admin.policy import is_elevated, recently_authenticated

ELEVATE_URL = "/accounts/elevate/"


def _resume_target(request) -> str:
    if request.method == "GET":
        return request.get_full_path()
    # A POST cannot be replayed by a redirect: resume at the page that held its form.
    return request.POST.get("next") or "/"


def _ask_password(request):
    return redirect(f"{ELEVATE_URL}?{urlencode({'next': _resume_target(request)})}")


def elevation_required(view):
    """Staff only, in sudo mode (a password entered within ELEVATION_TIMEOUT, key rotated)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied
        if not is_elevated(request.session.meta, clock.now()):
            return _ask_password(request)
        return view(request, *args, **kwargs)

    return wrapped


def recent_auth_required(view):
    """A password entered within the window (sign-in or elevation): OWASP ASVS 7.5.2."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not recently_authenticated(request.session.meta, limits(), clock.now()):
            return _ask_password(request)
        return view(request, *args, **kwargs)

    return wrapped
