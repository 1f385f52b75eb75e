"""The benchmark environment: a private work dir, secrets, and a real Redis on loopback.

With REDIS_URL unset, a dedicated embedded redis-server (project.embedded_redis) is started and
stopped; with REDIS_URL set, every key goes under a unique prefix that is deleted afterwards.
The database is always a private SQLite file (sessions never live there, except for the stock
``db`` and django-user-sessions comparisons).
"""

import os
import shutil
import tempfile
import uuid
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


class BenchEnv:
    def __init__(self):
        (ROOT / "var").mkdir(exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / "var"))
        self.embedded = None
        self.shared_redis = bool(os.environ.get("REDIS_URL"))
        if self.shared_redis:
            self.redis_url = os.environ["REDIS_URL"]
            self.prefix = f"bench:{uuid.uuid4().hex[:10]}:"
        else:
            from project.embedded_redis import EmbeddedRedis

            self.embedded = EmbeddedRedis(self.workdir / "redis.sock").start()
            self.redis_url = self.embedded.url
            self.prefix = ""
        self.env = {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "SECRET_KEY": "bench-secret-" + uuid.uuid4().hex * 2,
            "SESSION_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SESSION_KEY_PEPPER": "bench-pepper-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
            "VAR_DIR": str(self.workdir),
            "STATIC_ROOT": str(self.workdir / "static"),
            "REDIS_URL": self.redis_url,
            "REDIS_KEY_PREFIX": self.prefix,
            "DATABASE_URL": f"sqlite:///{self.workdir / 'db.sqlite3'}",
            "DEMO_MODE": "0",
            "DEBUG": "0",
        }
        os.environ.update(self.env)

    def raw_redis(self):
        import redis

        return redis.Redis.from_url(self.redis_url)

    def close(self):
        if self.shared_redis:
            client = self.raw_redis()
            batch = []
            for key in client.scan_iter(match=f"{self.prefix}*", count=10_000):
                batch.append(key)
                if len(batch) >= 10_000:
                    client.unlink(*batch)
                    batch.clear()
            if batch:
                client.unlink(*batch)
            client.close()
        if self.embedded is not None:
            self.embedded.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
