"""The engine's settings: every key of ``SESSIONS_ADMIN``, with its default, unit and meaning.

``SETTINGS`` below is the one declaration; docs/settings.md is generated from it
(``python -m sessions_admin.conf``; a unit test fails when they differ). A project sets only the
keys it changes (project/settings.py maps environment variables onto them). ``validate()`` runs
at start-up (``apps.ready``) and refuses an unknown key (a typo must not fall back to a default),
a value of the wrong type, a non-positive timeout or an unknown policy mode.

Read at call time, never frozen at import, so ``override_settings`` works in tests.
"""

import enum
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

SECONDS, MILLISECONDS, COUNT, DAYS = "seconds", "milliseconds", "count", "days"
TEXT, MODE, FLAG = "text", "mode", "on/off"
_NUMBERS = (SECONDS, MILLISECONDS, COUNT, DAYS)


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    unit: str  # one of the above: numbers are int, a flag is bool, text and modes are str
    meaning: str
    minimum: int | None = None  # numbers: the smallest valid value
    mode: str = ""  # modes: the enum in policy.py whose values are the only valid ones

    @property
    def types(self) -> tuple[type, ...]:
        base = int if self.unit in _NUMBERS else bool if self.unit == FLAG else str
        return (base,) if self.default is not None else (base, type(None))


# One line of meaning each; the unit says what the number counts.
SETTINGS: tuple[Setting, ...] = (
    # Timeouts and windows
    Setting("IDLE_TIMEOUT", 900, SECONDS, "without activity before a session ends", 1),
    Setting("ABSOLUTE_TIMEOUT", 28800, SECONDS,
            "since sign-in before a session ends, whatever the activity", 1),
    Setting("IDLE_WARNING", 60, SECONDS, "of countdown shown before the idle logout", 1),
    Setting("ACTIVITY_RESOLUTION", 15, SECONDS,
            "between activity writes; never more than a tenth of IDLE_TIMEOUT", 1),
    Setting("ROTATION_GRACE", 30, SECONDS,
            "a rotated-away key still works, read-only, with its old privileges; after that "
            "its use ends every session of the user", 0),
    Setting("ELEVATION_TIMEOUT", 600, SECONDS,
            "of sudo mode; also the recent-authentication window", 1),
    Setting("ANONYMOUS_TIMEOUT", 600, SECONDS,
            "pre-login state lives (a visitor's CSRF token, a pending choice)", 1),
    Setting("END_REASON_RETENTION", 86400, SECONDS,
            "an ended session's reason is kept, so its next request can say why it ended", 1),
    Setting("PENDING_ACTION_TTL", 300, SECONDS,
            "a POST stopped by a gate is kept for completion after the password", 1),
    # Guessing and concurrency
    Setting("GUESS_LIMIT", 50, COUNT,
            "unknown session keys one client IP may present in GUESS_WINDOW before a 429", 1),
    Setting("GUESS_WINDOW", 600, SECONDS, "the window GUESS_LIMIT counts in", 1),
    Setting("MAX_PER_USER", 3, COUNT, "live sessions per member account; 0: no limit", 0),
    Setting("MAX_PER_STAFF", 1, COUNT,
            "live sessions per staff account, at sign-in and when entering sudo mode (same "
            "CONCURRENCY_POLICY); 0: no limit", 0),
    Setting("CONCURRENCY_POLICY", "prompt", MODE, "what a sign-in past the limit does",
            mode="ConcurrencyPolicy"),
    # Binding
    Setting("BIND_UA", "terminate", MODE, "what a change of user agent does", mode="BindMode"),
    Setting("BIND_IP", "log", MODE, "what a change of client IP does", mode="BindMode"),
    Setting("TRUSTED_PROXY_COUNT", 0, COUNT,
            "proxies in front whose X-Forwarded-For entries are trusted", 0),
    # Secrets and storage
    Setting("ENCRYPTION_KEYS", None, TEXT,
            "Fernet-format keys, one per line or comma-separated: the first encrypts, all "
            "decrypt"),
    Setting("ENCRYPTION_KEYS_FILE", None, TEXT,
            "a file holding ENCRYPTION_KEYS (read again when it changes); wins over "
            "ENCRYPTION_KEYS"),
    Setting("KEY_PEPPER", None, TEXT, "HMAC key under which session keys are stored in Redis"),
    Setting("REDIS_KEY_PREFIX", "", TEXT, "prefix of every Redis key (to share one Redis)"),
    Setting("SIGN_IN_REPLICAS", 0, COUNT,
            "replicas that must hold a new sign-in before it is acknowledged (Redis WAIT); "
            "short of them it fails closed (replication.py); 0: no wait", 0),
    Setting("SIGN_IN_WAIT_MS", 500, MILLISECONDS,
            "a sign-in waits at most for SIGN_IN_REPLICAS", 1),
    Setting("DEMO_SECRET_MARK", "demo-only-insecure-", TEXT,
            "secrets starting with this are derived demo values: accepted, and refused by "
            "check --deploy"),
    # The project's pages and hooks
    Setting("ELEVATE_URL", "/accounts/elevate/", TEXT,
            "where the gates send a user for the password (path or URL name); that view calls "
            "gates.resume() after a correct one"),
    Setting("LOGOUT_URL", "/accounts/logout/", TEXT,
            "where the timeout script posts to sign out (path or URL name; POST only)"),
    Setting("SECOND_FACTOR_URL", "/accounts/security/verify/", TEXT,
            "where the console's gate sends a staff session without a second factor (path or "
            "URL name, with ?next=); it calls services.prove_factor(), then gates.resume()"),
    Setting("STAFF_REQUIRE_SECOND_FACTOR", True, FLAG,
            "staff need a second factor (passkey or one-time code) proven within "
            "ELEVATION_TIMEOUT for the console"),
    Setting("CONSOLE_USER_SCOPE", None, TEXT,
            "dotted path of a function (request) -> queryset of the users the staff console "
            "lists and acts on; unset: every user"),
    Setting("CONTROL_SWITCH", None, TEXT,
            "teaching hook (switches.py): dotted path of a function (request, control) -> bool "
            "that may turn a control off; check --deploy refuses it"),
    # Keep me signed in
    Setting("REMEMBER_DAYS", 30, DAYS,
            "a \"Keep me signed in\" device token lives, from the password sign-in that issued "
            "it; 0: the option is off", 0),
    Setting("REMEMBER_COOKIE_NAME", "__Host-remember", TEXT,
            "the device token's cookie (a __Host- name)"),
)  # fmt: skip

_BY_NAME = {s.name: s for s in SETTINGS}


class _Settings:
    """``app_settings.IDLE_TIMEOUT``: the project's value, else the declared default.

    A request reads a dozen of these: each is resolved once, then kept as a plain attribute,
    until a ``setting_changed`` signal (``override_settings``, the tests' ``settings`` fixture)
    says ``SESSIONS_ADMIN`` was replaced."""

    def __getattr__(self, name: str):
        try:
            default = _BY_NAME[name].default
        except KeyError:
            raise AttributeError(name) from None
        value = getattr(settings, "SESSIONS_ADMIN", {}).get(name, default)
        self.__dict__[name] = value
        return value

    def forget(self) -> None:
        self.__dict__.clear()


app_settings = _Settings()


@receiver(setting_changed)
def _settings_changed(*, setting, **kwargs) -> None:
    if setting == "SESSIONS_ADMIN":
        app_settings.forget()


def _modes() -> dict[str, type[enum.Enum]]:
    from .policy import BindMode, ConcurrencyPolicy

    return {"BindMode": BindMode, "ConcurrencyPolicy": ConcurrencyPolicy}


def problems(values: dict) -> list[str]:
    """What is wrong with a ``SESSIONS_ADMIN`` dict (empty when nothing is)."""
    found = [
        f"SESSIONS_ADMIN[{name!r}] is not a setting of sessions_admin (a typo?)."
        for name in sorted(set(values) - set(_BY_NAME))
    ]
    for setting in SETTINGS:
        if setting.name not in values:
            continue
        value, where = values[setting.name], f"SESSIONS_ADMIN[{setting.name!r}]"
        # bool is an int to Python; a flag is not a number, nor a number a flag
        if not isinstance(value, setting.types) or (
            isinstance(value, bool) != (bool in setting.types)
        ):
            wanted = " or ".join("None" if t is type(None) else t.__name__ for t in setting.types)
            found.append(f"{where} is {value!r}; it must be {wanted}.")
        elif setting.minimum is not None and value < setting.minimum:
            found.append(f"{where} is {value!r}; it must be at least {setting.minimum}.")
        elif setting.mode:
            choices = _modes()[setting.mode]
            if value not in {m.value for m in choices}:
                listed = ", ".join(m.value for m in choices)
                found.append(f"{where} is {value!r}; it must be one of {listed}.")
    return found


def validate() -> None:
    """Refuse to start with settings the engine does not understand (a typo must not fail open).

    Called from the app's ``ready()``: manage.py, gunicorn and the tests all stop at start-up.
    """
    found = problems(getattr(settings, "SESSIONS_ADMIN", {}))
    if found:
        raise ImproperlyConfigured(" ".join(found))


_limits_cache: tuple[object, object] | None = None


def limits():
    """The policy limits as the pure policy module takes them (modes as enums: see validate).

    Built once per ``SESSIONS_ADMIN`` object (a request asks several times; ``override_settings``
    and the tests' fixtures replace the dict, which rebuilds it; nothing mutates it in place).
    """
    global _limits_cache
    source = getattr(settings, "SESSIONS_ADMIN", None)
    if _limits_cache is not None and _limits_cache[0] is source:
        return _limits_cache[1]
    built = _build_limits()
    _limits_cache = (source, built)
    return built


def _build_limits():
    from .policy import Limits

    return Limits(
        idle=app_settings.IDLE_TIMEOUT,
        absolute=app_settings.ABSOLUTE_TIMEOUT,
        resolution=effective_resolution(),
        grace=app_settings.ROTATION_GRACE,
        elevation=app_settings.ELEVATION_TIMEOUT,
        bind_ua=app_settings.BIND_UA,
        bind_ip=app_settings.BIND_IP,
        anonymous=app_settings.ANONYMOUS_TIMEOUT,
        retention=app_settings.END_REASON_RETENTION,
        idle_switch_configured=app_settings.CONTROL_SWITCH is not None,
    )


def concurrency_policy():
    from .policy import ConcurrencyPolicy

    return ConcurrencyPolicy(app_settings.CONCURRENCY_POLICY)


def effective_resolution() -> int:
    """ACTIVITY_RESOLUTION, but never more than a tenth of the idle timeout (the design's rule)."""
    return max(1, min(app_settings.ACTIVITY_RESOLUTION, app_settings.IDLE_TIMEOUT // 10))


def markdown() -> str:
    """docs/settings.md, from ``SETTINGS``."""

    def shown(value) -> str:
        return "unset" if value is None else f"`{value!r}`"

    rows = []
    for s in SETTINGS:
        meaning = s.meaning
        if s.mode:
            meaning += ": " + ", ".join(f"`{m.value}`" for m in _modes()[s.mode])
        unit = s.unit if s.minimum is None else f"{s.unit}, at least {s.minimum}"
        rows.append(f"| `{s.name}` | {shown(s.default)} | {unit} | {meaning} |")
    return "\n".join(
        [
            "# The engine's settings (`SESSIONS_ADMIN`)",
            "",
            "Generated from `sessions_admin/conf.py` (`python -m sessions_admin.conf > "
            "docs/settings.md`); edit that file, not this one. A project sets only the keys it "
            "changes; an unknown key, a value of the wrong type, a number below its minimum or "
            "an unknown mode stops start-up (`conf.validate`, from `apps.py`). This project maps "
            "environment variables onto them in `project/settings.py` (the README lists the "
            "variables).",
            "",
            "| key | default | unit | meaning |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    print(markdown(), end="")
