"""The same app on Django's stock cache session backend (django-redis), without the policy layer.

Used as DJANGO_SETTINGS_MODULE by the throughput benchmark's second gunicorn.
"""

from bench.settings import *  # noqa: F403
from bench.settings import MIDDLEWARE, TEMPLATES

POLICY_MIDDLEWARE = "sessions_admin.middleware.SessionPolicyMiddleware"
SESSION_UI = "sessions_admin.context_processors.session_ui"

SESSION_ENGINE = "django.contrib.sessions.backends.cache"
MIDDLEWARE = [m for m in MIDDLEWARE if m != POLICY_MIDDLEWARE]
TEMPLATES = [
    {
        **TEMPLATES[0],
        "OPTIONS": {
            **TEMPLATES[0]["OPTIONS"],
            "context_processors": [
                p for p in TEMPLATES[0]["OPTIONS"]["context_processors"] if p != SESSION_UI
            ],
        },
    }
]
