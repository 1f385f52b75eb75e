"""Record a security event: a database row for the activity page, a JSON line for the SIEM.

Sessions are named by ``crypto.event_hash`` of their digest: never the key, never the digest.
"""

import json
import logging
from datetime import UTC, datetime

from . import clock, crypto
from .models import EVENT_NAMES, SecurityEvent

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
