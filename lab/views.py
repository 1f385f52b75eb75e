"""/lab/: the exercises, their state, the key panel, the switches, reset. Demo mode only.

With DEMO_MODE off every URL here is a 404 (``_lab_only``), and ``checks.py`` fails
``check --deploy`` while it is on.
"""

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from demo import sandboxes
from sessions_admin import events, registry
from sessions_admin.conf import app_settings
from sessions_admin.middleware import passive
from sessions_admin.policy import human_duration

from . import state
from .exercises import EXERCISES

BEACON_SALT = "lab.beacon"
BEACON_AGE = 3600
SWITCH_LABELS = {
    "rotate_at_sign_in": "Rotate the key at sign-in",
    "server_side_logout": "End the session on the server at sign-out",
    "server_idle_timeout": "End idle sessions on the server",
}


def _lab_only():
    if not state.enabled():
        raise Http404("No lab here.")


def _states(scope: str | None) -> dict:
    found = state.solved(scope) if scope else dict.fromkeys(e.slug for e in EXERCISES)
    return {
        slug: {"state": "solved" if at else "open", "solved_at": at} for slug, at in found.items()
    }


def _switches(scope: str | None) -> dict:
    usable = scope is not None and scope != state.SHARED
    return {
        control: {
            "label": label,
            "on": state.control_is_on(scope, control) if usable else True,
            "usable": usable,
        }
        for control, label in SWITCH_LABELS.items()
    }


def beacon_token(request) -> str | None:
    """For base.html: a signed note of who is signed in on this page, and with which session,
    that the back-button beacon sends back (never the key)."""
    user = getattr(request, "user", None)
    if not state.enabled() or user is None or not user.is_authenticated:
        return None
    return signing.dumps({"u": str(user.pk), "d": request.session.digest}, salt=BEACON_SALT)


@require_http_methods(["GET", "HEAD"])
def lab_page(request):
    _lab_only()
    scope = state.scope_of_request(request, request.GET.get("t"))
    session = request.session
    if session.session_key is None and not getattr(session, "read_only", False):
        # The key panel needs a key: a visitor with none gets a (signed-out) session now.
        session["lab_visited"] = True
        session.save()
    if scope is not None:
        state.started_at(scope)
        state.note_client(request, scope)
    states = _states(scope)
    switches = _switches(scope)
    exercises = [(e, states[e.slug], switches.get(e.switch)) for e in EXERCISES]
    token = state.token_for(scope) if scope else ""
    context = {
        "exercises": exercises,
        "solved_count": sum(1 for _, s, _ in exercises if s["state"] == "solved"),
        "scope": scope,
        "sandboxes": sandboxes.enabled(),
        "token": token,
        "state_url": reverse("lab:state") + ("?" + urlencode({"t": token}) if token else ""),
        "session_key": session.session_key,
        "idle": human_duration(app_settings.IDLE_TIMEOUT),
        "grace": app_settings.ROTATION_GRACE,
        "guess_limit": app_settings.GUESS_LIMIT,
        "origin": request.build_absolute_uri("/").rstrip("/"),
        "cookie_name": settings.SESSION_COOKIE_NAME,
        # This page watches the session from outside: no idle countdown or cross-tab sign-out
        # here (it would leave the page mid-exercise); its poll sends no cookie at all.
        "session_ui": None,
    }
    return render(request, "lab/index.html", context)


@require_http_methods(["GET", "HEAD"])
def controls_page(request):
    """docs/controls.md, readable on the demo site: where "What just happened?" links."""
    _lab_only()
    from .controls_doc import load

    doc = load()
    if doc is None:
        raise Http404("docs/controls.md is not on this server.")
    title, sections = doc
    return render(request, "lab/controls.html", {"title": title, "sections": sections})


@require_GET
@passive
def state_view(request):
    """The page's poll (static/js/lab.js), sent without cookies: never touches a session."""
    _lab_only()
    scope = state.scope_of_request(request, request.GET.get("t"))
    if scope is None:
        return JsonResponse({"scope": False, "exercises": _states(None)})
    state.note_client(request, scope)
    return JsonResponse({"scope": True, "exercises": _states(scope), "switches": _switches(scope)})


def _scope_for_post(request) -> str:
    scope = state.scope_of_request(request, request.POST.get("t"))
    if scope is None:
        raise Http404("No lab to act on: start a private demo first.")
    return scope


def _back(scope: str):
    return redirect(reverse("lab:page") + "?" + urlencode({"t": state.token_for(scope)}))


@require_POST
def reset(request):
    _lab_only()
    scope = _scope_for_post(request)
    state.restart(scope)
    if scope != state.SHARED:
        _enforce_idle_again(scope)
    state.note_client(request, scope)
    return _back(scope)


@require_POST
def switch(request):
    """Turn one control off (or back on) for this learner's sandbox only."""
    _lab_only()
    if not sandboxes.enabled():
        raise Http404("Controls can be switched off only in a private sandbox.")
    scope = _scope_for_post(request)
    control = request.POST.get("control", "")
    if control not in SWITCH_LABELS or scope == state.SHARED:
        raise Http404("No such switch.")
    on = request.POST.get("on") == "1"
    state.set_control(scope, control, on)
    if on and control == "server_idle_timeout":
        _enforce_idle_again(scope)
    return _back(scope)


def _enforce_idle_again(scope: str) -> None:
    """The idle timeout is back on: no live session of the scope's users stays marked as
    leaving it to the page (sessions_admin/switches.py), even one that never comes back."""
    for user in state.users_of(scope):
        for info in registry.list_sessions(user.pk):
            if info.meta.idle_client_only:
                registry.set_fields(info.digest, idle_client_only=None)


@require_GET
def csrf_attack(request):
    """The attack page to open from disk: another origin posting to "end other sessions"."""
    _lab_only()
    html = render_to_string(
        "lab/csrf_attack.html",
        {"action": request.build_absolute_uri(reverse("sessions_admin:end_others"))},
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="lab-csrf-attack.html"'
    return response


@require_GET
@passive
def beacon(request):
    """static/js/lab.js caught a private page restored from the back/forward cache: record it
    if the session that page belonged to has ended (the Back-button exercise).

    A GET (sent without cookies) that changes nothing but the security log, as a 404 does: no
    CSRF exemption needed; the signed note names the user and session, and proves it was issued
    on one of their pages."""
    _lab_only()
    try:
        note = signing.loads(request.GET.get("token", ""), salt=BEACON_SALT, max_age=BEACON_AGE)
        uid, digest = str(note["u"]), note.get("d")
    except (KeyError, TypeError, signing.BadSignature):
        return JsonResponse({"recorded": False}, status=400)
    if any(info.digest == digest for info in registry.list_sessions(uid)):
        return JsonResponse({"recorded": False})  # still signed in: nothing was refused
    from django.contrib.auth import get_user_model

    user = get_user_model()._default_manager.filter(pk=uid).first()
    events.record_limited(
        "access_denied",
        request=request,
        key_extra=f"back:{uid}",
        per_seconds=10,
        user=user,
        reason="lab_back_button",
        path=request.GET.get("path", "")[:200],
    )
    return JsonResponse({"recorded": True})
