""" "What just happened?": in demo mode, a short note next to an event a learner causes, with a
link to the lab exercise about it and to the control's row of docs/controls.md (served at
/lab/controls/, so a room without internet access can read it too).

A note is chosen by the page that shows the event: the sign-in page by the end reason it
already shows (idle, evicted, binding), sudo mode by a one-shot mark in the session
(``mark``), read once by ``lab.context_processors.lab``. With DEMO_MODE off none of this runs:
the context processor is not installed and ``/lab/`` is a 404.
"""

from dataclasses import dataclass

from django.urls import reverse

SESSION_KEY = "_lab_note"


@dataclass(frozen=True)
class Note:
    key: str
    title: str
    text: str
    exercise: str  # the lab exercise's slug
    control: str  # the anchor of the control's row in docs/controls.md
    control_name: str

    @property
    def exercise_url(self) -> str:
        return f"{reverse('lab:page')}#ex-{self.exercise}"

    @property
    def control_url(self) -> str:
        return f"{reverse('lab:controls')}#{self.control}"


NOTES = {
    "idle": Note(
        "idle",
        "Signed out for inactivity",
        "The server, not this page, ended the session: nothing had used it for longer than the "
        "idle timeout, so the next request presenting its key was refused, even from a tab that "
        "was closed or a copied cookie. A stolen key is worth little once its owner walks away.",
        "idle-timeout",
        "control-idle-timeout",
        "Idle timeout, enforced server-side",
    ),
    "rotated": Note(
        "rotated",
        "Your session key was renewed",
        "Entering sudo mode gave this browser a new session key and retired the old one. A key "
        "copied before you proved your password again is worth nothing now, and using it after a "
        "short grace period signs out every session of the account (the rotation tripwire).",
        "rotation-tripwire",
        "control-rotation-elevation",
        "Rotation on elevation",
    ),
    "evicted": Note(
        "evicted",
        "Signed out by a newer sign-in",
        "Your account may have only so many live sessions. Signing in on another device ended "
        "this one (the oldest, or the one chosen at the prompt), and this sign-in page tells you "
        "so: an attacker's sign-in with a stolen password does not go unnoticed.",
        "remote-end",
        "control-concurrency",
        "Concurrent sessions",
    ),
    "binding": Note(
        "binding",
        "Signed out: another browser used this session",
        "The session was bound to the browser that signed in. A request with its key but another "
        "user agent is what a stolen cookie looks like, so the server ended the session instead "
        "of serving the thief.",
        "ua-binding",
        "control-binding",
        "User-agent and IP binding",
    ),
}


def for_reason(reason: str | None) -> Note | None:
    """The note for an end reason the sign-in page shows, if there is one."""
    return NOTES.get(reason or "")


def mark(request, key: str) -> None:
    """Show the note ``key`` on the next page this session renders (demo mode only)."""
    from .state import enabled

    if enabled() and key in NOTES:
        request.session[SESSION_KEY] = key


def take(request) -> Note | None:
    """The note marked for this session, once."""
    session = getattr(request, "session", None)
    if session is None or SESSION_KEY not in session:
        return None
    return NOTES.get(session.pop(SESSION_KEY, ""))
