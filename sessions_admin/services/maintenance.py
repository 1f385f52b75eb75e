"""Housekeeping for operators (``manage.py prune_sessions``): no session changes state here."""

from django.contrib.auth import get_user_model

from sessions_admin import registry

from .selectors import index_sizes


def prune_all_indexes() -> tuple[int, int]:
    """Drop dead entries from every user's index; returns (entries pruned, live sessions)."""
    pruned = live = 0
    for uid in get_user_model().objects.order_by("pk").values_list("pk", flat=True).iterator():
        before = index_sizes([uid])[str(uid)]
        if not before:
            continue
        remaining = registry.prune_index(uid)
        pruned += before - remaining
        live += remaining
    return pruned, live
