from django.conf import settings

from sessions_admin.conf import app_settings
from sessions_admin.policy import human_duration


def site(request):
    """The demo banner and the login page's self-reload need these on every page."""
    return {
        "demo_mode": settings.DEMO_MODE,
        "demo_idle": human_duration(app_settings.IDLE_TIMEOUT),
        "demo_absolute": human_duration(app_settings.ABSOLUTE_TIMEOUT),
        "login_timeout": settings.ACCOUNTS["LOGIN_TIMEOUT"],
    }
