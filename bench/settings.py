"""Settings for the benchmarks: the project's own settings, plus what the comparisons need.

The environment (secrets, REDIS_URL, VAR_DIR, REDIS_KEY_PREFIX) is prepared by bench.env before
this module is imported, in the bench process and in the gunicorn processes it starts.
"""

import os

from project.settings import *  # noqa: F403
from project.settings import CACHES, INSTALLED_APPS

# Django's cache backend keeps its keys under the same per-run prefix as the project's own keys,
# so a shared REDIS_URL is cleaned up by prefix after the run.
CACHES["sessions"]["KEY_PREFIX"] = os.environ.get("REDIS_KEY_PREFIX", "")

try:  # django-user-sessions comes from the optional `bench` extra
    import user_sessions  # noqa: F401
except ImportError:
    HAS_USER_SESSIONS = False
else:
    HAS_USER_SESSIONS = True
    INSTALLED_APPS = [*INSTALLED_APPS, "user_sessions"]

# One JSON line per security event would drown the table: keep the events, drop the console.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"null": {"class": "logging.NullHandler"}},
    "loggers": {
        "security": {"handlers": ["null"], "level": "INFO", "propagate": False},
    },
}
