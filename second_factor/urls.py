from django.urls import path

from . import views

app_name = "second_factor"

urlpatterns = [
    path("security/", views.security_view, name="security"),
    path("security/verify/", views.step_up_view, name="verify"),
    path("security/passkeys/options/", views.passkey_options_view, name="passkey_options"),
    path("security/passkeys/add/", views.passkey_add_view, name="passkey_add"),
    path("security/passkeys/remove/", views.passkey_remove_view, name="passkey_remove"),
    path("security/totp/start/", views.totp_start_view, name="totp_start"),
    path("security/totp/confirm/", views.totp_confirm_view, name="totp_confirm"),
    path("security/totp/remove/", views.totp_remove_view, name="totp_remove"),
    path("security/recovery-codes/", views.recovery_codes_view, name="recovery_codes"),
    path("login/verify/", views.signin_verify_view, name="signin_verify"),
    path(
        "login/verify/passkey/options/",
        views.signin_passkey_options_view,
        name="signin_passkey_options",
    ),
    path("login/verify/passkey/", views.signin_passkey_view, name="signin_passkey"),
    path("reauth/code/", views.reauth_code_view, name="reauth_code"),
    path(
        "reauth/passkey/options/",
        views.reauth_passkey_options_view,
        name="reauth_passkey_options",
    ),
    path("reauth/passkey/", views.reauth_passkey_view, name="reauth_passkey"),
]
