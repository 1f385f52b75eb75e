"""What the lab records itself: the refusals the engine answers without an event of its own.

The engine already logs most refused attacks (``session_expired_idle``, ``binding_mismatch``,
``obsolete_session_reuse``, ``login_throttled``, ``session_id_guessing``, ``access_denied``).
Three it answers quietly, as it should in production; in lab mode this module records each as
an ``access_denied`` event with a lab reason, so the learner's exercise can be solved:

* ``session_replay`` (detail ``end_reason``): a request presented the key of a session that was
  signed out (``logout``) or ended from "Your sessions" (``ended_by_user``), and was refused.
  Read by ``LabMiddleware`` from ``request.session.lookup``/``meta`` *before* the engine's policy
  middleware acts on them (it is placed just outside it), recorded after the response.
* ``lab_fixation_refused``: the key a browser presented at sign-in (``note_pre_login_key``
  remembers it for 15 minutes when the sign-in renewed it) came back afterwards and was not
  signed in: the planted key gave the attacker nothing.
* ``lab_back_button``: the page script (static/js/lab.js) caught a private page restored from
  the back/forward cache after sign-out and said so (``views.beacon``).
"""

from django.conf import settings
from django.contrib.auth import get_user_model

from sessions_admin import events
from sessions_admin.conf import app_settings
from sessions_admin.redis_keys import connection, guarded
from sessions_admin.store import Lookup

from .state import enabled

PRE_LOGIN_TTL = 900
REPLAYED = ("logout", "ended_by_user")


def _pre_login_key(digest: str) -> str:
    return f"{app_settings.REDIS_KEY_PREFIX}lab:prelogin:{digest}"


def note_pre_login_key(sender, request, user, **kwargs) -> None:
    """user_logged_in: remember the key this sign-in left behind (if it renewed it)."""
    if not enabled() or request is None:
        return
    session = getattr(request, "session", None)
    presented = getattr(session, "presented_digest", None)
    if not presented or presented == getattr(session, "digest", None):
        return
    with guarded():
        connection().set(_pre_login_key(presented), str(user.pk), ex=PRE_LOGIN_TTL)


def _user(uid):
    if not uid:
        return None
    try:
        return get_user_model()._default_manager.filter(pk=uid).first()
    except (TypeError, ValueError):
        return None


class LabMiddleware:
    """Place it between AuthenticationMiddleware and SessionPolicyMiddleware (demo mode only).

    It loads nothing the policy middleware would not load anyway (the same cached load), and a
    request with a live key costs no extra round trip."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not enabled() or settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        session = request.session
        session._get_session()
        lookup, meta, digest = session.lookup, session.meta, session.presented_digest
        response = self.get_response(request)
        if digest and lookup in (Lookup.KNOWN_DEAD, Lookup.UNKNOWN):
            # A live key costs nothing more: only a dead, obsolete or unknown one is looked up.
            self._replay(request, lookup, meta, digest)
            self._fixation(request, digest)
        return response

    @staticmethod
    def _replay(request, lookup, meta, digest) -> None:
        if lookup != Lookup.KNOWN_DEAD or meta is None or not meta.uid:
            return
        if meta.end_reason not in REPLAYED:
            return
        user = request.user if request.user.is_authenticated else None
        if user is not None and str(user.pk) == str(meta.uid):
            return  # served (a control switched off): not refused
        events.record_limited(
            "access_denied",
            request=request,
            key_extra=f"replay:{digest}",
            user=_user(meta.uid),
            reason="session_replay",
            end_reason=meta.end_reason,
            path=request.path[:200],
        )

    @staticmethod
    def _fixation(request, digest) -> None:
        with guarded():
            uid = connection().get(_pre_login_key(digest))
        if uid is None:
            return
        uid = uid.decode()
        user = request.user
        if user.is_authenticated and str(user.pk) == uid:
            return  # the planted key is signed in: the control is off, the attack worked
        with guarded():
            connection().delete(_pre_login_key(digest))
        events.record(
            "access_denied",
            request=request,
            user=_user(uid),
            reason="lab_fixation_refused",
            path=request.path[:200],
        )
