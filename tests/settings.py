"""Test environment defaults, then the project's one settings module, unchanged.

Explicit environment variables still win. With REDIS_URL unset, a real embedded redis-server is
started for the test run (never a fake). Tests isolate themselves by key prefix (conftest.py).
"""

import os
from pathlib import Path

from project.embedded_redis import ensure_for_environment

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghij")
os.environ.setdefault("SESSION_ENCRYPTION_KEYS", "kP3lX0mRj7yq4xJXb0iIr0n3S2fVx8mJ5sC6Wl1dF9k=")
os.environ.setdefault("SESSION_KEY_PEPPER", "test-pepper-0123456789abcdefghijklmnopqrstuv")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
# Staff in most tests use the console with the password alone; the production default is on,
# and tests/integration/test_second_factor.py turns it on where it tests it.
os.environ.setdefault("STAFF_REQUIRE_SECOND_FACTOR", "0")
_var = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent.parent / "var"))
# One server per test run: a concurrent run finishing must not stop this one's Redis.
ensure_for_environment(_var / f"redis-test-{os.getpid()}.sock")

from project.settings import *  # noqa: E402, F403
