"""Every session decision, as pure functions of (session metadata, request facts, limits, now).

No Django, no Redis, no clock: callers gather the facts and act on the verdict. A boundary is
inclusive on the valid side: a session idle for exactly IDLE_TIMEOUT seconds is still valid; one
second more and it is not (the convention of Django's own token expiry).
"""

import enum
import ipaddress
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime


class Verdict(enum.Enum):
    OK = "ok"
    UNKNOWN = "unknown"  # the cookie names no session we know: strict mode, counted as a guess
    ENDED = "ended"  # ended earlier (logout, remote end, eviction...): meta keeps the reason
    IDLE_EXPIRED = "idle"
    ABSOLUTE_EXPIRED = "absolute"
    # The application's set_expiry() cap, shorter than the policy: said as "expired", since the
    # policy's "after 15 minutes of inactivity" would not be true.
    APP_IDLE_EXPIRED = "app_idle"
    APP_DEADLINE_EXPIRED = "app_deadline"
    BINDING_MISMATCH = "binding"
    GRACE = "grace"  # an obsolete key inside the rotation grace window: read-only, old privileges
    TRIPWIRE = "tripwire"  # an obsolete key used after the grace window: likely stolen


# Reasons a session ended: stored in meta, shown on the login page (accounts/messages).
END_REASONS = {
    "logout": "You signed out.",
    "idle": "You were signed out after {idle} of inactivity.",
    "absolute": "Your session reached its maximum length of {absolute}. Please sign in again.",
    "ended_by_user": "This session was ended from another device.",
    "ended_by_staff": "This session was ended by an administrator.",
    "evicted": "You were signed out because your account signed in on another device.",
    "password_changed": "You were signed out because your password was changed.",
    "binding": "You were signed out because your browser or network changed.",
    "tripwire": "All your sessions were ended because an old session key was reused.",
    "account_disabled": "This account has been disabled.",
    "expired": "Your session has expired. Please sign in again.",
}


class BindMode(enum.StrEnum):
    """What a change of user agent or client IP does to a signed-in session."""

    OFF = "off"
    LOG = "log"
    TERMINATE = "terminate"


class ConcurrencyPolicy(enum.StrEnum):
    """What a sign-in does when the user already has MAX_PER_USER live sessions."""

    EVICT_OLDEST = "evict_oldest"
    DENY_NEW = "deny_new"
    PROMPT = "prompt"


@dataclass(frozen=True)
class Limits:
    """The policy's settings, as enums and seconds. Built (and validated) by ``conf.limits()``.

    Enums, so that a typo in a setting cannot exist at run time: ``BindMode("terminat")`` raises.
    """

    idle: int
    absolute: int
    resolution: int
    grace: int
    elevation: int
    bind_ua: BindMode = BindMode.TERMINATE
    bind_ip: BindMode = BindMode.LOG
    anonymous: int = 600  # pre-login state (CSRF token, a pending choice) lives at most this long
    retention: int = 86400  # an ended session's reason is kept this long for its next request
    # A teaching project's control switch is configured (CONTROL_SWITCH, lab mode): only then is
    # a session's ``idle_client_only`` mark honoured. Without one, a mark found in Redis (written
    # there by someone who can write to Redis) changes nothing: the server enforces idle.
    idle_switch_configured: bool = False

    def __post_init__(self):
        object.__setattr__(self, "bind_ua", BindMode(self.bind_ua))
        object.__setattr__(self, "bind_ip", BindMode(self.bind_ip))


@dataclass(frozen=True)
class SessionMeta:
    """What Redis holds of a session besides its payload (sess:{h}:meta)."""

    created_at: float
    last_seen: float
    uid: str | None = None
    auth_at: float | None = None
    elevated_until: float | None = None
    ip: str | None = None
    ua: str | None = None
    obsolete_at: float | None = None
    successor: str | None = None  # on a tombstone: the digest the session moved to
    end_reason: str | None = None
    notice: str | None = None
    # The application's own cap (``request.session.set_expiry()``), see ``app_cap``: seconds of
    # inactivity it allows, and a fixed deadline. Believed from the sealed payload only.
    app_idle: float | None = None
    app_until: float | None = None
    # The user's sessions active within the idle timeout, as counted at this session's last
    # activity write: the header badge, at most one activity window old (registry.touch).
    sessions: int | None = None
    # The factors proven in this session ("password,passkey") and when a second factor last
    # was (``assurance_met``). Believed from the sealed payload only, like auth_at.
    factors: str = ""
    factor_at: float | None = None
    # A teaching project's "without this control" (switches.SERVER_IDLE_TIMEOUT, lab mode
    # only): the idle timeout is left to the page, the server enforces the absolute one alone.
    # Written by the policy middleware only when a configured CONTROL_SWITCH says so; like
    # last_seen, a value in the metadata hash (whoever can write it can move last_seen too).
    # 1 or None (the hash's field is "1" or absent; a rotation carries it).
    idle_client_only: int | None = None

    @classmethod
    def from_hash(cls, raw: Mapping) -> "SessionMeta | None":
        """The metadata as HGETALL returns it (names and values, bytes or text); None unless
        ``created_at`` is a number. Any field not in HASH_FIELDS is ignored."""
        return cls.from_values([raw.get(name.encode(), raw.get(name)) for name in HASH_FIELDS])

    @classmethod
    def from_values(cls, values: Sequence) -> "SessionMeta | None":
        """The metadata as HMGET returns the HASH_FIELDS (bytes or text, None where a field is
        absent): what the store's load reads on every request, in one pass and without field
        names to look up. Each field is read by its parser in ``_READERS``."""
        return cls._from_fields(
            {
                name: read(value.decode("utf-8", "replace") if type(value) is bytes else value)
                for (name, read), value in zip(_READERS, values, strict=True)
                if value is not None
            }
        )

    @classmethod
    def _from_fields(cls, fields: dict) -> "SessionMeta | None":
        created = fields.get("created_at")
        if created is None:
            return None
        if fields.get("last_seen") is None:
            fields["last_seen"] = created
        return cls(**fields)


def _finite(text: str | None) -> float | None:
    """A hash field as a number: None when absent, empty, unparsable or not finite (a NaN
    deadline would compare false with everything, and so never pass)."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _count(text: str) -> int | None:
    value = _finite(text)
    return None if value is None else int(value)


def _text_or_none(text: str) -> str | None:
    return text or None


def _text(text: str) -> str:
    """Kept as it is, "" included: an empty recorded IP or user agent is still bound."""
    return text


# How the metadata hash's fields are read: the SessionMeta field (named as in the hash) and its
# parser. The privilege facts read here are the hash's copies (for listing); the store replaces
# them with the sealed payload's, the only ones believed.
_READERS = (
    ("created_at", _finite),
    ("last_seen", _finite),
    ("uid", _text_or_none),
    ("auth_at", _finite),
    ("elevated_until", _finite),
    ("ip", _text),
    ("ua", _text),
    ("obsolete_at", _finite),
    ("successor", _text_or_none),
    ("end_reason", _text_or_none),
    ("notice", _text_or_none),
    ("app_idle", _finite),
    ("app_until", _finite),
    ("sessions", _count),
    ("factors", _text),
    ("factor_at", _finite),
    ("idle_client_only", lambda text: 1 if text == "1" else None),
)
# The fields a load asks for by name (HMGET), in the order ``from_values`` reads them.
HASH_FIELDS = tuple(name for name, _ in _READERS)


@dataclass(frozen=True)
class RequestFacts:
    ip: str
    ua: str


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    touch: bool = False
    binding_changes: tuple[str, ...] = field(default_factory=tuple)


def idle_deadline(meta: SessionMeta, limits: Limits) -> float:
    """When inactivity ends the session: the policy's idle timeout, or the application's
    shorter ``set_expiry(seconds)`` (the page's warning counts down to this)."""
    idle = limits.idle if meta.app_idle is None else min(limits.idle, meta.app_idle)
    return meta.last_seen + idle


def absolute_deadline(meta: SessionMeta, limits: Limits) -> float:
    """When the session ends whatever the activity: the absolute timeout, or the application's
    sooner ``set_expiry(date)``."""
    deadline = meta.created_at + limits.absolute
    return deadline if meta.app_until is None else min(deadline, meta.app_until)


EXPIRED_CAP = 0.0  # an unreadable cap: a deadline long past (finite, so TTL arithmetic holds)


def app_cap(expiry) -> tuple[float | None, float | None]:
    """The application's ``set_expiry()`` value as a cap: (seconds of inactivity, deadline).

    ``expiry`` is what Django's ``SessionBase.set_expiry()`` keeps in the (sealed) payload under
    ``_session_expiry``; it can shorten a session, never lengthen it past the policy:

    * ``None`` or ``0``: no cap. In Django 0 means "expire at browser close"; here the cookie
      never has a Max-Age, so it always does, and 0 adds nothing.
    * a number ``n`` (Django: "expires after n seconds of inactivity"): an idle timeout of its
      own. The stricter wins: the session ends ``min(n, IDLE_TIMEOUT)`` seconds after its last
      activity, and the absolute timeout still applies. A negative ``n`` expires it at once
      (as in Django).
    * an ISO 8601 date (Django stores a ``datetime``, or ``now + timedelta`` resolved by
      Django against the wall clock when ``set_expiry()`` was called): a fixed deadline,
      whatever the activity, never later than the idle and absolute deadlines. A date in the
      past expires it at once.
    * anything else (a value Django would not write, or one it cannot parse): fails closed,
      a deadline already past (``EXPIRED_CAP``, the epoch).

    Pure: no clock. A naive date is read as local time, as Django writes it with USE_TZ off.
    """
    if expiry is None or (not isinstance(expiry, bool) and expiry == 0):
        return None, None
    if isinstance(expiry, int | float) and not isinstance(expiry, bool):
        return (float(expiry), None) if math.isfinite(expiry) else (None, EXPIRED_CAP)
    if isinstance(expiry, str):
        try:
            return None, datetime.fromisoformat(expiry).timestamp()
        except (ValueError, OverflowError, OSError):
            pass
    return None, EXPIRED_CAP


def expires_at(meta: SessionMeta, limits: Limits) -> float:
    """The sooner of the idle and absolute deadlines: what 'your sessions' shows and TTLs follow.

    A session nobody signed in to (pre-login state) lives at most ``limits.anonymous`` seconds
    from its creation, so a flood of cookieless requests cannot grow Redis without bound. An
    application's ``set_expiry()`` can bring the deadline closer, never push it further
    (``app_cap``).
    """
    deadline = absolute_deadline(meta, limits)
    if not idle_left_to_page(meta, limits):
        deadline = min(idle_deadline(meta, limits), deadline)
    if meta.uid is None:
        deadline = min(deadline, meta.created_at + limits.anonymous)
    return deadline


def ttl_ms(meta: SessionMeta, limits: Limits, now: float) -> int:
    """Redis TTL for the payload: garbage collection a second after the authority's deadline.

    The one TTL rule: the store, rotation and the activity touch all use it. A non-positive TTL
    means the key must be deleted (Redis rejects PX <= 0).
    """
    return int((expires_at(meta, limits) - now + 1) * 1000)


def meta_ttl_ms(meta: SessionMeta, limits: Limits, now: float) -> int:
    """The metadata outlives a signed-in session's payload by ``retention``, so its next request
    can say why it ended; pre-login metadata dies with its payload."""
    ttl = ttl_ms(meta, limits, now)
    return ttl + limits.retention * 1000 if meta.uid is not None else ttl


def tombstone_retention_ms(*, signed_in: bool, limits: Limits) -> int:
    """How long a rotated-away key is kept as a tombstone. A signed-in key's for
    END_REASON_RETENTION, so its reuse after the grace window still trips the wire; a pre-login
    key's for its grace and as long again, enough for its racing requests: it holds no
    privilege, and a day of one per sign-in would cost memory for nothing."""
    return limits.retention * 1000 if signed_in else max(limits.grace, 1) * 2000


class AuthStep(enum.Enum):
    SIGN_IN = "sign_in"
    ELEVATE = "elevate"
    REAUTHENTICATE = "reauthenticate"
    PASSWORD_CHANGE = "password_change"  # noqa: S105 - a step name, not a secret


def session_start(step: AuthStep, meta: SessionMeta | None, now: float) -> float:
    """When the absolute timeout counts from after a password was entered.

    A password typed at the sign-in form starts a new session, whether or not the browser was
    already signed in (the key rotates, and the absolute deadline restarts, as after a sign-out
    and a sign-in). Sudo mode, "confirm your password" and a password change prove the same
    person is still there but do not restart the clock: the absolute timeout bounds how long a
    stolen cookie can last, and re-authenticating inside a session must not extend it.
    """
    if step is AuthStep.SIGN_IN or meta is None:
        return now
    return meta.created_at


def _sooner(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else min(a, b)


def grace_privileges(tombstone: SessionMeta, successor: SessionMeta | None) -> SessionMeta:
    """An obsolete key inside the grace window has no more privilege than the session it moved to.

    After "Drop sudo mode" the pre-drop key must not keep opening the console; after a fresh
    password entry the pre-rotation key must not count as freshly authenticated.
    """
    if successor is None:
        return replace(tombstone, auth_at=None, elevated_until=None, factor_at=None)
    return replace(
        tombstone,
        auth_at=_sooner(tombstone.auth_at, successor.auth_at),
        elevated_until=_sooner(tombstone.elevated_until, successor.elevated_until),
        factor_at=_sooner(tombstone.factor_at, successor.factor_at),
    )


def client_key(ip: str | None) -> str:
    """The one rule for "which client is this": an IPv4 address, or an IPv6 address's /64.

    IPv6 privacy addresses rotate inside the /64 a network hands out, so binding, the sign-in
    throttles and the guess counter all treat one /64 as one client. Anything unparsable is
    compared as the text it is.
    """
    try:
        addr = ipaddress.ip_address(ip or "")
    except ValueError:
        return ip or ""
    if addr.version == 6:
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def same_client_ip(a: str | None, b: str | None) -> bool:
    """Two addresses of one client (see ``client_key``)."""
    return a == b or client_key(a) == client_key(b)


def client_ip(remote_addr: str, forwarded_for: str | None, trusted_proxy_count: int) -> str:
    """The client's address: REMOTE_ADDR, or the entry the last trusted proxy appended.

    Each trusted proxy appends the address it saw; only the rightmost ``trusted_proxy_count``
    entries were written by our own proxies, so the one just left of them is the client's.
    Anything further left was written by the client and is ignored.
    """
    if trusted_proxy_count <= 0 or not forwarded_for:
        return remote_addr
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    if len(hops) < trusted_proxy_count:
        return remote_addr
    candidate = hops[-trusted_proxy_count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


def binding_changes(meta: SessionMeta, facts: RequestFacts, limits: Limits) -> tuple[str, ...]:
    changes = []
    if limits.bind_ua is not BindMode.OFF and meta.ua is not None and meta.ua != facts.ua:
        changes.append("ua")
    if (
        limits.bind_ip is not BindMode.OFF
        and meta.ip is not None
        and not same_client_ip(meta.ip, facts.ip)
    ):
        changes.append("ip")
    return tuple(changes)


def _terminates(changes: Iterable[str], limits: Limits) -> bool:
    modes = {"ua": limits.bind_ua, "ip": limits.bind_ip}
    return any(modes[c] is BindMode.TERMINATE for c in changes)


def evaluate(meta: SessionMeta | None, facts: RequestFacts, limits: Limits, now: float) -> Decision:
    """The verdict for one request presenting a session cookie."""
    if meta is None:
        return Decision(Verdict.UNKNOWN)
    if meta.obsolete_at is not None:
        if now - meta.obsolete_at > limits.grace:
            return Decision(Verdict.TRIPWIRE)
        changes = binding_changes(meta, facts, limits) if meta.uid is not None else ()
        if changes and _terminates(changes, limits):
            return Decision(Verdict.BINDING_MISMATCH, binding_changes=changes)
        return Decision(Verdict.GRACE)
    if meta.end_reason:
        return Decision(Verdict.ENDED)
    if meta.uid is None and now - meta.created_at > limits.anonymous:
        return Decision(Verdict.IDLE_EXPIRED)
    if now - meta.created_at > limits.absolute:
        return Decision(Verdict.ABSOLUTE_EXPIRED)
    if now - meta.last_seen > limits.idle and not idle_left_to_page(meta, limits):
        return Decision(Verdict.IDLE_EXPIRED)
    # The application's set_expiry() cap (app_cap): a fixed date ends it as the absolute
    # timeout does, a number of seconds as the idle timeout does.
    if meta.app_until is not None and now > meta.app_until:
        return Decision(Verdict.APP_DEADLINE_EXPIRED)
    if meta.app_idle is not None and now - meta.last_seen > meta.app_idle:
        return Decision(Verdict.APP_IDLE_EXPIRED)
    if meta.uid is not None:
        changes = binding_changes(meta, facts, limits)
        if changes and _terminates(changes, limits):
            return Decision(Verdict.BINDING_MISMATCH, binding_changes=changes)
    else:
        changes = ()
    resolution = limits.resolution
    if meta.app_idle is not None:
        # As for IDLE_TIMEOUT (conf.effective_resolution): a write at least every tenth of it.
        resolution = min(resolution, max(meta.app_idle, 0) / 10)
    touch = now - meta.last_seen >= resolution
    return Decision(Verdict.OK, touch=touch, binding_changes=changes)


def idle_left_to_page(meta: SessionMeta, limits: Limits) -> bool:
    """The lab's "without this control" for the idle timeout: the session is marked and a
    control switch is configured. Never true in a production configuration."""
    return bool(meta.idle_client_only) and limits.idle_switch_configured


def idle_client_only_change(meta: SessionMeta, *, server_enforces_idle: bool) -> bool | None:
    """Whether to mark (True) or unmark (False) ``idle_client_only`` when a control switch (lab
    mode) says whether the server enforces the idle timeout for this session; None when the
    session already agrees. Only a signed-in, live session is ever marked."""
    wanted = not server_enforces_idle and meta.uid is not None and meta.obsolete_at is None
    return None if bool(meta.idle_client_only) == wanted else wanted


def sign_in_is_durable(acknowledged: int, required: int) -> bool:
    """A sign-in is acknowledged to the user only once ``required`` replicas hold it (Redis
    ``WAIT``'s reply ``acknowledged``); with fewer it fails closed (``replication.require``)."""
    return acknowledged >= required


READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def obsolete_key_may_serve(method: str) -> bool:
    """Inside the grace window an obsolete key is read-only: it may read, never change state."""
    return method in READ_ONLY_METHODS


def is_elevated(meta: SessionMeta | None, now: float) -> bool:
    return bool(meta and meta.elevated_until and now <= meta.elevated_until)


def elevation_seconds_left(meta: SessionMeta | None, now: float) -> int:
    if not is_elevated(meta, now):
        return 0
    return max(0, math.ceil(meta.elevated_until - now))


def recently_authenticated(meta: SessionMeta | None, limits: Limits, now: float) -> bool:
    """OWASP ASVS 7.5.2: a password entered within the elevation window (sign-in or sudo)."""
    return bool(meta and meta.auth_at is not None and now - meta.auth_at <= limits.elevation)


# --- Assurance: which factors an action needs (issue 17) ----------------------------------------
PASSWORD = "password"  # noqa: S105 - a factor's name
SECOND_FACTORS = frozenset({"passkey", "totp", "recovery"})


class Action(enum.StrEnum):
    """What a gate protects."""

    CONSOLE = "console"  # the staff console (sudo mode)
    RECENT_AUTH = "recent_auth"  # ending sessions, changing factors


class Shortfall(enum.Enum):
    """What is missing before an action may go ahead."""

    NONE = "none"
    AUTHENTICATION = "authentication"  # sudo mode / a recent authentication: the password page
    SECOND_FACTOR = "second_factor"  # a passkey or one-time code within the elevation window


@dataclass(frozen=True)
class Requirement:
    elevated: bool = False
    recent_auth: bool = False
    second_factor: bool = False


def required_assurance(
    action: Action | str, *, user_is_staff: bool, require_staff_second_factor: bool
) -> Requirement:
    """The one rule for what each action needs (ASVS 6.3.3, 7.5.3).

    The console needs sudo mode and, for staff where ``STAFF_REQUIRE_SECOND_FACTOR`` is on, a
    second factor (passkey, authenticator code or recovery code) proven within the elevation
    window. Everything else gated needs a recent authentication (password, passkey or code).
    """
    if Action(action) is Action.CONSOLE:
        return Requirement(
            elevated=True, second_factor=user_is_staff and require_staff_second_factor
        )
    return Requirement(recent_auth=True)


def session_factors(meta: SessionMeta | None) -> frozenset[str]:
    return frozenset(f for f in (meta.factors if meta else "").split(",") if f)


def assurance_met(
    meta: SessionMeta | None, requirement: Requirement, limits: Limits, now: float
) -> Shortfall:
    """What this session lacks for ``requirement`` (``Shortfall.NONE``: nothing).

    A second factor counts for ``limits.elevation`` seconds after it was proven (T valid,
    T+1 not). A remembered sign-in proves none (its factors are empty).
    """
    if requirement.elevated and not is_elevated(meta, now):
        return Shortfall.AUTHENTICATION
    if requirement.recent_auth and not recently_authenticated(meta, limits, now):
        return Shortfall.AUTHENTICATION
    if requirement.second_factor:
        fresh = meta is not None and meta.factor_at is not None
        fresh = fresh and now - meta.factor_at <= limits.elevation
        if not (fresh and session_factors(meta) & SECOND_FACTORS):
            return Shortfall.SECOND_FACTOR
    return Shortfall.NONE


def join_factors(factors: Iterable[str]) -> str:
    """Factors as the sealed fact holds them: sorted, comma-separated, each once."""
    return ",".join(sorted({f for f in factors if f}))


class Admission(enum.Enum):
    ADMIT = "admit"
    EVICT = "evict"
    DENY = "deny"
    PROMPT = "prompt"


@dataclass(frozen=True)
class AdmissionDecision:
    admission: Admission
    evict: tuple[str, ...] = ()


def session_limit(*, is_staff: bool, member_limit: int, staff_limit: int) -> int:
    """Live sessions one account may hold: staff, whose sessions can reach the console, have
    their own limit (``MAX_PER_STAFF``); everyone else ``MAX_PER_USER``. The same concurrency
    policy applies to both."""
    return staff_limit if is_staff else member_limit


def admit_new_session(
    live_by_last_seen: list[tuple[str, float]], max_per_user: int, policy: ConcurrencyPolicy
) -> AdmissionDecision:
    """Concurrent-logon policy for a new sign-in, given the user's live sessions (h, last_seen).

    ``registry.admit`` calls it on what it read of the user's index and applies the decision
    with a compare-and-set on that index (applied only if nothing changed since the read, else
    decided again), so that counting, deciding and reserving the slot are one atomic step.
    """
    policy = ConcurrencyPolicy(policy)
    if max_per_user <= 0 or len(live_by_last_seen) < max_per_user:
        return AdmissionDecision(Admission.ADMIT)
    if policy is ConcurrencyPolicy.EVICT_OLDEST:
        surplus = len(live_by_last_seen) - max_per_user + 1
        oldest = sorted(live_by_last_seen, key=lambda item: item[1])[:surplus]
        return AdmissionDecision(Admission.EVICT, tuple(h for h, _ in oldest))
    if policy is ConcurrencyPolicy.DENY_NEW:
        return AdmissionDecision(Admission.DENY)
    return AdmissionDecision(Admission.PROMPT)


def over_guess_limit(count: int, limit: int) -> bool:
    return count > limit


def end_reason_text(reason: str | None, limits: Limits) -> str | None:
    if not reason or reason not in END_REASONS:
        return None
    return END_REASONS[reason].format(
        idle=human_duration(limits.idle), absolute=human_duration(limits.absolute)
    )


def human_duration(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        n = seconds // 3600
        return f"{n} hour{'s' if n != 1 else ''}"
    if seconds % 60 == 0 and seconds >= 60:
        n = seconds // 60
        return f"{n} minute{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
