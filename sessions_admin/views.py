"""Your sessions, and the JSON endpoints the timeout script talks to. Thin: services decide."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.http import require_GET, require_POST

from . import clock, registry, remember, services
from .conf import limits
from .devices import describe_device, device_kind
from .gates import recent_auth_required
from .middleware import passive
from .policy import (
    absolute_deadline,
    elevation_seconds_left,
    expires_at,
    idle_deadline,
    is_elevated,
)


def _status_payload(request) -> dict:
    session = request.session
    if not request.user.is_authenticated or session.meta is None:
        return {"authenticated": False, "login_url": resolve_url(settings.LOGIN_URL)}
    meta, lim, now = session.meta, limits(), clock.now()
    return {
        "authenticated": True,
        "server_now": now,
        "idle_deadline": idle_deadline(meta, lim),
        "absolute_deadline": absolute_deadline(meta, lim),
        "expires_at": expires_at(meta, lim),
        "elevated_seconds_left": elevation_seconds_left(meta, now),
    }


@require_GET
@passive
def status(request):
    """The session's deadlines. Never extends the session (the middleware skips the touch)."""
    payload = _status_payload(request)
    return JsonResponse(payload, status=200 if payload["authenticated"] else 401)


@require_POST
@passive
def keepalive(request):
    """Activity from the page, recorded here whatever the activity window (the user asked to
    stay); report the new deadlines. Passive, so the middleware does not write it twice."""
    if request.user.is_authenticated and request.session.meta is not None:
        now = clock.now()
        if request.session.meta.last_seen < now:
            request.session.meta = registry.touch(
                digest=request.session.digest, meta=request.session.meta, now=now
            )
    payload = _status_payload(request)
    return JsonResponse(payload, status=200 if payload["authenticated"] else 401)


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def relative_time(seconds: float) -> str:
    """'just now', '2 minutes', '3 hours', '2 days': the words around a span of time."""
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return "less than a minute"


class _Device:
    """A card's device icon, and its accessible name: 'Firefox 128 on Windows, 198.51.100.7'."""

    @property
    def icon(self) -> str:
        return f"img/device-{self.kind}.svg"

    @property
    def label(self) -> str:
        return f"{self.device}, {self.ip}" if self.ip else self.device


@dataclass(frozen=True)
class SessionCard(_Device):
    """What one card shows of a live session; built from registry.SessionInfo, never from Redis."""

    handle: str
    device: str
    kind: str
    ip: str
    signed_in_at: datetime
    last_active_at: datetime
    last_active_ago: str
    expires_at: datetime
    expires_in: str
    elevated: bool
    current: bool
    # which limit ends it first: "idle" (unless it is used before then) or "absolute"
    expires_by: str = "idle"
    expires_note: str = ""


def expiry_words(idle_at: float, absolute_at: float, now: float) -> tuple[str, str]:
    """Which limit comes first, in words: the idle limit (use moves it) or the absolute one."""
    if idle_at < absolute_at:
        later = relative_time(absolute_at - now)
        return "idle", f"Idle limit: unless used before then. Absolute limit in {later}."
    return "absolute", "Absolute limit: the longest a sign-in lasts, whatever the activity."


def session_cards(infos, *, current_digest: str | None) -> list[SessionCard]:
    now = clock.now()
    lim = limits()
    cards = []
    for info in infos:
        meta = info.meta
        idle_for = now - meta.last_seen
        by, note = expiry_words(idle_deadline(meta, lim), absolute_deadline(meta, lim), now)
        cards.append(
            SessionCard(
                handle=info.handle,
                device=describe_device(meta.ua),
                kind=device_kind(meta.ua),
                ip=meta.ip or "",
                signed_in_at=_when(meta.created_at),
                last_active_at=_when(meta.last_seen),
                last_active_ago=("just now" if idle_for < 60 else f"{relative_time(idle_for)} ago"),
                expires_at=_when(info.expires_at),
                expires_in=f"in {relative_time(info.expires_at - now)}",
                elevated=is_elevated(meta, now),
                current=current_digest is not None and info.digest == current_digest,
                expires_by=by,
                expires_note=note,
            )
        )
    return cards


@dataclass(frozen=True)
class DeviceCard(_Device):
    """What the page shows of a remembered device ('Keep me signed in'); never the token."""

    handle: str
    device: str
    kind: str
    ip: str
    created_at: datetime
    last_used_at: datetime | None
    last_used_ago: str
    expires_at: datetime
    expires_in: str
    current: bool


def device_cards(tokens, *, current_selector: str | None) -> list[DeviceCard]:
    now = clock.now()
    cards = []
    for token in tokens:
        used = token.last_used
        cards.append(
            DeviceCard(
                handle=token.handle,
                device=describe_device(token.ua),
                kind=device_kind(token.ua),
                ip=token.ip,
                created_at=_when(token.created_at),
                last_used_at=_when(used) if used else None,
                last_used_ago=(
                    ""
                    if used is None
                    else ("just now" if now - used < 60 else f"{relative_time(now - used)} ago")
                ),
                expires_at=_when(token.expires_at),
                expires_in=f"in {relative_time(token.expires_at - now)}",
                current=current_selector is not None and token.selector == current_selector,
            )
        )
    return cards


@login_required
@require_GET
def your_sessions(request):
    """Every live session of the signed-in user, newest activity first (the registry's order),
    then the devices that remember them ('Keep me signed in'), with their expiry."""
    cards = session_cards(
        registry.list_sessions(request.user.pk), current_digest=request.session.digest
    )
    pair = remember.presented(request)
    devices = device_cards(
        remember.list_tokens(request.user.pk), current_selector=pair[0] if pair else None
    )
    return render(
        request,
        "sessions_admin/your_sessions.html",
        {"cards": cards, "others": sum(1 for c in cards if not c.current), "devices": devices},
    )


@login_required
@require_POST
@recent_auth_required(action="forget a remembered device")
def forget_device(request, handle):
    """Forget one remembered device: its next visit asks for the password. Another user's
    handle is a 404 and forgets nothing."""
    token = remember.find(request.user.pk, handle)
    if token is None:
        raise Http404("No such device")
    remember.forget(token.selector, request.user.pk)
    pair = remember.presented(request)
    if pair and pair[0] == token.selector:
        remember.delete_cookie_later(request)
    messages.success(request, f"Forgot {describe_device(token.ua)}: it will ask for the password.")
    return redirect("sessions_admin:list")


@login_required
@require_POST
@recent_auth_required(action="forget all your remembered devices")
def forget_all_devices(request):
    count = remember.forget_all(request.user.pk, request=request)
    if count:
        messages.success(request, f"Forgot {count} device{'s' if count != 1 else ''}.")
    else:
        messages.info(request, "No device was remembered.")
    return redirect("sessions_admin:list")


@login_required
@require_POST
@recent_auth_required(action="end one of your other sessions")
def end_session(request, handle):
    """End one of your other sessions. Another user's handle is a 404 and ends nothing."""
    try:
        info = services.end_session(
            request=request, actor=request.user, user=request.user, handle=handle
        )
    except services.CurrentSessionError:
        messages.error(request, "This is the session you are using: sign out to end it.")
        return redirect("sessions_admin:list")
    if info is None:
        raise Http404("No such session")
    messages.success(request, f"Ended the session on {describe_device(info.meta.ua)}.")
    _recount(request)
    return redirect("sessions_admin:list")


def _recount(request) -> None:
    """The header's session count is kept in this session's metadata at its activity writes;
    after ending sessions from here, count again so the next page does not show the old number."""
    if request.session.digest:
        count = registry.recently_active_count(request.user.pk, now=clock.now())
        registry.set_fields(request.session.digest, sessions=count)


@login_required
@require_POST
@recent_auth_required(action="sign out all your other sessions")
def end_others(request):
    """Sign out everywhere else; this session stays."""
    count = services.end_other_sessions(request=request, actor=request.user, user=request.user)
    if count:
        messages.success(request, f"Signed out {count} other session{'s' if count != 1 else ''}.")
        _recount(request)
    else:
        messages.info(request, "There were no other sessions to sign out.")
    return redirect("sessions_admin:list")
