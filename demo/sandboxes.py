"""Private sandboxes: create, find, reset and remove them. Views and the command call these.

* **Users.** A sandbox is three users, ``alice-7f3k`` and ``bob-7f3k`` (members) and
  ``carol-7f3k`` (staff): the names of the shared demo with a random suffix that is unique
  among live sandboxes. Usernames are readable, not secret.
* **Password.** One per sandbox, shared by its three users, derived as
  HMAC-SHA256(SECRET_KEY, "demo-sandbox-password:<suffix>:<created_at>") in readable groups:
  never stored in clear, shown again to the sandbox's visitor, restored by "Reset my demo".
  Not the documented shared password: with it, guessing a suffix would open someone else's
  sandbox. The three users share one Argon2 hash, computed once per sandbox and kept on it
  for the reset (so neither a start nor a reset costs more than one hash).
* **Whose.** The sandbox id is kept in the visitor's session (anonymous or signed in: sign-in
  keeps the payload, it only renews the key), and a signed-in sandbox user reaches their own
  sandbox through ``SandboxUser``. Nothing a client sends names a sandbox.
* **Limits.** START_LIMIT starts per client (``policy.client_key``) per START_WINDOW seconds,
  one Redis counter; SANDBOX_MAX live sandboxes overall, counted in the database (parallel
  starts may pass the cap by the number of requests in flight).
* **Expiry.** SANDBOX_TTL after creation ``remove`` ends the users' sessions
  (``services.end_user_sessions``), deletes their events and the users, and the sandbox.
  ``manage.py prune_sandboxes`` does it for every expired sandbox; each /demo/ request prunes a
  few (``prune_expired(limit=...)``), so an idle server needs the command only for tidiness.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q

from sessions_admin import clock, events, services
from sessions_admin.conf import app_settings
from sessions_admin.models import SecurityEvent
from sessions_admin.policy import client_key
from sessions_admin.redis_keys import connection, guarded
from sessions_admin.request_facts import facts_for

from .models import Sandbox, SandboxUser

SESSION_KEY = "demo_sandbox"
# Lower-case letters and digits without the look-alikes 0/o, 1/l/i: 31 symbols.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
ROLES = (("alice", "Alice", "member"), ("bob", "Bob", "member"), ("carol", "Carol", "staff"))
SUFFIX_LENGTH = 4


def conf() -> dict:
    return {
        "SANDBOXES": False,
        "SANDBOX_TTL": 7200,
        "SANDBOX_MAX": 500,
        "START_LIMIT": 5,
        "START_WINDOW": 600,
        **getattr(settings, "DEMO", {}),
    }


def enabled() -> bool:
    """Sandboxes are on: demo mode and DEMO_SANDBOXES."""
    return bool(settings.DEMO_MODE and conf()["SANDBOXES"])


def _now() -> datetime:
    return datetime.fromtimestamp(clock.now(), tz=UTC)


def _suffix() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(SUFFIX_LENGTH))


def password_for(sandbox: Sandbox) -> str:
    """The sandbox's password: 16 symbols (79 bits) in groups of four, e.g. ``k7wm-q2xd-...``."""
    message = f"demo-sandbox-password:{sandbox.suffix}:{sandbox.created_at.isoformat()}"
    digest = hmac.new(settings.SECRET_KEY.encode(), message.encode(), hashlib.sha256).digest()
    number = int.from_bytes(digest, "big")
    symbols = ""
    for _ in range(16):
        number, index = divmod(number, len(ALPHABET))
        symbols += ALPHABET[index]
    return "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class Person:
    username: str
    role: str


def people(sandbox: Sandbox) -> list[Person]:
    return [
        Person(m.user.get_username(), m.role)
        for m in sandbox.members.select_related("user").order_by("position")
    ]


# --- Limits -------------------------------------------------------------------------------------
class Refused(Exception):
    """A start refused: ``status`` 429 (this client) or 503 (every sandbox is taken)."""

    def __init__(self, status: int, retry_after: int):
        super().__init__(status, retry_after)
        self.status = status
        self.retry_after = max(1, int(retry_after))


def _start_key(request) -> str:
    client = client_key(facts_for(request).ip)
    return f"{app_settings.REDIS_KEY_PREFIX}demo:starts:{client}"


def _spend_start(request) -> None:
    """Count this start for the client (fixed window); refuse past START_LIMIT."""
    c = conf()
    key = _start_key(request)
    with guarded():
        pipe = connection().pipeline(transaction=True)
        pipe.set(key, 0, nx=True, ex=c["START_WINDOW"])  # the window opens at the first start
        pipe.incr(key)  # keeps the TTL
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
    if count > c["START_LIMIT"]:
        raise Refused(429, ttl if ttl and ttl > 0 else c["START_WINDOW"])


def _check_capacity() -> None:
    live = Sandbox.objects.filter(expires_at__gt=_now())
    if live.count() >= conf()["SANDBOX_MAX"]:
        oldest = live.order_by("expires_at").values_list("expires_at", flat=True).first()
        raise Refused(503, (oldest - _now()).total_seconds() if oldest else 60)


# --- Life cycle ---------------------------------------------------------------------------------
def start(*, request) -> Sandbox:
    """A new sandbox for this visitor, remembered in their session; raises Refused."""
    prune_expired(limit=20)
    _check_capacity()
    _spend_start(request)
    created = _now()
    user_model = get_user_model()
    for _attempt in range(20):
        suffix = _suffix()
        try:
            with transaction.atomic():
                sandbox = Sandbox(
                    suffix=suffix,
                    created_at=created,
                    expires_at=created + timedelta(seconds=conf()["SANDBOX_TTL"]),
                )
                sandbox.password_hash = make_password(password_for(sandbox))
                sandbox.save()
                users = []
                for position, (name, first_name, role) in enumerate(ROLES):
                    user = user_model.objects.create(
                        username=f"{name}-{suffix}",
                        first_name=first_name,
                        is_staff=role == "staff",
                        password=sandbox.password_hash,
                    )
                    SandboxUser.objects.create(
                        user=user, sandbox=sandbox, role=role, position=position
                    )
                    users.append(user)
            break
        except IntegrityError:  # the suffix (or a username) is taken: draw again
            continue
    else:
        raise Refused(503, 60)
    request.session[SESSION_KEY] = sandbox.pk
    events.record(
        "sandbox_started",
        request=request,
        user=users[0],
        sandbox=suffix,
        usernames=[u.get_username() for u in users],
        expires_at=sandbox.expires_at.isoformat(),
    )
    return sandbox


def current(request) -> Sandbox | None:
    """This visitor's live sandbox: the one their session started last, else the signed-in
    user's own. Never one named by the request."""
    live = Sandbox.objects.filter(expires_at__gt=_now())
    pk = request.session.get(SESSION_KEY)
    if pk is not None:
        found = live.filter(pk=pk).first()
        if found is not None:
            return found
    if request.user.is_authenticated:
        return live.filter(members__user_id=request.user.pk).first()
    return None


def sandbox_of(user) -> Sandbox | None:
    membership = SandboxUser.objects.filter(user_id=user.pk).select_related("sandbox").first()
    return membership.sandbox if membership else None


def reset(*, request, sandbox: Sandbox) -> int:
    """Restore the sandbox's users: its password back, active again, every session ended.

    Returns the number of sessions ended. If this request is signed in as one of them, it is
    signed out properly first (and keeps the sandbox in its new, anonymous session).
    """
    users = [m.user for m in sandbox.members.select_related("user")]
    if request.user.is_authenticated and request.user.pk in {u.pk for u in users}:
        services.sign_out(request=request)
        request.session[SESSION_KEY] = sandbox.pk
    ended = 0
    for user in users:
        user.password = sandbox.password_hash
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        ended += services.end_user_sessions(
            request=request, actor=None, user=user, via="demo_reset", sandbox=sandbox.suffix
        )
    return ended


def remove(sandbox: Sandbox) -> None:
    """End every session of the sandbox's users, then delete their events, them and it."""
    users = [m.user for m in sandbox.members.select_related("user")]
    for user in users:
        services.end_user_sessions(
            request=None, actor=None, user=user, via="sandbox_expired", sandbox=sandbox.suffix
        )
    uids = [u.pk for u in users]
    names = [u.get_username() for u in users]
    _forget_sign_in_history(names)
    with transaction.atomic():
        SecurityEvent.objects.filter(
            Q(user_id__in=uids) | Q(actor_id__in=uids) | Q(username__in=names)
        ).delete()
        get_user_model().objects.filter(pk__in=uids).delete()
        sandbox.delete()


def _forget_sign_in_history(usernames: list[str]) -> None:
    """Drop the sign-in throttle's per-account keys (known clients live 30 days): a later
    sandbox drawing the same suffix starts clean, and nothing of this one stays behind."""
    from accounts import throttle

    accounts = [throttle._account_id(name) for name in usernames]
    keys = [throttle.key(kind, a) for a in accounts for kind in ("known", "account")]
    with guarded():
        connection().delete(*keys)


def prune_expired(*, limit: int | None = None, now: datetime | None = None) -> int:
    """Remove sandboxes past their expiry (at most ``limit``); returns how many."""
    expired = Sandbox.objects.filter(expires_at__lte=now or _now()).order_by("expires_at")
    if limit is not None:
        expired = expired[:limit]
    count = 0
    for sandbox in list(expired):
        remove(sandbox)
        count += 1
    return count
