"""manage.py end_sessions <username>: end every session of one user, at once."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sessions_admin import services


class Command(BaseCommand):
    help = "End every live session of one user (logged as session_ended_by_staff, via=command)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        count = services.end_user_sessions(request=None, actor=None, user=user, via="command")
        self.stdout.write(f"Ended {count} session{'s' if count != 1 else ''} of {username}.")
