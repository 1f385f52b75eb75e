from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User

DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - the documented demo password
DEMO_USERS = (
    ("alice", "Alice", False),
    ("bob", "Bob", False),
    ("carol", "Carol", True),
)


class Command(BaseCommand):
    help = "(Re)create the demo users alice, bob (members) and carol (staff). Demo mode only."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="seed even outside demo mode")

    def handle(self, *args, force=False, **options):
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
            self.stdout.write(f"{'created' if created else 'reset'} {username}")
