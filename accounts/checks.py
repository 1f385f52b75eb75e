"""System checks of the accounts app (registered in AccountsConfig.ready).

Deployment rules are tagged ``deploy`` so ``manage.py check --deploy`` fails on them. They live
here, not in sessions_admin/checks.py, because sessions_admin must not import accounts.
"""

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError


@register(Tags.security, deploy=True)
def check_demo_users(app_configs, **kwargs):
    """Outside demo mode, a seeded demo user still active with the published password is an error.

    Only the few seeded usernames are checked, with the hasher's check alone (no re-hash is saved).
    """
    if settings.DEMO_MODE:
        return []  # demo mode is an error of its own (sessions_admin.E010)
    from accounts.management.commands.seed_demo import DEMO_PASSWORD, DEMO_USERS
    from accounts.models import User

    names = [name for name, _, _ in DEMO_USERS]
    try:
        users = list(User.objects.filter(username__in=names, is_active=True).order_by("username"))
    except DatabaseError:
        return [
            Warning(
                "Could not look for demo users with the published password (database error).",
                hint="Run migrate, then check --deploy again.",
                id="accounts.W001",
            )
        ]
    exposed = [u.get_username() for u in users if check_password(DEMO_PASSWORD, u.password)]
    if not exposed:
        return []
    return [
        Error(
            f"Demo user(s) {', '.join(exposed)} can sign in with the published demo password.",
            hint="DEMO_MODE is off, so this database is meant for real use: disable or delete "
            "these users, or give them new passwords.",
            id="accounts.E001",
        )
    ]
