"""Read-only questions about sessions: the per-role limit and the indexes' sizes. No writes."""

from django.contrib.auth import get_user_model

from sessions_admin.conf import app_settings
from sessions_admin.policy import session_limit
from sessions_admin.redis_keys import connection, guarded, user_index_key


def max_sessions_for(user) -> int:
    """This account's live-session limit (``policy.session_limit`` decides)."""
    return session_limit(
        is_staff=user.is_staff,
        member_limit=app_settings.MAX_PER_USER,
        staff_limit=app_settings.MAX_PER_STAFF,
    )


def index_sizes(uids) -> dict[str, int]:
    """ZCARD of each user's index in one pipeline: O(len(uids)), never a keyspace scan.

    An index may still hold entries of sessions that expired since it was last listed (they are
    pruned lazily by listing and by ``manage.py prune_sessions``), so this is an upper bound on
    live sessions; ``registry.count_live`` is exact for one user.
    """
    uids = [str(u) for u in uids]
    if not uids:
        return {}
    with guarded():
        pipe = connection().pipeline(transaction=False)
        for uid in uids:
            pipe.zcard(user_index_key(uid))
        sizes = pipe.execute()
    return dict(zip(uids, sizes, strict=True))


def indexed_session_total(users=None, *, chunk: int = 1000) -> int:
    """Sessions in the indexes of ``users`` (a queryset; default every user): ZCARD per user,
    pipelined in chunks.

    O(users) work in O(users / chunk) round trips, and never O(keys): the console's overall
    count. It counts index entries, so expired-but-unpruned sessions are included until the
    next listing or ``prune_sessions`` run (see ``index_sizes``).
    """
    if users is None:
        users = get_user_model()._default_manager.all()
    total, batch = 0, []
    for uid in users.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=chunk):
        batch.append(uid)
        if len(batch) >= chunk:
            total += sum(index_sizes(batch).values())
            batch = []
    return total + sum(index_sizes(batch).values())
