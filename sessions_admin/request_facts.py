"""The facts about a request that policy needs: the client's IP and user agent."""

from .conf import app_settings
from .policy import RequestFacts, client_ip


def facts_for(request) -> RequestFacts:
    cached = getattr(request, "_session_facts", None)
    if cached is not None:
        return cached
    meta = request.META
    facts = RequestFacts(
        ip=client_ip(
            meta.get("REMOTE_ADDR", ""),
            meta.get("HTTP_X_FORWARDED_FOR"),
            app_settings.TRUSTED_PROXY_COUNT,
        ),
        ua=meta.get("HTTP_USER_AGENT", "")[:512],
    )
    request._session_facts = facts
    return facts
