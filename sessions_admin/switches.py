"""Control switches: one documented hook that lets a *teaching* project turn a control off.

``SESSIONS_ADMIN["CONTROL_SWITCH"]`` names a function ``(request, control: str) -> bool`` that
says whether a control is on for this request. Unset (the default, and the only value a
production deployment may have: ``checks.py`` is not involved, the project's deploy check
refuses it), every control is always on and nothing here does anything.

The engine consults it in exactly three places, each a one-line call of a helper below:

* ``ROTATE_AT_SIGN_IN`` in ``signals.record_sign_in`` (``sign_in_rotation``): off, the
  session keeps the key it had before sign-in (session fixation becomes possible).
* ``SERVER_SIDE_LOGOUT`` in ``services.sign_out`` (``sign_out``): off, sign-out only forgets
  the cookie in the browser; the session stays live in Redis (a copied cookie replays).
* ``SERVER_IDLE_TIMEOUT`` in ``middleware.SessionPolicyMiddleware`` (``idle_timeout``): off,
  the session is marked ``idle_client_only`` in its metadata and the pure policy leaves the
  idle timeout to the page's countdown (``policy.evaluate``, ``policy.expires_at``, and so the
  store's load and the payload's TTL, which follow it): a copied key outlives a closed tab
  until the absolute timeout. Back on, the mark goes at the session's next request (and the
  lab clears it at once on its users' live sessions).

Without a configured switch (production) none of the three does anything: the middleware does
not even ask (``configured()`` first).

The engine never imports the project that provides the function (it is a dotted path, read
with ``import_string``), and a function that raises fails closed: the control stays on.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

ROTATE_AT_SIGN_IN = "rotate_at_sign_in"
SERVER_SIDE_LOGOUT = "server_side_logout"
SERVER_IDLE_TIMEOUT = "server_idle_timeout"
CONTROLS = (ROTATE_AT_SIGN_IN, SERVER_SIDE_LOGOUT, SERVER_IDLE_TIMEOUT)

logger = logging.getLogger("security")


def configured() -> str | None:
    """The dotted path of the switch function, or None (every control always on)."""
    return getattr(settings, "SESSIONS_ADMIN", {}).get("CONTROL_SWITCH") or None


def control_on(request, name: str) -> bool:
    """Is this control on for this request? Always True without a configured switch."""
    path = configured()
    if path is None or request is None:
        return True
    try:
        return bool(import_string(path)(request, name))
    except Exception:  # a broken switch must never turn a control off
        logger.exception("CONTROL_SWITCH %s failed; %s stays on", path, name)
        return True


# --- The places -------------------------------------------------------------------------------
def sign_in_rotation(request) -> None:
    """Called by ``signals.record_sign_in`` after its save. With ROTATE_AT_SIGN_IN off, the
    rotation ``login()`` made is moved back: the signed-in session lives under the key the
    browser presented before sign-in, as an app without rotation would have it."""
    if control_on(request, ROTATE_AT_SIGN_IN):
        return
    from . import clock, crypto, registry

    session = request.session
    old_raw = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    old_h = session.presented_digest
    if not old_raw or old_h is None or old_h == session.digest or session.meta is None:
        return
    if crypto.key_digest(old_raw) != old_h:
        return
    registry.forget_tombstone(digest=old_h, uid=None)
    plaintext = session._dump(session._session)
    token = crypto.encrypt(plaintext, digest=old_h)
    done = registry.rotate(
        old_digest=session.digest, new_digest=old_h, token=token, meta=session.meta, now=clock.now()
    )
    if done == 1:
        session._session_key = old_raw
        session._stored = (old_raw, plaintext)
        session.modified = True


def sign_out(request, logout) -> None:
    """Called by ``services.sign_out`` in place of ``logout(request)``. With SERVER_SIDE_LOGOUT
    off, the browser forgets its cookie and the user, and the session stays live in Redis."""
    if control_on(request, SERVER_SIDE_LOGOUT):
        logout(request)
        return
    from django.contrib.auth.models import AnonymousUser

    request.session = request.session.__class__()
    request.user = AnonymousUser()


def idle_timeout(request, session) -> bool:
    """Called by the policy middleware for a live, signed-in session: mark or unmark it
    ``idle_client_only`` as SERVER_IDLE_TIMEOUT says (``policy.idle_client_only_change``).
    Returns True when the mark changed (the caller renews the TTLs, which follow it)."""
    if configured() is None:
        return False
    from dataclasses import replace

    from . import registry
    from .policy import idle_client_only_change

    change = idle_client_only_change(
        session.meta, server_enforces_idle=control_on(request, SERVER_IDLE_TIMEOUT)
    )
    if change is None:
        return False
    registry.set_fields(session.digest, idle_client_only=1 if change else None)
    session.meta = replace(session.meta, idle_client_only=1 if change else None)
    return True
