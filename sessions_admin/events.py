"""Record a security event: a database row for the activity page, a JSON line for the SIEM.

Sessions are named by ``crypto.event_hash`` of their digest: never the key, never the digest.
"""

import json
import logging
from datetime import UTC, datetime

from redis.exceptions import RedisError

from . import clock, crypto
from .conf import app_settings
from .models import EVENT_NAMES, SecurityEvent
from .policy import client_key
from .redis_keys import StoreUnavailable, connection

logger = logging.getLogger("security")


def record(
    name: str,
    *,
    request=None,
    user=None,
    actor=None,
    digest: str | None = None,
    username: str = "",
    **detail,
) -> SecurityEvent:
    if name not in EVENT_NAMES:
        raise ValueError(f"unknown security event {name!r}")
    from .request_facts import facts_for

    facts = facts_for(request) if request is not None else None
    user = user if (user is not None and getattr(user, "pk", None)) else None
    actor = actor if (actor is not None and getattr(actor, "pk", None)) else None
    event = SecurityEvent.objects.create(
        name=name,
        user=user,
        actor=actor,
        username=username or (user.get_username() if user else ""),
        ip=facts.ip if facts else None,
        user_agent=(facts.ua if facts else "")[:512],
        session_hash=crypto.event_hash(digest) if digest else "",
        detail=detail,
        created_at=datetime.fromtimestamp(clock.now(), tz=UTC),
    )
    logger.info(
        json.dumps(
            {
                # The detail first: it can add fields, never overwrite the ones a SIEM keys on.
                **detail,
                "event": name,
                "time": event.created_at.isoformat(),
                "user": event.username or None,
                "user_id": user.pk if user else None,
                "actor": actor.get_username() if actor else None,
                "ip": event.ip,
                "user_agent": event.user_agent,
                "session": event.session_hash or None,
            },
            sort_keys=True,
            default=str,
        )
    )
    return event


def limit_key(name: str, ip: str | None, key_extra: str = "") -> str:
    return f"{app_settings.REDIS_KEY_PREFIX}event-limit:{name}:{key_extra}:{client_key(ip)}"


def record_limited(
    name: str, *, request, key_extra: str = "", per_seconds: int = 60, **detail
) -> SecurityEvent | None:
    """``record`` at most once per client IP (an IPv6 /64) + name + key_extra per window.

    For events any visitor can cause at will (a refused page, a CSP report): the log shows the
    attempt without letting one client fill the table. The window is one Redis ``SET NX EX``. If
    Redis fails, the event is recorded unthrottled: the caller's answer (a 403, a 404) never
    becomes a 500, and the log keeps the trace.
    """
    from .request_facts import facts_for

    key = limit_key(name, facts_for(request).ip, key_extra)
    try:
        first = connection().set(key, 1, nx=True, ex=max(1, int(per_seconds)))
    except (RedisError, StoreUnavailable):
        first = True
    if not first:
        return None
    return record(name, request=request, **detail)
