"""The only gates for sudo mode and recent authentication, and the resumption of what they stop.

A view declares what it needs with one decorator; the decision is ``policy.assurance_met`` of
``policy.required_assurance`` (sudo mode, a recent authentication, and for staff where
``STAFF_REQUIRE_SECOND_FACTOR`` is on a second factor within the elevation window: such a
session is sent to ``SESSIONS_ADMIN["SECOND_FACTOR_URL"]`` instead, which resumes the same way).
A request that fails a gate is sent to the project's
re-authentication page (``SESSIONS_ADMIN["ELEVATE_URL"]``) with ``?next=``: a GET comes back
there by itself after the password. A POST cannot be replayed by a redirect, so the gate keeps
it in the session (its path and fields, never the CSRF token or a password field), one action
at a time, for ``PENDING_ACTION_TTL`` seconds. After a correct password the re-authentication
view calls ``resume()``: the stopped view runs again with the kept fields (its own gates and
ownership checks included) and its response, a redirect with its message, is the answer. An
action that cannot be completed (too old, gone meanwhile, refused) is reported as not done, so
a password is never followed by silently nothing (issue 10, item 12).

CSRF is checked twice: on the stopped POST and on the re-authentication POST that resumes it.
The kept action also carries a token that the password form echoes, so only the form that
showed "After you confirm, ..." can resume it.
"""

import copy
import json
import secrets
from functools import partial, wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect, resolve_url
from django.urls import Resolver404, resolve
from django.utils.crypto import constant_time_compare
from django.utils.datastructures import MultiValueDict
from django.utils.http import urlencode

from . import clock
from .conf import app_settings, limits
from .policy import Action, Shortfall, assurance_met, human_duration, required_assurance

PENDING_ACTION = "_pending_action"
GATED = "sessions_admin_gate"  # set on gated views: only they may be resumed
MAX_KEPT_BYTES = 4096
DEFAULT_ACTION = "the action you asked for"


def elevation_required(view=None, *, action: str = DEFAULT_ACTION):
    """Staff only, in sudo mode (a password entered within ELEVATION_TIMEOUT, key rotated)."""
    if view is None:
        return partial(elevation_required, action=action)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied
        stopped = _check(request, Action.CONSOLE, action)
        return stopped or view(request, *args, **kwargs)

    setattr(wrapped, GATED, True)
    return wrapped


def recent_auth_required(view=None, *, action: str = DEFAULT_ACTION):
    """A password entered within the window (sign-in or elevation): OWASP ASVS 7.5.2."""
    if view is None:
        return partial(recent_auth_required, action=action)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        stopped = _check(request, Action.RECENT_AUTH, action)
        return stopped or view(request, *args, **kwargs)

    setattr(wrapped, GATED, True)
    return wrapped


def _check(request, what: Action, action: str):
    """None if the session meets what ``what`` needs (policy.required_assurance), else the
    redirect to the page that supplies what it lacks: the password page, or (staff, with
    STAFF_REQUIRE_SECOND_FACTOR) the second-factor page."""
    requirement = required_assurance(
        what,
        user_is_staff=request.user.is_staff,
        require_staff_second_factor=app_settings.STAFF_REQUIRE_SECOND_FACTOR,
    )
    shortfall = assurance_met(request.session.meta, requirement, limits(), clock.now())
    if shortfall is Shortfall.AUTHENTICATION:
        return _ask_password(request, action)
    if shortfall is Shortfall.SECOND_FACTOR:
        return _ask_password(request, action, url=app_settings.SECOND_FACTOR_URL)
    return None


def _ask_password(request, action: str, *, url=None):
    if request.method == "POST":
        _keep(request, action)
        # Back, after the password, to the page that held the form.
        target = request.POST.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL)
    else:
        target = request.get_full_path()
    url = resolve_url(url or app_settings.ELEVATE_URL)
    return redirect(f"{url}?{urlencode({'next': target})}")


def _keep(request, action: str) -> None:
    """Keep the stopped POST (replacing any earlier one): path, fields, when, whose."""
    fields = {
        name: values
        for name, values in request.POST.lists()
        if name != "csrfmiddlewaretoken" and "password" not in name.lower()
    }
    if len(json.dumps(fields)) > MAX_KEPT_BYTES:
        fields = None  # too big to keep: reported as not done after the password
    request.session[PENDING_ACTION] = {
        "token": secrets.token_urlsafe(16),
        "path": request.path_info,
        "fields": fields,
        "action": action,
        "uid": str(request.user.pk),
        "at": clock.now(),
    }


def _fresh(request, kept) -> bool:
    return (
        isinstance(kept, dict)
        and kept.get("uid") == str(request.user.pk)
        and clock.now() - kept.get("at", 0) <= app_settings.PENDING_ACTION_TTL
    )


def pending_action(request) -> dict | None:
    """The kept action the password page should announce ({"action", "token"}), or None."""
    kept = request.session.get(PENDING_ACTION)
    if not _fresh(request, kept) or kept.get("fields") is None:
        return None
    return {"action": kept["action"], "token": kept["token"]}


def resume(request, *, token: str):
    """After a correct password: complete the kept action and return its response, or None.

    Call it once the session holds the new privilege. The kept action is used at most once.
    None means there was nothing to resume, or it was not done and a message says so.
    """
    kept = request.session.pop(PENDING_ACTION, None)
    if kept is None:
        return None
    action = kept.get("action", DEFAULT_ACTION) if isinstance(kept, dict) else DEFAULT_ACTION
    if not _fresh(request, kept):
        ttl = human_duration(app_settings.PENDING_ACTION_TTL)
        return _not_done(request, action, f"it waited more than {ttl} for your password")
    if kept.get("fields") is None or not constant_time_compare(token or "", kept["token"]):
        return _not_done(request, action, "it could not be resumed")
    try:
        match = resolve(kept["path"])
    except Resolver404:
        match = None
    if match is None or not getattr(match.func, GATED, False):
        return _not_done(request, action, "it could not be resumed")
    try:
        response = match.func(_replay(request, kept, match), *match.args, **match.kwargs)
    except (Http404, PermissionDenied):
        response = None
    if response is None or response.status_code >= 400:
        return _not_done(request, action, "what it acted on has changed or is gone")
    return response


def _replay(request, kept, match):
    """This request, as the stopped POST: its path and fields; the same session and user."""
    replay = copy.copy(request)
    post = QueryDict(mutable=True)
    for name, values in kept["fields"].items():
        post.setlist(name, values)
    post._mutable = False
    replay.POST = post
    replay._files = MultiValueDict()
    prefix = request.path[: len(request.path) - len(request.path_info)]
    replay.path_info = kept["path"]
    replay.path = prefix + kept["path"]
    replay.resolver_match = match
    return replay


def _not_done(request, action: str, why: str) -> None:
    messages.warning(
        request,
        f"Your password was accepted, but {action} was not done: {why}. "
        "Do it again if you still want it.",
    )
    return None
