"""Enforce the session policy on every request: gather facts, ask policy.py, act on the verdict.

Runs after Django's SessionMiddleware and AuthenticationMiddleware. The session is loaded once
(one Redis round trip, one script); activity is written at most once per ACTIVITY_RESOLUTION.
"""

from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render, resolve_url
from django.template.loader import render_to_string
from django.utils.http import urlencode
from redis.exceptions import RedisError

from . import clock, events, registry, switches
from .conf import app_settings, limits
from .policy import Verdict, client_key, evaluate, obsolete_key_may_serve, over_guess_limit
from .redis_keys import StoreUnavailable, connection, guarded, guess_key
from .request_facts import facts_for
from .store import Lookup

SIGNED_OUT_REASON = "_signed_out_reason"
# The window starts at the first unknown key (Redis 6.2 has no EXPIRE ... NX).
_COUNT_GUESS = """
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SCARD', KEYS[1])
"""
EXPIRY_EVENTS = {
    Verdict.IDLE_EXPIRED: ("session_expired_idle", "idle"),
    Verdict.ABSOLUTE_EXPIRED: ("session_expired_absolute", "absolute"),
    Verdict.BINDING_MISMATCH: ("binding_mismatch", "binding"),
    Verdict.APP_IDLE_EXPIRED: ("session_expired_idle", "expired"),
    Verdict.APP_DEADLINE_EXPIRED: ("session_expired_absolute", "expired"),
}


def wants_json(request) -> bool:
    # META, not request.headers: every request asks, and headers would copy all of META.
    return "application/json" in request.META.get("HTTP_ACCEPT", "")


def passive(view):
    """A view whose requests never count as activity here (the status endpoint, the health
    check; the keepalive, which records activity itself). Read by the middleware's
    ``process_view`` before the view runs."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.session_passive = True
        return view(request, *args, **kwargs)

    wrapped.session_passive = True
    return wrapped


# --- A store outage anywhere is a 503 that keeps the cookie ------------------------------------
STORE_DOWN = "_session_store_down"
RETRY_AFTER = 5


def is_store_failure(exc) -> bool:
    return isinstance(exc, StoreUnavailable | RedisError)


def store_unavailable():
    """The 503 page (``sessions_admin/503.html``, which a project may override), Retry-After.

    Rendered without the request: the page itself never touches the session or its cookie.
    """
    response = HttpResponse(render_to_string("sessions_admin/503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


class StoreOutageMiddleware:
    """Place it just before Django's SessionMiddleware (outside it).

    The store raises (never swallows) when Redis fails: while a session loads, in any middleware
    or view, or while SessionMiddleware saves. Raised in a view, ``process_exception`` answers
    the 503. Raised anywhere else, Django has already turned it into a 500 response on the way
    out (each middleware is wrapped), so ``signals.note_store_failure`` marks the request and
    this middleware, outside SessionMiddleware, swaps that response for the 503: no Set-Cookie
    (SessionMiddleware never saves or deletes on a 5xx, and a session that failed to load is not
    empty), so the user is still signed in once Redis answers again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        setattr(request, STORE_DOWN, False)
        response = self.get_response(request)
        if getattr(request, STORE_DOWN, False):
            return store_unavailable()
        return response

    def process_exception(self, request, exception):
        if is_store_failure(exception):
            return store_unavailable()
        return None


class SessionPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.session_passive = False
        request.session_notice = None
        request.session_touch_due = False
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        session = request.session
        session._get_session()
        facts = facts_for(request)
        if session.lookup == Lookup.UNKNOWN:
            if session.unreadable:
                events.record_limited(
                    "session_payload_rejected", request=request, digest=session.presented_digest
                )
            refused = self._count_guess(request, facts.ip, session.presented_digest)
            return refused or self.get_response(request)

        meta = session.meta
        if meta is None:  # an empty cookie value: nothing to judge, nothing to count
            return self.get_response(request)
        decision = evaluate(meta, facts, limits(), clock.now())
        verdict = decision.verdict

        if verdict is Verdict.OK:
            if decision.binding_changes:
                self._log_binding_change(request, session, decision.binding_changes)
            request.session_touch_due = decision.touch
            if meta.uid and switches.idle_timeout(request, session):
                request.session_touch_due = True  # the TTLs follow the new idle rule now
            if request.method == "GET" and not wants_json(request):
                self._take_notice(request, session)
            return self.get_response(request)
        if verdict is Verdict.GRACE:
            if not obsolete_key_may_serve(request.method):
                return self._stale_key_response(request)
            response = self.get_response(request)
            # Read-only: nothing is saved, and no cookie is handed to an obsolete key.
            session.modified = False
            return response
        if verdict is Verdict.TRIPWIRE:
            return self._tripwire(request, session)
        if verdict in EXPIRY_EVENTS:
            event, reason = EXPIRY_EVENTS[verdict]
            registry.end_session(digest=session.presented_digest, reason=reason, uid=meta.uid)
            if meta.uid:
                events.record(
                    event,
                    request=request,
                    user=_user(meta.uid),
                    digest=session.presented_digest,
                    changes=list(decision.binding_changes) or None,
                )
            return self._signed_out(request, session, reason if meta.uid else None)
        return self._signed_out(request, session, meta.end_reason if meta.uid else None)

    def process_view(self, request, view_func, view_args, view_kwargs):
        """Record activity (once per ACTIVITY_RESOLUTION) before the view, so the page renders
        the deadline and the session count the server now holds; a passive view never does."""
        if not getattr(request, "session_touch_due", False):
            return None
        request.session_touch_due = False
        session = request.session
        if getattr(view_func, "session_passive", False) or not self._unrotated(session):
            return None
        # session.meta moves too: SessionMiddleware's save takes its TTL from it.
        session.meta = registry.touch(digest=session.digest, meta=session.meta, now=clock.now())
        return None

    # --- actions ---------------------------------------------------------------------------
    def _count_guess(self, request, ip: str, digest: str | None):
        """Count distinct unknown keys per client: a stale tab reloading is one key, not many."""
        key = guess_key(client_key(ip))
        with guarded():
            count = connection().eval(
                _COUNT_GUESS, 1, key, digest or "malformed", app_settings.GUESS_WINDOW
            )
        limit = app_settings.GUESS_LIMIT
        if not over_guess_limit(count, limit):
            return None
        if count == limit + 1:
            events.record("session_id_guessing", request=request, count=count)
        request.session_passive = True
        if wants_json(request):
            response = JsonResponse({"error": "too_many_unknown_sessions"}, status=429)
        else:
            response = render(request, "sessions_admin/too_many.html", status=429)
        response["Retry-After"] = str(app_settings.GUESS_WINDOW)
        return response

    def _tripwire(self, request, session):
        """PHP's obsolete-key rule, once: every session of the user ends, and the tombstone is
        deleted, so a later replay of the same key is an unknown key (a guess), not a kill
        switch that ends the user's sessions again and again (docs/threat-model.md)."""
        uid = session.meta.uid
        registry.forget_tombstone(digest=session.presented_digest, uid=uid)
        if uid:
            ended = registry.end_many(
                [i.digest for i in registry.list_sessions(uid)], reason="tripwire", uid=uid
            )
            events.record(
                "obsolete_session_reuse",
                request=request,
                user=_user(uid),
                digest=session.presented_digest,
                sessions_ended=ended,
            )
        return self._signed_out(request, session, "tripwire" if uid else None)

    def _signed_out(self, request, session, reason: str | None):
        """Continue as a fresh anonymous session; a signed-in one is sent to sign in, told why."""
        session.clear()
        session._session_key = None
        session.meta = None
        session.read_only = False
        session.lookup = Lookup.NONE
        if hasattr(request, "user"):
            from django.contrib.auth.models import AnonymousUser

            request.user = AnonymousUser()
        if reason is None:
            return self.get_response(request)
        login_url = resolve_url(settings.LOGIN_URL)
        if wants_json(request):
            # The cookie is left alone: the next navigation presents the ended key again and
            # is told why (a page's keepalive racing a click must not consume the reason).
            session.hold_cookie()
            return JsonResponse(
                {"authenticated": False, "reason": reason, "login_url": login_url}, status=401
            )
        session[SIGNED_OUT_REASON] = reason
        if request.path == login_url:
            return self.get_response(request)
        target = login_url
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return HttpResponseRedirect(target)

    def _stale_key_response(self, request):
        request.session_passive = True
        if wants_json(request):
            return JsonResponse({"error": "stale_session_key"}, status=409)
        # Rendered without the request: an obsolete key is read-only, and the page needs
        # nothing of the session (a project may override sessions_admin/409.html).
        return HttpResponse(render_to_string("sessions_admin/409.html"), status=409)

    def _log_binding_change(self, request, session, changes):
        facts = facts_for(request)
        events.record(
            "binding_mismatch",
            request=request,
            user=_user(session.meta.uid),
            digest=session.digest,
            changes=list(changes),
            action="logged",
        )
        registry.set_fields(session.digest, ip=facts.ip, ua=facts.ua)

    def _take_notice(self, request, session):
        request.session_notice = session.meta.notice
        if session.meta.notice:
            registry.set_fields(session.digest, notice=None)

    @staticmethod
    def _unrotated(session) -> bool:
        return session.lookup == Lookup.LIVE and session.digest == session.presented_digest


def _user(uid):
    from django.contrib.auth import get_user_model

    try:
        return get_user_model().objects.filter(pk=uid).first()
    except (ValueError, TypeError, ValidationError):  # a uid that is no primary key at all
        return None
