"""manage.py end_sessions <username>: end every session of one user, at once."""

from sessions_admin import services
from sessions_admin.management.user_command import UserCommand


class Command(UserCommand):
    help = "End every live session of one user (logged as session_ended_by_staff, via=command)."

    def handle_user(self, user, username):
        count = services.end_user_sessions(request=None, actor=None, user=user, via="command")
        self.stdout.write(f"Ended {count} session{'s' if count != 1 else ''} of {username}.")
