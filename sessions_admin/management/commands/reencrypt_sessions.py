"""manage.py reencrypt_sessions: re-encrypt every session payload under the first key.

Key rotation, as in crypto.py: put the new key first in SESSION_ENCRYPTION_KEYS (the old one
after it), deploy, run this, then drop the old key. Each payload is rewritten only if it is
still the token that was read (a compare-and-set script, so a concurrent save is never lost) and
keeps its TTL. A payload no configured key can read ends that session.

This is the one place that scans the keyspace (SCAN, in batches): an operator's command, never
a request.
"""

import re

from django.core.management.base import BaseCommand

from sessions_admin import crypto, registry
from sessions_admin.conf import app_settings
from sessions_admin.redis_keys import connection, guarded

# Rewrite the payload only if nobody saved it since we read it; keep its TTL.
_SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'XX', 'KEEPTTL')
  return 1
end
return 0
"""
# One server: sess:{h}:data; Cluster: sess:{f}:h:data, whose digest is f-h (redis_keys).
DATA_KEY = re.compile(r"sess:\{(?:([0-9a-f]{16})\}:|)([0-9a-f]{64})\}?:data$")


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def _digest(match) -> str:
    family, h = match.groups()
    return f"{family}-{h}" if family else h


class Command(BaseCommand):
    help = "Re-encrypt every session payload under the first SESSION_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500, help="SCAN COUNT hint")

    def handle(self, *args, batch: int = 500, **options):
        pattern = f"{_glob_escape(app_settings.REDIS_KEY_PREFIX)}sess:*:data"
        counts = {"re-encrypted": 0, "ended (unreadable)": 0, "skipped (changed or gone)": 0}
        with guarded():
            conn = connection()
            swap = conn.register_script(_SWAP)
            for name in conn.scan_iter(match=pattern, count=batch):
                match = DATA_KEY.search(name.decode())
                token = conn.get(name)
                if match is None or token is None:
                    continue
                try:
                    fresh = crypto.reencrypt(token, digest=_digest(match))
                except crypto.PayloadUnreadable:
                    registry.end_session(digest=_digest(match), reason="expired")
                    counts["ended (unreadable)"] += 1
                    continue
                if swap(keys=[name], args=[token, fresh]):
                    counts["re-encrypted"] += 1
                else:
                    counts["skipped (changed or gone)"] += 1
        self.stdout.write("; ".join(f"{n} {what}" for what, n in counts.items()) + ".")
        return None
