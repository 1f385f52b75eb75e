from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User

DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - the documented demo password
DEMO_USERS = (
    ("alice", "Alice", False),
    ("bob", "Bob", False),
    ("carol", "Carol", True),
)
# carol signs in with an authenticator app too (a new key each seeding; the home page shows it
# in demo mode), so a workshop can see that her password alone is not enough.
DEMO_TOTP_USER = "carol"


class Command(BaseCommand):
    help = (
        "(Re)create the demo users alice, bob (members) and carol (staff, with an authenticator "
        "app). Demo mode only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="seed even outside demo mode")
        parser.add_argument(
            "--no-second-factor",
            action="store_true",
            help="leave carol without an authenticator app (the browser tests' default)",
        )

    def handle(self, *args, force=False, no_second_factor=False, **options):
        from second_factor import factors
        from second_factor.models import Passkey, RecoveryCode, TotpDevice

        if not (settings.DEMO_MODE or force):
            raise CommandError("seed_demo runs in demo mode only (DEMO_MODE=1), or with --force.")
        for username, first_name, staff in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            user.first_name = first_name
            user.email = f"{username}@example.com"
            user.is_staff = staff
            user.is_active = True
            user.set_password(DEMO_PASSWORD)
            user.save()
            # Factors are part of what seeding resets: none, but carol's authenticator app.
            Passkey.objects.filter(user=user).delete()
            RecoveryCode.objects.filter(user=user).delete()
            TotpDevice.objects.filter(user=user).delete()
            if username == DEMO_TOTP_USER and not no_second_factor:
                factors.start_totp(user)
                TotpDevice.objects.filter(user=user).update(confirmed=True)
            self.stdout.write(f"{'created' if created else 'reset'} {username}")
