"""A user's second factors: passkeys (WebAuthn), an authenticator app (TOTP), recovery codes.

Nothing here is a secret that signs anyone in on its own: a passkey row holds a public key; the
TOTP secret is encrypted at rest (``factors.seal``) and shown once, at set-up; recovery codes are
stored as keyed hashes and shown once.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.db import models

from sessions_admin import clock


def now() -> datetime:
    """The one clock (tests move it), as an aware datetime."""
    return datetime.fromtimestamp(clock.now(), tz=UTC)


class Passkey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    name = models.CharField(max_length=64)
    credential_id = models.CharField(max_length=1024, unique=True)  # base64url
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.name


class TotpDevice(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    secret_sealed = models.TextField()  # Fernet token of the base32 secret
    confirmed = models.BooleanField(default=False)
    # the last 30-second step a code was accepted for: a code is used once (RFC 6238, 5.2)
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=now)

    def __str__(self):
        return f"TOTP of {self.user_id}"


class RecoveryCode(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self):
        return f"recovery code of {self.user_id}"
