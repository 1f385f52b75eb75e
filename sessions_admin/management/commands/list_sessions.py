"""manage.py list_sessions <username>: a user's live sessions, newest activity first."""

from datetime import UTC, datetime

from sessions_admin import clock, registry
from sessions_admin.devices import describe_device
from sessions_admin.management.user_command import UserCommand
from sessions_admin.policy import is_elevated


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


class Command(UserCommand):
    help = "List a user's live sessions (from their index: no keyspace scan)."

    def handle_user(self, user, username):
        infos = registry.list_sessions(user.pk)
        if not infos:
            self.stdout.write(f"{username} has no live sessions.")
            return
        now = clock.now()
        plural = "s" if len(infos) != 1 else ""
        self.stdout.write(f"{len(infos)} live session{plural} of {username}:")
        for info in infos:
            meta = info.meta
            flags = " elevated" if is_elevated(meta, now) else ""
            self.stdout.write(
                f"  {info.handle}  {describe_device(meta.ua)}  {meta.ip or '-'}  "
                f"signed in {_stamp(meta.created_at)}  "
                f"last active {_stamp(meta.last_seen)}  expires {_stamp(info.expires_at)}{flags}"
            )
