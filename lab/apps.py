from django.apps import AppConfig


class LabConfig(AppConfig):
    name = "lab"
    verbose_name = "Workshop lab: attack the app, watch each control stop you"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401 - registers the deploy check
        from .detect import note_pre_login_key

        user_logged_in.connect(note_pre_login_key, dispatch_uid="lab.note_pre_login_key")
