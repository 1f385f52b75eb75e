from django.apps import AppConfig


class SessionsAdminConfig(AppConfig):
    name = "sessions_admin"
    verbose_name = "Sessions"

    def ready(self):
        from . import checks  # noqa: F401 - registers the system checks
        from .conf import validate

        validate()
