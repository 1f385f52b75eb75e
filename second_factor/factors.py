"""The crypto of the second factor: TOTP (pyotp), recovery codes, passkeys (py_webauthn).

The session engine knows none of this: it is told which factor was proven
(``services.complete_factor_sign_in`` / ``elevate`` / ``prove_factor``) and seals that fact.
"""

import base64
import hashlib
import hmac
import json
import secrets

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import transaction
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from sessions_admin import clock

from .models import Passkey, RecoveryCode, TotpDevice, now

TOTP_STEP = 30
RECOVERY_CODES = 10
CHALLENGE = "_webauthn_challenge"
CHALLENGE_TTL = 300


# --- TOTP ---------------------------------------------------------------------------------------
def _fernet() -> Fernet:
    key = hashlib.sha256(f"second_factor.totp:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed: str) -> str | None:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def start_totp(user) -> str:
    """A new, unconfirmed authenticator secret (replacing an unconfirmed one); returns it."""
    secret = pyotp.random_base32()
    TotpDevice.objects.update_or_create(
        user=user, defaults={"secret_sealed": seal(secret), "confirmed": False, "last_used_step": 0}
    )
    return secret


def provisioning_uri(user, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=user.get_username(), issuer_name=settings.WEBAUTHN_RP_NAME
    )


def check_totp(user, code: str, *, confirmed: bool = True) -> bool:
    """A six-digit code of the user's authenticator, each used once (the current step, or one
    step either side for clock drift)."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return False
    device = TotpDevice.objects.filter(user=user, confirmed=confirmed).first()
    secret = unseal(device.secret_sealed) if device else None
    if secret is None:
        return False
    totp = pyotp.TOTP(secret)
    now = clock.now()
    for drift in (0, -1, 1):
        at = now + drift * TOTP_STEP
        if hmac.compare_digest(totp.at(at), code):
            step = int(at // TOTP_STEP)
            # One use: of two requests with the same code, one moves the step forward.
            return bool(
                TotpDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
                    last_used_step=step
                )
            )
    return False


def confirm_totp(user, code: str) -> bool:
    if not check_totp(user, code, confirmed=False):
        return False
    TotpDevice.objects.filter(user=user).update(confirmed=True)
    return True


# --- Recovery codes -------------------------------------------------------------------------------
def _hash(code: str) -> str:
    normal = "".join(code.split()).replace("-", "").lower()
    key = f"second_factor.recovery:{settings.SECRET_KEY}".encode()
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


def new_recovery_codes(user) -> list[str]:
    """Replace the user's recovery codes; the new ones are returned once and stored hashed."""
    codes = [
        f"{secrets.token_hex(5)[:5]}-{secrets.token_hex(5)[:5]}" for _ in range(RECOVERY_CODES)
    ]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_hash(c)) for c in codes)
    return codes


def use_recovery_code(user, code: str) -> bool:
    """One use: the code is spent by the request that marks it."""
    return bool(
        RecoveryCode.objects.filter(user=user, code_hash=_hash(code), used_at=None).update(
            used_at=now()
        )
    )


def check_code(user, code: str) -> str | None:
    """An authenticator code or a recovery code: the factor it proved ("totp"/"recovery")."""
    if check_totp(user, code):
        return "totp"
    if len("".join(code.split())) > 6 and use_recovery_code(user, code):
        return "recovery"
    return None


# --- What a user has ------------------------------------------------------------------------------
def has_totp(user) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed=True).exists()


def has_passkey(user) -> bool:
    return Passkey.objects.filter(user=user).exists()


def has_second_factor(user) -> bool:
    return has_passkey(user) or has_totp(user)


def remove_all_if_none_left(user) -> None:
    """Recovery codes are a fallback of a factor: with no factor left, they go too."""
    if not has_second_factor(user):
        RecoveryCode.objects.filter(user=user).delete()


# --- Passkeys (WebAuthn) --------------------------------------------------------------------------
def rp_id(request) -> str:
    return settings.WEBAUTHN_RP_ID or request.get_host().rsplit(":", 1)[0].strip("[]")


def origin(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _remember_challenge(request, purpose: str, challenge: bytes, uid) -> None:
    request.session[CHALLENGE] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "uid": str(uid),
        "at": clock.now(),
    }


def _take_challenge(request, purpose: str, uid) -> bytes | None:
    """One use: the challenge is popped whatever the outcome."""
    kept = request.session.pop(CHALLENGE, None)
    if (
        not isinstance(kept, dict)
        or kept.get("purpose") != purpose
        or kept.get("uid") != str(uid)
        or clock.now() - kept.get("at", 0) > CHALLENGE_TTL
    ):
        return None
    return base64url_to_bytes(kept["challenge"])


def registration_options(request, user) -> str:
    options = generate_registration_options(
        rp_id=rp_id(request),
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=str(user.pk).encode(),
        user_name=user.get_username(),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
            for p in Passkey.objects.filter(user=user)
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    _remember_challenge(request, "register", options.challenge, user.pk)
    return options_to_json(options)


def register(request, user, credential: dict, name: str) -> Passkey | None:
    challenge = _take_challenge(request, "register", user.pk)
    if challenge is None:
        return None
    try:
        verified = verify_registration_response(
            credential=json.dumps(credential),
            expected_challenge=challenge,
            expected_rp_id=rp_id(request),
            expected_origin=origin(request),
        )
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError):
        return None
    return Passkey.objects.create(
        user=user,
        name=name[:64] or "Passkey",
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )


def authentication_options(request, user) -> str:
    options = generate_authentication_options(
        rp_id=rp_id(request),
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
            for p in Passkey.objects.filter(user=user)
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _remember_challenge(request, "authenticate", options.challenge, user.pk)
    return options_to_json(options)


def authenticate(request, user, credential: dict) -> Passkey | None:
    """The user's passkey that signed this session's challenge, or None."""
    challenge = _take_challenge(request, "authenticate", user.pk)
    if challenge is None or not isinstance(credential, dict):
        return None
    passkey = Passkey.objects.filter(user=user, credential_id=credential.get("id", "")).first()
    if passkey is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=json.dumps(credential),
            expected_challenge=challenge,
            expected_rp_id=rp_id(request),
            expected_origin=origin(request),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
        )
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
        return None
    Passkey.objects.filter(pk=passkey.pk).update(
        sign_count=verified.new_sign_count, last_used_at=now()
    )
    return passkey
