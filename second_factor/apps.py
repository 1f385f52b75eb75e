from django.apps import AppConfig


class SecondFactorConfig(AppConfig):
    name = "second_factor"
    verbose_name = "Second factor"
    default_auto_field = "django.db.models.BigAutoField"
