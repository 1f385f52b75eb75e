"""manage.py prune_sandboxes: remove expired private sandboxes (their sessions, events, users)."""

from django.core.management.base import BaseCommand

from demo import sandboxes


class Command(BaseCommand):
    help = "Remove private demo sandboxes past DEMO_SANDBOX_TTL: sessions, events and users."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="remove every sandbox, now"
        )

    def handle(self, *args, everything=False, **options):
        if everything:
            doomed = list(sandboxes.Sandbox.objects.all())
            for sandbox in doomed:
                sandboxes.remove(sandbox)
            removed = len(doomed)
        else:
            removed = sandboxes.prune_expired()
        self.stdout.write(f"Removed {removed} sandbox{'es' if removed != 1 else ''}.")
