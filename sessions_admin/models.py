from django.conf import settings
from django.db import models

EVENT_NAMES = (
    "login",
    "login_failed",
    "login_throttled",
    "logout",
    "session_rotated",
    "elevated",
    "elevation_dropped",
    "password_changed",
    "session_expired_idle",
    "session_expired_absolute",
    "session_ended_by_user",
    "session_ended_by_staff",
    "session_evicted",
    "login_denied_concurrency",
    "binding_mismatch",
    "session_id_guessing",
    "obsolete_session_reuse",
    "account_disabled",
    # staff re-enabled a disabled account (the console's Enable)
    "account_enabled",
    # a visitor of /demo/ started a private sandbox (demo/); logged against its first member
    "sandbox_started",
    # a refused request: 403, 404 under /sessions/ or /console/, CSRF failure, cross-site request
    "access_denied",
    # a Content-Security-Policy violation reported by a browser (project.views.csp_report)
    "csp_violation",
    "login_pending",
    "login_prompt_abandoned",
    "session_payload_rejected",
    # "Keep me signed in" (remember.py): a sign-in by a device token, and a used token replayed
    "remembered_sign_in",
    "remember_token_reuse",
    # the second factor (second_factor/): a passkey or authenticator app added or removed, a wrong
    # code or passkey, a recovery code spent
    "mfa_enrolled",
    "mfa_removed",
    "mfa_failed",
    "recovery_code_used",
)


class SecurityEvent(models.Model):
    """One row per security event; the same event is one JSON line on the "security" logger."""

    name = models.CharField(max_length=40, choices=[(n, n) for n in EVENT_NAMES], db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="security_events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    session_hash = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.name} {self.username}"
