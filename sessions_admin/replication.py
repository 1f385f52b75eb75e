"""Durable sign-in: a sign-in is acknowledged only once a replica holds it (Redis ``WAIT``).

Redis replicates asynchronously. Without a wait, a primary that dies a millisecond after
answering a sign-in may take it along: Sentinel promotes a replica that never saw it, and the
user, just told they are signed in, is asked to sign in again (or, worse, holds a cookie for a
session the new primary has never heard of). So the save that signs a user in (the session's
script and its index entry, ``store.SessionStore.save``) ends its pipeline with ``WAIT
<replicas> <timeout>``.

Why there, and only there: ``WAIT`` counts the replicas that have acknowledged *this connection's*
last write. Queued in the same pipeline, it is on the same connection right after the sign-in's
final write; and since replication is one ordered stream, a replica that has that write also has
every earlier one (the key rotation, the admission), whichever pooled connection sent them.

Fewer replicas than asked within the timeout: the sign-in **fails closed**. The session just
written is ended (reason ``not_replicated``, so it holds no slot of the user's concurrency
limit) and the request is answered with the 503 page, which sets no cookie: the user is not
told they are signed in, and tries again. Accepting with a logged warning would be the other
choice; it would acknowledge exactly the sign-ins that a failover in that moment loses.

Settings, in ``SESSIONS_ADMIN``: ``SIGN_IN_REPLICAS`` (0, the single server's default: no wait)
and ``SIGN_IN_WAIT_MS`` (default 500; kept below the connection's socket timeout, so a slow
replica is a refused sign-in, not a dropped connection). This project sets them from
``REDIS_SIGN_IN_REPLICAS`` (default 1 with ``REDIS_SENTINELS``, else 0) and
``REDIS_SIGN_IN_WAIT_MS`` (project/settings.py maps them). The cost, measured, is in
docs/deployment.md ("Sentinel").
"""

import contextlib
import logging

from django.conf import settings

from . import registry
from .conf import app_settings
from .policy import sign_in_is_durable
from .redis_keys import StoreUnavailable

logger = logging.getLogger("sessions_admin.replication")
END_REASON = "not_replicated"


def sign_in_replicas() -> tuple[int, int]:
    """(replicas a sign-in waits for, milliseconds it waits); (0, 0) means no wait.

    The timeout is never 0 (``WAIT n 0`` blocks for ever) and stays a tenth of a second under
    the connection's socket timeout.
    """
    replicas = app_settings.SIGN_IN_REPLICAS
    if replicas <= 0:
        return 0, 0
    wait_ms = app_settings.SIGN_IN_WAIT_MS
    options = settings.CACHES.get("sessions", {}).get("OPTIONS", {})
    socket_timeout = options.get("SOCKET_TIMEOUT")
    if socket_timeout:
        wait_ms = min(wait_ms, int(socket_timeout * 1000) - 100)
    return replicas, max(wait_ms, 1)


def queue_wait(pipe, replicas: int, wait_ms: int) -> None:
    """Queue ``WAIT`` after the sign-in's writes, on the same pipeline (the same connection)."""
    pipe.execute_command("WAIT", replicas, wait_ms)


def require(acknowledged, *, replicas: int, wait_ms: int, digest: str, uid: str) -> None:
    """Fail the sign-in closed unless ``acknowledged`` (WAIT's reply) reaches ``replicas``."""
    if sign_in_is_durable(int(acknowledged), replicas):
        return
    logger.warning(
        "Sign-in refused: %s of %s replicas acknowledged it within %s ms.",
        acknowledged,
        replicas,
        wait_ms,
    )
    # If the primary is going too, the session it holds was never acknowledged anyway.
    with contextlib.suppress(StoreUnavailable):
        registry.end_session(digest=digest, reason=END_REASON, uid=uid)
    raise StoreUnavailable(f"sign-in not replicated: {acknowledged} of {replicas} replicas")
