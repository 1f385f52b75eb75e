"""A minimal Django project around the session engine alone (issue 11: "closed").

Django's own ``auth.User``, ``django.contrib.admin`` and ``django.contrib.auth.views.LoginView``;
no ``accounts`` app and nothing from ``project``. What a project must provide to use the engine
is all here: the "sessions" cache, ``SESSION_ENGINE``, the two middlewares, the context
processor (optional) and the ``SESSIONS_ADMIN`` secrets.

One process has one settings module: ``tests/integration/test_engine_alone.py`` runs
``tests/minimal/scenario.py`` under this module in a subprocess, with ``REDIS_URL`` pointing at
the test run's real Redis.
"""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

SECRET_KEY = "minimal-project-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "sessions_admin",
]

MIDDLEWARE = [
    "sessions_admin.middleware.StoreOutageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "sessions_admin.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.minimal.urls"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/sessions/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HERE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sessions_admin.context_processors.session_ui",
            ]
        },
    }
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# Fast hashing: this project tests the session engine, not password storage.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_URL = "/static/"

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": os.environ["REDIS_URL"]},
}
# A Redis Cluster (tests/resilience/test_cluster.py): REDIS_URL names one node.
REDIS_CLUSTER = os.environ.get("REDIS_CLUSTER") == "1"
REDIS_URL = os.environ["REDIS_URL"]
SESSION_ENGINE = "sessions_admin.store"

SESSIONS_ADMIN = {
    "ENCRYPTION_KEYS": "kP3lX0mRj7yq4xJXb0iIr0n3S2fVx8mJ5sC6Wl1dF9k=",
    "KEY_PEPPER": "minimal-test-pepper-0123456789abcdefghijklmnopq",
    "REDIS_KEY_PREFIX": f"test:minimal:{os.getpid()}:",
    "MAX_PER_USER": 10,
}
