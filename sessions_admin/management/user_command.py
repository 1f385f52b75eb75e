"""The base of the commands that act on one user named by username (list_sessions, end_sessions)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class UserCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model()._default_manager.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        self.handle_user(user, username)

    def handle_user(self, user, username: str) -> None:
        raise NotImplementedError
