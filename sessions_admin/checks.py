"""System checks: settings that are unsafe in production, or that make no sense together.

Deployment rules are tagged ``deploy`` so ``manage.py check --deploy`` fails on them.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import app_settings


def _is_demo_secret(value) -> bool:
    return isinstance(value, str) and value.startswith(app_settings.DEMO_SECRET_MARK)


@register(Tags.security)
def check_timeouts(app_configs, **kwargs):
    errors = []
    idle, absolute = app_settings.IDLE_TIMEOUT, app_settings.ABSOLUTE_TIMEOUT
    if idle <= 0 or absolute <= 0:
        errors.append(Error("Session timeouts must be positive.", id="sessions_admin.E001"))
    if idle > absolute:
        errors.append(
            Error(
                f"SESSION_IDLE_TIMEOUT ({idle}s) is longer than "
                f"SESSION_ABSOLUTE_TIMEOUT ({absolute}s).",
                hint="The idle timeout can never fire; make it shorter than the absolute one.",
                id="sessions_admin.E002",
            )
        )
    if idle <= app_settings.IDLE_WARNING:
        errors.append(
            Error(
                "SESSION_IDLE_WARNING must be shorter than SESSION_IDLE_TIMEOUT.",
                id="sessions_admin.E004",
            )
        )
    if idle < app_settings.ELEVATION_TIMEOUT:
        errors.append(
            Warning(
                "ELEVATION_TIMEOUT is longer than SESSION_IDLE_TIMEOUT.",
                hint="Sudo mode would outlive an idle session; keep it shorter.",
                id="sessions_admin.W005",
            )
        )
    if app_settings.GUESS_LIMIT <= 0:
        errors.append(
            Error(
                "SESSION_GUESS_LIMIT must be positive: every visitor with a stale cookie would "
                "be refused.",
                id="sessions_admin.E008",
            )
        )
    if app_settings.ROTATION_GRACE > 120:
        errors.append(
            Warning(
                "SESSION_ROTATION_GRACE above 120 seconds keeps a stolen pre-rotation key usable.",
                id="sessions_admin.W006",
            )
        )
    return errors


@register(Tags.security, deploy=True)
def check_deploy_secrets(app_configs, **kwargs):
    errors = []
    if getattr(settings, "DEMO_MODE", False):
        errors.append(
            Error(
                "DEMO_MODE is on: short timeouts, seeded users and derived demo secrets.",
                hint="Unset DEMO_MODE; set SECRET_KEY, SESSION_ENCRYPTION_KEYS and the pepper.",
                id="sessions_admin.E010",
            )
        )
    for name, value in (
        ("SECRET_KEY", settings.SECRET_KEY),
        ("SESSION_ENCRYPTION_KEYS", app_settings.ENCRYPTION_KEYS),
        ("SESSION_KEY_PEPPER", app_settings.KEY_PEPPER),
    ):
        if _is_demo_secret(value):
            errors.append(Error(f"{name} is a demo value.", id="sessions_admin.E011"))
    if not (app_settings.ENCRYPTION_KEYS or app_settings.ENCRYPTION_KEYS_FILE):
        errors.append(Error("SESSION_ENCRYPTION_KEYS is not set.", id="sessions_admin.E012"))
    if not app_settings.KEY_PEPPER:
        errors.append(Error("SESSION_KEY_PEPPER is not set.", id="sessions_admin.E013"))
    elif len(app_settings.KEY_PEPPER) < 32:
        errors.append(
            Error("SESSION_KEY_PEPPER is shorter than 32 characters.", id="sessions_admin.E014")
        )
    return errors


@register(Tags.security, deploy=True)
def check_deploy_cookies(app_configs, **kwargs):
    errors = []
    if not settings.SESSION_COOKIE_SECURE or not settings.SESSION_COOKIE_HTTPONLY:
        errors.append(
            Error("The session cookie must be Secure and HttpOnly.", id="sessions_admin.E020")
        )
    if settings.SESSION_COOKIE_SAMESITE not in ("Lax", "Strict"):
        errors.append(
            Error("The session cookie must be SameSite=Lax or Strict.", id="sessions_admin.E021")
        )
    if not settings.SESSION_COOKIE_NAME.startswith("__Host-"):
        errors.append(
            Error(
                f"The session cookie {settings.SESSION_COOKIE_NAME!r} lacks the __Host- prefix.",
                hint="Without it, a subdomain or a plain-HTTP page can set or shadow the cookie "
                "(session fixation). Unset SESSION_COOKIE_NAME (default __Host-id).",
                id="sessions_admin.E025",
            )
        )
    elif settings.SESSION_COOKIE_DOMAIN or settings.SESSION_COOKIE_PATH != "/":
        errors.append(
            Error("A __Host- cookie must have Path=/ and no Domain.", id="sessions_admin.E022")
        )
    if not settings.CSRF_USE_SESSIONS:
        errors.append(
            Error("CSRF_USE_SESSIONS must be on (one cookie only).", id="sessions_admin.E023")
        )
    if settings.SESSION_ENGINE != "sessions_admin.store":
        errors.append(
            Error("SESSION_ENGINE must be sessions_admin.store.", id="sessions_admin.E024")
        )
    return errors


@register(Tags.security, deploy=True)
def check_deploy_hsts(app_configs, **kwargs):
    """Django only warns (security.W005); a subdomain over plain HTTP can toss cookies at us."""
    if not settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        return [
            Error(
                "HSTS does not cover subdomains (SECURE_HSTS_INCLUDE_SUBDOMAINS is off).",
                hint="A subdomain reachable over plain HTTP can set cookies for this site. Unset "
                "SECURE_HSTS_INCLUDE_SUBDOMAINS (default on), after serving every subdomain "
                "over HTTPS.",
                id="sessions_admin.E040",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_deploy_binding(app_configs, **kwargs):
    if app_settings.BIND_UA == "off" and app_settings.BIND_IP == "off":
        return [
            Error(
                "Session binding is off for both the user agent and the client IP.",
                hint="Set SESSION_BIND_UA=terminate (or log); silence sessions_admin.E030 with "
                "SILENCED_SYSTEM_CHECKS only if you have written down why.",
                id="sessions_admin.E030",
            )
        ]
    return []
