"""Pages of the second factor: "Security" (add/remove factors), the sign-in's second step, and
sudo mode / the console's step-up with a passkey or a one-time code.

Every attempt is counted before it is checked (``accounts.throttle.reserve_factor``); every
factor step ends in a ``sessions_admin.services`` call that seals the factor and rotates the key.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import throttle
from sessions_admin import clock, events, gates, services
from sessions_admin.policy import Admission, is_elevated

from . import factors
from .models import Passkey, RecoveryCode, TotpDevice

MAX_JSON = 16_384


def _safe_next(request, default=None) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default or settings.LOGIN_REDIRECT_URL


def _json_body(request) -> dict:
    if len(request.body) > MAX_JSON:
        return {}
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _options(text: str) -> HttpResponse:
    return HttpResponse(text, content_type="application/json")


def _failed(request, user, *, kind: str, purpose: str, attempt) -> int:
    events.record("mfa_failed", request=request, user=user, kind=kind, purpose=purpose)
    return throttle.wait_after(attempt)


def _refusal(wait: int) -> str:
    return throttle.message(wait).replace("sign-ins", "attempts")


def _end_others(request, user, *, event: str, kind: str) -> int:
    """Adding or removing a factor ends the user's other sessions (ASVS 7.4.3)."""
    ended = services.end_other_sessions(request=request, actor=user, user=user)
    events.record(event, request=request, user=user, actor=user, kind=kind, sessions_ended=ended)
    return ended


def _ended_text(n: int) -> str:
    return f"{n} other session{'s' if n != 1 else ''} {'was' if n == 1 else 'were'} signed out."


# --- Security page --------------------------------------------------------------------------------
@login_required
@gates.recent_auth_required(action="change your sign-in factors")
@require_http_methods(["GET"])
def security_view(request):
    user = request.user
    return render(
        request,
        "second_factor/security.html",
        {
            "passkeys": Passkey.objects.filter(user=user),
            "has_totp": factors.has_totp(user),
            "recovery_left": RecoveryCode.objects.filter(user=user, used_at=None).count(),
        },
    )


@login_required
@gates.recent_auth_required(action="add a passkey")
@require_POST
def passkey_options_view(request):
    return _options(factors.registration_options(request, request.user))


@login_required
@gates.recent_auth_required(action="add a passkey")
@require_POST
def passkey_add_view(request):
    user = request.user
    body = _json_body(request)
    passkey = factors.register(
        request, user, body.get("credential") or {}, str(body.get("name") or "")
    )
    if passkey is None:
        return JsonResponse({"error": "The passkey could not be registered."}, status=400)
    services.prove_factor(request=request, factor="passkey")
    ended = _end_others(request, user, event="mfa_enrolled", kind="passkey")
    messages.success(request, f"Passkey “{passkey.name}” added. {_ended_text(ended)}")
    return JsonResponse({"redirect": reverse("second_factor:security")})


@login_required
@gates.recent_auth_required(action="remove a passkey")
@require_POST
def passkey_remove_view(request):
    user = request.user
    pk = request.POST.get("passkey", "")
    passkey = get_object_or_404(Passkey, pk=int(pk) if pk.isdigit() else 0, user=user)
    passkey.delete()
    factors.remove_all_if_none_left(user)
    ended = _end_others(request, user, event="mfa_removed", kind="passkey")
    messages.success(request, f"Passkey “{passkey.name}” removed. {_ended_text(ended)}")
    return redirect("second_factor:security")


@login_required
@gates.recent_auth_required(action="set up an authenticator app")
@require_POST
def totp_start_view(request):
    secret = factors.start_totp(request.user)
    return render(
        request,
        "second_factor/totp_setup.html",
        {"secret": secret, "uri": factors.provisioning_uri(request.user, secret)},
    )


@login_required
@sensitive_post_parameters("code")
@gates.recent_auth_required(action="set up an authenticator app")
@require_POST
def totp_confirm_view(request):
    user = request.user
    attempt = throttle.reserve_factor(subject=request.session.digest, uid=user.pk)
    if attempt.wait:
        messages.error(request, _refusal(attempt.wait))
        return redirect("second_factor:security")
    if not factors.confirm_totp(user, request.POST.get("code", "")):
        _failed(request, user, kind="totp", purpose="enroll", attempt=attempt)
        messages.error(request, "That code was not right. Set up the authenticator again.")
        return redirect("second_factor:security")
    throttle.succeeded(attempt)
    codes = factors.new_recovery_codes(user)
    services.prove_factor(request=request, factor="totp")
    ended = _end_others(request, user, event="mfa_enrolled", kind="totp")
    messages.success(request, f"Authenticator app added. {_ended_text(ended)}")
    return render(request, "second_factor/recovery_codes.html", {"codes": codes})


@login_required
@gates.recent_auth_required(action="remove your authenticator app")
@require_POST
def totp_remove_view(request):
    user = request.user
    TotpDevice.objects.filter(user=user).delete()
    factors.remove_all_if_none_left(user)
    ended = _end_others(request, user, event="mfa_removed", kind="totp")
    messages.success(request, f"Authenticator app removed. {_ended_text(ended)}")
    return redirect("second_factor:security")


@login_required
@gates.recent_auth_required(action="make new recovery codes")
@require_POST
def recovery_codes_view(request):
    if not factors.has_second_factor(request.user):
        return redirect("second_factor:security")
    codes = factors.new_recovery_codes(request.user)
    return render(request, "second_factor/recovery_codes.html", {"codes": codes})


# --- The sign-in's second step --------------------------------------------------------------------
def _pending(request):
    return services.pending_sign_in(request=request, step=services.STEP_FACTOR)


def _signed_in(request, admission, next_url):
    """After the second factor: where the sign-in goes next (as the password form would)."""
    if admission is Admission.PROMPT:
        return reverse("accounts:choose_session")
    if admission in (Admission.ADMIT, Admission.EVICT) and request.user.is_authenticated:
        return next_url or settings.LOGIN_REDIRECT_URL
    if admission is Admission.DENY:
        messages.error(request, "You are signed in on the most devices this account allows.")
    else:
        messages.info(request, "That sign-in is no longer waiting. Please sign in again.")
    return reverse("accounts:login")


@sensitive_post_parameters("code")
@require_http_methods(["GET", "POST"])
def signin_verify_view(request):
    pending = _pending(request)
    if pending is None:
        messages.info(request, "That sign-in is no longer waiting. Please sign in again.")
        return redirect("accounts:login")
    user = pending.user
    context = {
        "has_passkey": factors.has_passkey(user),
        "has_totp": factors.has_totp(user),
        "refusal": None,
        "error": None,
    }
    if request.method == "POST":
        if "cancel" in request.POST:
            services.abandon_pending_sign_in(
                request=request, why="cancelled", step=services.STEP_FACTOR
            )
            messages.info(request, "Sign-in cancelled.")
            return redirect("accounts:login")
        attempt = throttle.reserve_factor(subject=pending.token, uid=user.pk)
        if attempt.wait:
            context["refusal"] = _refusal(attempt.wait)
            page = render(request, "second_factor/verify.html", context, status=429)
            page["Retry-After"] = str(attempt.wait)
            return page
        factor = factors.check_code(user, request.POST.get("code", ""))
        if factor is None:
            wait = _failed(request, user, kind="code", purpose="login", attempt=attempt)
            context["error"] = "That code is not correct."
            context["refusal"] = _refusal(wait) if wait else None
            return render(request, "second_factor/verify.html", context)
        throttle.succeeded(attempt)
        if factor == "recovery":
            _recovery_used(request, user)
        admission, next_url = services.complete_factor_sign_in(request=request, factor=factor)
        return redirect(_signed_in(request, admission, next_url))
    return render(request, "second_factor/verify.html", context)


def _recovery_used(request, user) -> None:
    left = RecoveryCode.objects.filter(user=user, used_at=None).count()
    events.record("recovery_code_used", request=request, user=user, left=left)
    messages.warning(request, f"You used a recovery code; {left} left. Make new ones on Security.")


@require_POST
def signin_passkey_options_view(request):
    pending = _pending(request)
    if pending is None:
        return JsonResponse({"error": "That sign-in is no longer waiting."}, status=400)
    return _options(factors.authentication_options(request, pending.user))


@require_POST
def signin_passkey_view(request):
    pending = _pending(request)
    if pending is None:
        return JsonResponse({"redirect": reverse("accounts:login")}, status=400)
    user = pending.user
    attempt = throttle.reserve_factor(subject=pending.token, uid=user.pk)
    if attempt.wait:
        return JsonResponse({"error": _refusal(attempt.wait)}, status=429)
    if factors.authenticate(request, user, _json_body(request).get("credential")) is None:
        _failed(request, user, kind="passkey", purpose="login", attempt=attempt)
        return JsonResponse({"error": "That passkey was not accepted. Try again."}, status=400)
    throttle.succeeded(attempt)
    admission, next_url = services.complete_factor_sign_in(request=request, factor="passkey")
    return JsonResponse({"redirect": _signed_in(request, admission, next_url)})


# --- Sudo mode, "confirm it's you" and the console's step-up with a factor ------------------------
def _reauthenticated(request, factor: str) -> str:
    """The factor was right: sudo mode (staff), or a recent authentication (members), sealed
    with the factor in a new key; then the stopped action resumes. Returns where to go."""
    user = request.user
    next_url = _safe_next(request)
    if user.is_staff and not is_elevated(request.session.meta, clock.now()):
        admission = services.admit_elevation(request=request)
        if admission in (Admission.ADMIT, Admission.EVICT):
            services.elevate(request=request, factor=factor)
            messages.success(request, "Sudo mode is on.")
        else:
            services.reauthenticate(request=request, factor=factor)
            messages.error(
                request,
                "Sudo mode needs this account to be signed in on fewer devices. "
                "Sign out on the others (Your sessions), then turn sudo mode on again.",
            )
            return reverse("sessions_admin:list")
    elif user.is_staff:
        services.prove_factor(request=request, factor=factor)
    else:
        services.reauthenticate(request=request, factor=factor)
    resumed = gates.resume(request, token=request.POST.get("resume", ""))
    return resumed.get("Location", next_url) if resumed is not None else next_url


@login_required
@require_http_methods(["GET"])
def step_up_view(request):
    """``SESSIONS_ADMIN["SECOND_FACTOR_URL"]``: the console needs a second factor. With none
    enrolled, the user is sent to add one."""
    next_url = _safe_next(request)
    if not factors.has_second_factor(request.user):
        messages.info(
            request, "Staff pages need a second factor. Add a passkey or an authenticator app."
        )
        return redirect(f"{reverse('second_factor:security')}?{urlencode({'next': next_url})}")
    return render(
        request,
        "second_factor/step_up.html",
        {
            "next": next_url,
            "pending": gates.pending_action(request),
            "has_passkey": factors.has_passkey(request.user),
            "has_totp": factors.has_totp(request.user),
        },
    )


@login_required
@sensitive_post_parameters("code")
@require_POST
def reauth_code_view(request):
    user = request.user
    page = "second_factor:verify" if request.POST.get("from") == "step_up" else "accounts:elevate"
    back = f"{reverse(page)}?{urlencode({'next': _safe_next(request)})}"
    attempt = throttle.reserve_factor(subject=request.session.digest, uid=user.pk)
    if attempt.wait:
        messages.error(request, _refusal(attempt.wait))
        return redirect(back)
    factor = factors.check_code(user, request.POST.get("code", ""))
    if factor is None:
        wait = _failed(request, user, kind="code", purpose="elevation", attempt=attempt)
        messages.error(request, _refusal(wait) if wait else "That code is not correct.")
        return redirect(back)
    throttle.succeeded(attempt)
    if factor == "recovery":
        _recovery_used(request, user)
    return redirect(_reauthenticated(request, factor))


@login_required
@require_POST
def reauth_passkey_options_view(request):
    return _options(factors.authentication_options(request, request.user))


@login_required
@require_POST
def reauth_passkey_view(request):
    user = request.user
    attempt = throttle.reserve_factor(subject=request.session.digest, uid=user.pk)
    if attempt.wait:
        return JsonResponse({"error": _refusal(attempt.wait)}, status=429)
    body = _json_body(request)
    if factors.authenticate(request, user, body.get("credential")) is None:
        _failed(request, user, kind="passkey", purpose="elevation", attempt=attempt)
        return JsonResponse({"error": "That passkey was not accepted. Try again."}, status=400)
    throttle.succeeded(attempt)
    # The form's fields (next, resume) come in the JSON body.
    request.POST = request.POST.copy()
    for name in ("next", "resume"):
        request.POST[name] = str(body.get(name) or "")
    return JsonResponse({"redirect": _reauthenticated(request, "passkey")})


def elevate_context(user) -> dict:
    """What the password page offers besides the password (accounts.views.elevate_view)."""
    return {"has_passkey": factors.has_passkey(user), "has_totp": factors.has_totp(user)}


def demo_totp_secret() -> str | None:
    """carol's authenticator secret, for the demo pages only (never outside demo mode)."""
    if not settings.DEMO_MODE:
        return None
    device = TotpDevice.objects.filter(user__username="carol", confirmed=True).first()
    return factors.unseal(device.secret_sealed) if device else None
