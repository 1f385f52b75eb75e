"""manage.py prune_sessions: drop expired entries from every user's index.

Payloads expire by TTL on their own; a user's index only forgets a session when it is listed.
This walks the users (O(users + sessions), no keyspace scan) so the console's count stays close.
"""

from django.core.management.base import BaseCommand

from sessions_admin import services


class Command(BaseCommand):
    help = "Prune dead entries from every user's session index."

    def handle(self, *args, **options):
        pruned, live = services.prune_all_indexes()
        self.stdout.write(
            f"Pruned {pruned} dead entr{'y' if pruned == 1 else 'ies'}; {live} live "
            f"session{'s' if live != 1 else ''} remain."
        )
