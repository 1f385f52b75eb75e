from django.apps import AppConfig


class SessionsAdminConfig(AppConfig):
    name = "sessions_admin"
    verbose_name = "Sessions"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in
        from django.core.signals import got_request_exception

        from . import checks  # noqa: F401 - registers the system checks
        from .conf import validate
        from .signals import note_store_failure, record_sign_in

        validate()
        user_logged_in.connect(record_sign_in, dispatch_uid="sessions_admin.record_sign_in")
        got_request_exception.connect(
            note_store_failure, dispatch_uid="sessions_admin.note_store_failure"
        )
