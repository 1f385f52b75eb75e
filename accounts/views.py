"""Sign-in, sign-out, the prompt policy's choice, elevation, password change, account activity.

Views are thin: they gather the request, ask accounts.throttle before any password is hashed,
and call sessions_admin.services for every state change.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from second_factor import factors
from second_factor.views import elevate_context
from sessions_admin import clock, events, gates, registry, remember, services
from sessions_admin.conf import app_settings, limits
from sessions_admin.middleware import SIGNED_OUT_REASON
from sessions_admin.models import SecurityEvent
from sessions_admin.policy import (
    Admission,
    end_reason_text,
    human_duration,
    is_elevated,
    recently_authenticated,
)
from sessions_admin.request_facts import facts_for
from sessions_admin.views import session_cards

from . import throttle
from .devices import describe_device
from .forms import ConfirmPasswordForm, SignInForm

ACTIVITY_PAGE_SIZE = 25


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


def _account(username: str):
    """The account a username names, if any (for the event log; never shown to the client)."""
    model = get_user_model()
    return model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()


def _refuse_throttled(request, attempt, *, username: str, purpose: str):
    """The message for a refused attempt; its event is logged once per throttling period."""
    if throttle.first_refusal(attempt):
        events.record(
            "login_throttled",
            request=request,
            user=_account(username),
            username=username[:150],
            retry_after=attempt.wait,
            purpose=purpose,
        )
    return throttle.message(attempt.wait)


def _count_failure(request, attempt, *, username: str, purpose: str) -> int:
    """Log a wrong password (its reservation stays, counted); returns the wait now in force."""
    events.record(
        "login_failed",
        request=request,
        user=_account(username),
        username=username[:150],
        purpose=purpose,
    )
    return throttle.wait_after(attempt)


def _throttled(response, attempt):
    """Every 429 says when to come back."""
    response["Retry-After"] = str(attempt.wait)
    return response


def _what_happened(request, key: str) -> None:
    """Demo mode: explain the event on the next page ("What just happened?", lab/notes.py)."""
    from lab import notes

    notes.mark(request, key)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_safe_next(request))
    raw_reason = request.session.pop(SIGNED_OUT_REASON, None)
    reason = end_reason_text(raw_reason, limits())
    if raw_reason == remember.REUSE_REASON:
        reason = remember.REUSE_TEXT
    if reason is None and request.GET.get("signed_out") == "1":
        reason = "You signed out."
    remembered_limit = request.session.pop(remember.REFUSED, None)
    if reason is None and remembered_limit:
        reason = remember.refused_text(remembered_limit)
    context = {
        "reason": reason,
        # the end reason's key: demo mode's "What just happened?" note (lab/notes.py)
        "reason_key": raw_reason,
        "next": _safe_next(request),
        "refusal": None,
        "remember_offered": remember.enabled(),
        "remember_days": app_settings.REMEMBER_DAYS,
    }
    if request.method == "GET":
        context["form"] = SignInForm(request)
        return render(request, "accounts/login.html", context)

    username = request.POST.get("username", "")
    # Counted before the password is hashed (atomically): over a limit, it never is. The
    # account's sessions are read in the same round trip, for admission after the hash (an
    # unknown name reads an empty index: the same work either way).
    account = _account(username)
    snapshot = registry.IndexSnapshot(account.pk if account is not None else "")
    attempt = throttle.reserve_sign_in(
        username=username, ip=facts_for(request).ip, read_along=snapshot
    )
    if attempt.wait:
        context["refusal"] = _refuse_throttled(request, attempt, username=username, purpose="login")
        context["form"] = SignInForm(request, initial={"username": username})
        return _throttled(render(request, "accounts/login.html", context, status=429), attempt)

    form = SignInForm(request, data=request.POST)
    context["form"] = form
    if not form.is_valid():
        wait = _count_failure(request, attempt, username=username, purpose="login")
        if wait:
            context["refusal"] = throttle.message(wait)
        return render(request, "accounts/login.html", context)

    user = form.get_user()
    if factors.has_second_factor(user):
        throttle.succeeded(attempt)
        # The password was right; nobody is signed in until the second factor is too
        # (second_factor.views.signin_verify_view). The pre-login key rotates now.
        services.hold_pending_sign_in(
            request=request,
            user=user,
            next_url=context["next"],
            remember_device=form.remember_wanted(),
            step=services.STEP_FACTOR,
        )
        return redirect("second_factor:signin_verify")
    admission = services.sign_in(
        request=request,
        user=user,
        factors=("password",),
        snapshot=snapshot,
        alongside=lambda pipe: throttle.queue_success(pipe, attempt),  # in admission's trip
    )
    if admission is Admission.PROMPT:
        services.hold_pending_sign_in(
            request=request,
            user=user,
            next_url=context["next"],
            remember_device=form.remember_wanted(),
        )
        return redirect("accounts:choose_session")
    if admission is Admission.DENY:
        limit = services.max_sessions_for(user)
        context["refusal"] = (
            f"You are already signed in on {_plural(limit, 'device')}, "
            "the most this account allows. Sign out on one of them, then sign in here again."
        )
        return render(request, "accounts/login.html", context, status=409)
    if request.user.is_authenticated:
        services.settle_remembered_device(request=request, user=user, wanted=form.remember_wanted())
    return redirect(context["next"])


def _chosen_session(user, handle: str) -> str:
    """The session the user picked at the prompt, in the words of its card: 'the session on
    Firefox 140 on macOS (198.51.100.7), last active 3 minutes ago'; '' if it is gone."""
    info = registry.find(user.pk, handle)
    if info is None:
        return ""
    card = session_cards([info], current_digest=None)[0]
    where = f" ({card.ip})" if card.ip else ""
    return f"the session on {card.device}{where}, last active {card.last_active_ago}"


@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def choose_session_view(request):
    """The prompt policy: which of your sessions should end so this sign-in can go ahead?"""
    pending = services.pending_sign_in(request=request)
    if pending is None:
        services.abandon_pending_sign_in(request=request, why="expired")
        messages.info(request, "That sign-in is no longer waiting. Please sign in again.")
        return redirect("accounts:login")
    if request.method == "POST":
        if "cancel" in request.POST:
            services.abandon_pending_sign_in(request=request, why="cancelled")
            messages.info(request, "Sign-in cancelled. Nothing was changed.")
            return redirect("accounts:login")
        handle = request.POST.get("handle", "")
        if handle:
            chosen = _chosen_session(pending.user, handle)
            admission, next_url = services.complete_pending_sign_in(request=request, handle=handle)
            if admission is Admission.PROMPT:
                messages.info(request, "You are still at the limit: choose one more to end.")
                return redirect("accounts:choose_session")
            if admission in (Admission.ADMIT, Admission.EVICT):
                if chosen:
                    messages.success(request, f"Signed out {chosen} to sign in here.")
                return redirect(next_url or settings.LOGIN_REDIRECT_URL)
            return redirect("accounts:login")
    cards = session_cards(registry.list_sessions(pending.user.pk), current_digest=None)
    return render(
        request,
        "accounts/choose_session.html",
        {
            "cards": cards,
            "max_sessions": services.max_sessions_for(pending.user),
            "error": request.method == "POST",
        },
    )


@require_POST
def logout_view(request):
    services.sign_out(request=request)
    response = redirect(f"{settings.LOGOUT_REDIRECT_URL}?signed_out=1")
    response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


@login_required
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def elevate_view(request):
    """Staff: sudo mode. Members: 'confirm your password' (recent authentication). Then resume:
    the POST a gate stopped is completed (``gates.resume``), else back to ``next``."""
    user = request.user
    form = ConfirmPasswordForm(user, data=request.POST if request.method == "POST" else None)
    context = {
        "form": form,
        "next": _safe_next(request),
        "refusal": None,
        "elevation_minutes": human_duration(app_settings.ELEVATION_TIMEOUT),
        "pending": gates.pending_action(request),
        **elevate_context(user),
    }
    if request.method == "POST" and request.POST.get("step") == "choose":
        return _elevation_choice(request, context)
    if request.method == "POST":
        username = user.get_username()
        # This session's own budget, counted before the password is hashed.
        attempt = throttle.reserve_reauth(session_digest=request.session.digest)
        if attempt.wait:
            context["refusal"] = _refuse_throttled(
                request, attempt, username=username, purpose="elevation"
            )
            context["form"] = ConfirmPasswordForm(user)
            page = render(request, "accounts/elevate.html", context, status=429)
            return _throttled(page, attempt)
        if form.is_valid():
            throttle.succeeded(attempt)
            if user.is_staff:
                held = _admit_elevation(request, context)
                if held is not None:
                    return held
                services.elevate(request=request)
                messages.success(request, "Sudo mode is on.", extra_tags="sudo-on")
                _what_happened(request, "rotated")
            else:
                services.reauthenticate(request=request)
            resumed = gates.resume(request, token=request.POST.get("resume", ""))
            return resumed or redirect(context["next"])
        else:
            wait = _count_failure(request, attempt, username=username, purpose="elevation")
            if wait:
                context["refusal"] = throttle.message(wait)
    return render(request, "accounts/elevate.html", context)


PENDING_ELEVATION = "_pending_elevation"


def _admit_elevation(request, context):
    """Staff sessions under their own limit (``SESSION_MAX_PER_STAFF``) at sudo mode too: None
    to go ahead (evict_oldest has already ended the oldest others), else the page to answer.

    The password was right either way: deny and prompt keep it as a recent authentication (the
    user can end sessions at once), but sudo mode waits until the account is within its limit.
    """
    admission = services.admit_elevation(request=request)
    if admission in (Admission.ADMIT, Admission.EVICT):
        return None
    services.reauthenticate(request=request)
    limit = services.max_sessions_for(request.user)
    if admission is Admission.DENY:
        context["refusal"] = (
            f"Sudo mode needs this account to be signed in on at most {_plural(limit, 'device')}."
            " Sign out on the others (Your sessions), then turn sudo mode on again."
        )
        context["form"] = ConfirmPasswordForm(request.user)
        return render(request, "accounts/elevate.html", context, status=409)
    request.session[PENDING_ELEVATION] = {
        "at": clock.now(),
        "next": context["next"],
        "resume": request.POST.get("resume", ""),
    }
    return _choose_for_elevation(request, error=False)


def _choose_for_elevation(request, *, error: bool):
    cards = session_cards(
        registry.list_sessions(request.user.pk), current_digest=request.session.digest
    )
    return render(
        request,
        "accounts/choose_session.html",
        {
            "cards": [c for c in cards if not c.current],
            "max_sessions": services.max_sessions_for(request.user),
            "error": error,
            "elevation": True,
        },
    )


def _elevation_choice(request, context):
    """The prompt at sudo mode: end the chosen session, then elevate (or ask for one more)."""
    kept = request.session.get(PENDING_ELEVATION)
    now = clock.now()
    fresh = (
        isinstance(kept, dict)
        and now - kept.get("at", 0) <= services.PENDING_SIGN_IN_TTL
        # sudo mode still rests on the password typed before the choice
        and recently_authenticated(request.session.meta, limits(), now)
    )
    if not fresh or not request.user.is_staff:
        request.session.pop(PENDING_ELEVATION, None)
        messages.info(request, "That request for sudo mode is no longer waiting. Try again.")
        return redirect(context["next"])
    if "cancel" in request.POST:
        request.session.pop(PENDING_ELEVATION, None)
        messages.info(request, "Sudo mode was not turned on. Nothing was changed.")
        return redirect(kept["next"])
    handle = request.POST.get("handle", "")
    chosen = ""
    if handle and handle != "none":
        chosen = _chosen_session(request.user, handle)
        services.end_for_elevation(request=request, handle=handle)
    elif not handle:
        return _choose_for_elevation(request, error=True)
    admission = services.admit_elevation(request=request)
    if admission is Admission.PROMPT:
        messages.info(request, "You are still at the limit: choose one more to end.")
        return _choose_for_elevation(request, error=False)
    if admission is Admission.DENY:
        request.session.pop(PENDING_ELEVATION, None)
        return redirect(kept["next"])
    request.session.pop(PENDING_ELEVATION, None)
    services.elevate(request=request)
    if chosen:
        messages.success(request, f"Signed out {chosen}.")
    messages.success(request, "Sudo mode is on.", extra_tags="sudo-on")
    _what_happened(request, "rotated")
    resumed = gates.resume(request, token=kept.get("resume", ""))
    return resumed or redirect(kept["next"])


@login_required
@require_POST
def drop_elevation_view(request):
    if is_elevated(request.session.meta, clock.now()):
        services.drop_elevation(request=request)
        messages.info(request, "Sudo mode is off.")
    target = _safe_next(request)
    return redirect(settings.LOGIN_REDIRECT_URL if target.startswith("/console/") else target)


@login_required
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def password_change_view(request):
    user = request.user
    form = PasswordChangeForm(user, data=request.POST if request.method == "POST" else None)
    context = {"form": form, "refusal": None}
    if request.method == "POST":
        username = user.get_username()
        # This session's own budget, counted before the current password is hashed.
        attempt = throttle.reserve_reauth(session_digest=request.session.digest)
        if attempt.wait:
            context["refusal"] = _refuse_throttled(
                request, attempt, username=username, purpose="password_change"
            )
            context["form"] = PasswordChangeForm(user)
            page = render(request, "accounts/password_change.html", context, status=429)
            return _throttled(page, attempt)
        if form.is_valid():
            throttle.succeeded(attempt)
            form.save()
            ended = services.finalize_password_change(request=request, user=user)
            others = _plural(ended, "other session")
            verb = "was" if ended == 1 else "were"
            messages.success(request, f"Password changed. {others} {verb} signed out.")
            return redirect("accounts:password")
        if form.has_error("old_password"):
            _count_failure(request, attempt, username=username, purpose="password_change")
        else:
            throttle.refund(attempt)  # the current password was right; the new one was not
    return render(request, "accounts/password_change.html", context)


# What each event means, in the words the activity page uses.
EVENT_WORDS = {
    "login": "Signed in",
    "login_failed": "Failed sign-in",
    "login_throttled": "Sign-in blocked after too many failures",
    "logout": "Signed out",
    "session_rotated": "Session key renewed",
    "elevated": "Entered sudo mode",
    "elevation_dropped": "Left sudo mode",
    "password_changed": "Password changed",
    "session_expired_idle": "Signed out after inactivity",
    "session_expired_absolute": "Session reached its maximum length",
    "session_ended_by_user": "Session ended",
    "session_ended_by_staff": "Session ended by an administrator",
    "session_evicted": "Session ended by a newer sign-in",
    "login_denied_concurrency": "Sign-in refused: too many sessions",
    "binding_mismatch": "Browser or network changed",
    "session_id_guessing": "Unknown session keys presented",
    "obsolete_session_reuse": "Old session key reused: all sessions ended",
    "account_disabled": "Account disabled",
    "account_enabled": "Account enabled again",
    "sandbox_started": "Private demo started",
    "login_pending": "Password accepted; waiting for you to choose a session to end",
    "login_prompt_abandoned": "Sign-in abandoned at the session choice",
    "session_payload_rejected": "A session whose stored data had been altered was refused",
    "access_denied": "A page was refused",
    "csp_violation": "The browser blocked content on a page",
    "remembered_sign_in": "Signed in by a remembered device ('Keep me signed in')",
    "remember_token_reuse": "A copied 'Keep me signed in' token was used: all sessions ended",
    "mfa_enrolled": "Second factor added (passkey or authenticator app)",
    "mfa_removed": "Second factor removed",
    "mfa_failed": "Wrong one-time code or passkey",
    "recovery_code_used": "Recovery code used",
}
FAILED_PURPOSE_WORDS = {
    "elevation": "Wrong password for sudo mode",
    "password_change": "Wrong current password when changing it",
}


# Events a session's own browser causes: their user agent is the device of the session they
# name (its sign-in, its key renewals). Every other event names a session (session_hash) but is
# recorded from the request that caused it: another device of the user ("Sign out all other
# sessions"), a staff member's browser, or whoever presented the key (an attacker's replay).
SELF_EVENTS = ("login", "remembered_sign_in", "session_rotated", "elevated", "elevation_dropped")


def _session_devices(user, hashes) -> dict[str, str]:
    """The device each session ran on, from the events its own browser caused (its sign-in
    first): ``{session_hash: user agent}``."""
    found: dict[str, str] = {}
    rows = (
        SecurityEvent.objects.filter(user=user, session_hash__in=hashes, name__in=SELF_EVENTS)
        .exclude(user_agent="")
        .order_by("created_at", "id")
        .values_list("session_hash", "user_agent")
    )
    for session_hash, ua in rows:
        found.setdefault(session_hash, ua)
    return found


def _activity_row(event, user, session_devices: dict[str, str]) -> dict:
    what = EVENT_WORDS.get(event.name, event.name.replace("_", " ").capitalize())
    purpose = (event.detail or {}).get("purpose")
    if event.name == "login_failed" and purpose in FAILED_PURPOSE_WORDS:
        what = FAILED_PURPOSE_WORDS[purpose]
    by = ""
    if event.actor_id and event.actor_id != user.pk:
        role = " (staff)" if event.actor.is_staff else ""
        ended = event.name.startswith("session_") or event.name == "account_disabled"
        by = f"{'ended by' if ended else 'by'} {event.actor.get_username()}{role}"
    acted_from = describe_device(event.user_agent) if event.user_agent else ""
    if event.name in SELF_EVENTS:
        session_ua = event.user_agent
    else:
        session_ua = session_devices.get(event.session_hash, "")
    return {
        "event": event,
        "what": what,
        "by": by,
        # the device whose session the event concerned, and the device whose request caused it
        "session_device": describe_device(session_ua) if session_ua else "",
        "acted_from": acted_from,
        "same_device": bool(session_ua) and session_ua == event.user_agent,
        "device": acted_from,
    }


@login_required
@require_http_methods(["GET"])
def activity_view(request):
    """Your own security events, newest first: what happened, from where, and who did it."""
    events_qs = SecurityEvent.objects.filter(user=request.user).select_related("actor")
    page = Paginator(events_qs, ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    hashes = {e.session_hash for e in page.object_list if e.session_hash}
    devices = _session_devices(request.user, hashes) if hashes else {}
    rows = [_activity_row(e, request.user, devices) for e in page.object_list]
    return render(request, "accounts/activity.html", {"page": page, "rows": rows})
