"""The engine's signal receivers, connected in ``apps.SessionsAdminConfig.ready()``.

* ``record_sign_in`` (``user_logged_in``): whoever called Django's ``login()`` (this project's
  sign-in, ``django.contrib.admin``, ``LoginView``, allauth, a test helper), the session gets a
  new key and the facts the policy checks: who, since when, from which client, and the sealed
  ``auth_at`` that makes it recently authenticated (left empty for a remembered sign-in, which
  typed no password: ``remember.REMEMBERED_SIGN_IN`` on the request).
* ``note_store_failure`` (``got_request_exception``): a Redis failure raised outside a view
  (in a middleware, or in SessionMiddleware's save) is marked on the request, so that
  ``middleware.StoreOutageMiddleware`` answers the 503 page instead of the 500 Django made.
"""

import sys

from django.conf import settings
from django.middleware.csrf import CSRF_SESSION_KEY

from . import clock, events, switches
from .policy import PASSWORD, AuthStep, session_start
from .remember import REMEMBERED_SIGN_IN
from .request_facts import facts_for


def record_sign_in(sender, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if not hasattr(session, "set_privileges"):
        return  # another session engine: nothing of ours to record
    from .services import _save_now

    if session.digest is not None and session.digest == session.presented_digest:
        # login() keeps the key when the same user signs in again over a live session; every
        # password entry rotates it (issue 10, item 7).
        session.cycle_key()
    if settings.CSRF_USE_SESSIONS and "CSRF_COOKIE" in request.META:
        # login() rotated the CSRF token; CsrfViewMiddleware would store it after the view, a
        # second write. Stored with this save instead.
        session[CSRF_SESSION_KEY] = request.META["CSRF_COOKIE"]
    now = clock.now()
    facts = facts_for(request)
    # A remembered sign-in (remember.RememberMeMiddleware) typed no password: a new session,
    # but not a recent authentication (sudo mode and ending sessions still ask).
    remembered = getattr(request, REMEMBERED_SIGN_IN, False)
    session.set_privileges(auth_at=None if remembered else now, elevated_until=None)
    if not getattr(request, "session_factors_sealed", False):
        # Another login() path (admin, LoginView...): a password at most, whatever an earlier
        # sign-in of this browser proved; a remembered sign-in proved nothing.
        session.set_privileges(factors=None if remembered else PASSWORD, factor_at=None)
    session.set_meta(
        uid=str(user.pk),
        created_at=session_start(AuthStep.SIGN_IN, session.meta, now),
        last_seen=now,
        ip=facts.ip,
        ua=facts.ua,
        notice=None,
    )
    # Saved now: the save claims the slot admission reserved (services.sign_in reads the
    # outcome right after login()), and the event names the session that exists. With
    # SIGN_IN_REPLICAS set, that save waits for replicas and, short of them, raises
    # StoreUnavailable (the 503 page, no cookie, no login event): replication.py.
    _save_now(request)
    switches.sign_in_rotation(request)  # a lab's "without this control" (switches.py)
    event = "remembered_sign_in" if remembered else "login"
    events.record(event, request=request, user=user, digest=session.digest)


def note_store_failure(sender, request=None, **kwargs) -> None:
    from .middleware import STORE_DOWN, is_store_failure

    if request is not None and is_store_failure(sys.exc_info()[1]):
        setattr(request, STORE_DOWN, True)
