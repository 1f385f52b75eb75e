"""manage.py end_all_sessions [--yes]: sign every user out everywhere (an incident switch).

Asks for confirmation on a terminal; without a terminal it refuses unless --yes is given, so a
script can never do it by accident.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from sessions_admin import services


class Command(BaseCommand):
    help = "End every signed-in session of every user. Asks first unless --yes."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, yes=False, **options):
        stdin = options.get("stdin") or sys.stdin
        if not yes:
            if not stdin.isatty():
                raise CommandError("Refusing to end every session without a terminal; pass --yes.")
            self.stdout.write("This signs every user out of every session. Type 'yes' to go on: ")
            self.stdout.flush()
            if stdin.readline().strip().lower() != "yes":
                raise CommandError("Nothing was ended.")
        count = services.end_everyones_sessions(via="command")
        self.stdout.write(f"Ended {count} session{'s' if count != 1 else ''}.")
