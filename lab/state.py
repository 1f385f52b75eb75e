"""Whose lab this is, since when, and which exercises the server has seen solved.

* **Scope.** With private sandboxes on, a learner is their sandbox (``demo.sandboxes.current``:
  the sandbox their session started, or the signed-in user's own); off, everyone shares the
  seeded alice, bob and carol, and the scope is ``shared``.
* **Start.** Kept server-side per scope in Redis (``lab:start:<scope>``), not in the session:
  half the exercises sign the learner out, and a sign-out flushes the session. The page carries
  a signed token of its scope (``token_for``) so it keeps polling its state across sign-outs.
* **Solved.** From ``SecurityEvent`` rows since the start: events of the scope's users, and
  for the attacks that come before any sign-in (guessing, a cross-site form) events with no
  user from the client addresses that opened this lab.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db.models import Q

from demo import sandboxes
from sessions_admin import clock
from sessions_admin.conf import app_settings
from sessions_admin.models import SecurityEvent
from sessions_admin.policy import client_key
from sessions_admin.redis_keys import connection, guarded
from sessions_admin.request_facts import facts_for

from .exercises import EXERCISES

SHARED = "shared"
TOKEN_SALT = "lab.scope"  # noqa: S105 - a signing salt, not a secret
TOKEN_AGE = 86400
KEEP = 86400
MAX_IPS = 8


def enabled() -> bool:
    return bool(getattr(settings, "DEMO_MODE", False))


def _key(*parts) -> str:
    return f"{app_settings.REDIS_KEY_PREFIX}lab:" + ":".join(str(p) for p in parts)


# --- scope ---------------------------------------------------------------------------------
def scope_of_request(request, token: str | None = None) -> str | None:
    if not sandboxes.enabled():
        return SHARED
    sandbox = sandboxes.current(request)
    if sandbox is not None:
        return str(sandbox.pk)
    return scope_from_token(token) if token else None


def scope_of_user(user) -> str | None:
    if user is None or not getattr(user, "pk", None):
        return None
    if not sandboxes.enabled():
        return SHARED
    sandbox = sandboxes.sandbox_of(user)
    return str(sandbox.pk) if sandbox is not None else None


def token_for(scope: str) -> str:
    return signing.dumps(scope, salt=TOKEN_SALT)


def scope_from_token(token: str) -> str | None:
    try:
        return str(signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_AGE))
    except signing.BadSignature:
        return None


def users_of(scope: str):
    model = get_user_model()
    if scope == SHARED:
        from accounts.management.commands.seed_demo import DEMO_USERS

        return model._default_manager.filter(
            **{f"{model.USERNAME_FIELD}__in": [name for name, _, _ in DEMO_USERS]}
        )
    return model._default_manager.filter(demo_sandbox__sandbox_id=scope)


# --- start time, addresses, switches --------------------------------------------------------
def started_at(scope: str, *, create: bool = True) -> float:
    with guarded():
        conn = connection()
        value = conn.get(_key("start", scope))
        if value is None:
            if not create:
                return clock.now()
            value = clock.now()
            conn.set(_key("start", scope), value, ex=KEEP, nx=True)
            value = conn.get(_key("start", scope)) or value
    return float(value)


def restart(scope: str) -> None:
    with guarded():
        pipe = connection().pipeline(transaction=False)
        pipe.set(_key("start", scope), clock.now(), ex=KEEP)
        pipe.delete(_key("ips", scope))
        for control in SWITCHABLE:
            pipe.delete(_key("switch", scope, control))
        pipe.execute()


def note_client(request, scope: str) -> None:
    """Remember the learner's client address (for the attacks made before any sign-in)."""
    ip = client_key(facts_for(request).ip)
    with guarded():
        conn = connection()
        if conn.scard(_key("ips", scope)) < MAX_IPS:
            conn.sadd(_key("ips", scope), ip)
        conn.expire(_key("ips", scope), KEEP)


def clients_of(scope: str) -> set[str]:
    with guarded():
        return {m.decode() for m in connection().smembers(_key("ips", scope))}


SWITCHABLE = ("rotate_at_sign_in", "server_side_logout", "server_idle_timeout")


def control_is_on(scope: str, control: str) -> bool:
    with guarded():
        return connection().get(_key("switch", scope, control)) is None


def set_control(scope: str, control: str, on: bool) -> None:
    with guarded():
        if on:
            connection().delete(_key("switch", scope, control))
        else:
            connection().set(_key("switch", scope, control), "off", ex=KEEP)


# --- solved ----------------------------------------------------------------------------------
@dataclass
class Rule:
    name: str
    reasons: tuple[str, ...] = ()  # access_denied detail "reason" values
    end_reasons: tuple[str, ...] = ()  # detail "end_reason" values
    anonymous: bool = False  # may be an event without a user, matched by client address
    paths: tuple[str, ...] = ()  # detail "path" prefixes (a forged POST aims at sessions)

    def matches(self, event) -> bool:
        if event.name != self.name:
            return False
        detail = event.detail or {}
        if self.reasons and detail.get("reason") not in self.reasons:
            return False
        if self.end_reasons and detail.get("end_reason") not in self.end_reasons:
            return False
        if self.paths and not str(detail.get("path", "")).startswith(self.paths):
            return False
        # a binding change only logged was seen, not refused
        return not (event.name == "binding_mismatch" and detail.get("action") == "logged")


RULES = {
    "fixation": Rule("access_denied", reasons=("lab_fixation_refused",)),
    "replay-after-logout": Rule(
        "access_denied", reasons=("session_replay",), end_reasons=("logout",)
    ),
    "remote-end": Rule(
        "access_denied", reasons=("session_replay",), end_reasons=("ended_by_user",)
    ),
    "idle-timeout": Rule("session_expired_idle"),
    "rotation-tripwire": Rule("obsolete_session_reuse"),
    "ua-binding": Rule("binding_mismatch"),
    "brute-force": Rule("login_throttled"),
    "back-button": Rule("access_denied", reasons=("lab_back_button",)),
    "csrf": Rule(
        "access_denied", reasons=("csrf", "cross_site"), anonymous=True, paths=("/sessions/",)
    ),
    "guessing": Rule("session_id_guessing", anonymous=True),
}
assert set(RULES) == {e.slug for e in EXERCISES}


def solved(scope: str) -> dict[str, str | None]:
    """slug -> ISO time of the first event that solved it since the start, or None."""
    since = datetime.fromtimestamp(started_at(scope), tz=UTC)
    names = {r.name for r in RULES.values()}
    anonymous_names = {r.name for r in RULES.values() if r.anonymous}
    clients = clients_of(scope)
    query = Q(user__in=users_of(scope))
    if clients:
        query |= Q(user__isnull=True, name__in=anonymous_names)
    found: dict[str, str | None] = dict.fromkeys(RULES)
    events = SecurityEvent.objects.filter(query, name__in=names, created_at__gte=since)
    for event in events.order_by("created_at")[:500]:
        if event.user_id is None and client_key(event.ip or "") not in clients:
            continue
        for slug, rule in RULES.items():
            if found[slug] is None and rule.matches(event):
                if event.user_id is None and not rule.anonymous:
                    continue
                found[slug] = event.created_at.isoformat()
    return found
