from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from sessions_admin import services
from sessions_admin.conf import limits
from sessions_admin.middleware import SIGNED_OUT_REASON
from sessions_admin.policy import end_reason_text


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_safe_next(request))
    reason = end_reason_text(request.session.pop(SIGNED_OUT_REASON, None), limits())
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.sign_in(request=request, user=form.get_user())
        return redirect(_safe_next(request))
    return render(
        request,
        "accounts/login.html",
        {"form": form, "reason": reason, "next": _safe_next(request)},
    )


@require_POST
def logout_view(request):
    services.sign_out(request=request)
    messages.info(request, "You signed out.")
    response = redirect(settings.LOGOUT_REDIRECT_URL)
    response["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response
