"""System checks on settings that make no sense together (no database, no Redis)."""

import pytest
from django.conf import settings as django_settings

from sessions_admin.checks import check_timeouts


@pytest.fixture
def configure(settings):
    def apply(**values):
        settings.SESSIONS_ADMIN = {**django_settings.SESSIONS_ADMIN, **values}
        return {e.id for e in check_timeouts(None)}

    return apply


def test_sane_settings_pass(configure):
    assert configure(IDLE_TIMEOUT=900, ABSOLUTE_TIMEOUT=28800, ACTIVITY_RESOLUTION=15) == set()


@pytest.mark.parametrize(
    ("values", "check"),
    [
        ({"IDLE_TIMEOUT": 0}, "sessions_admin.E001"),
        ({"IDLE_TIMEOUT": 30000, "ABSOLUTE_TIMEOUT": 28800}, "sessions_admin.E002"),
        ({"IDLE_TIMEOUT": 60, "IDLE_WARNING": 60, "ACTIVITY_RESOLUTION": 6}, "sessions_admin.E004"),
        ({"IDLE_TIMEOUT": 900, "ELEVATION_TIMEOUT": 1000}, "sessions_admin.W005"),
        ({"ROTATION_GRACE": 121}, "sessions_admin.W006"),
        ({"GUESS_LIMIT": 0}, "sessions_admin.E008"),
    ],
)  # fmt: skip
def test_nonsense_is_reported(configure, values, check):
    assert check in configure(**values)


# --- check --deploy: unsafe choices are errors, not warnings (item 18) ------------------------
def test_item18_session_cookie_without_host_prefix_is_an_error(settings):
    from sessions_admin.checks import check_deploy_cookies

    assert "sessions_admin.E025" not in {e.id for e in check_deploy_cookies(None)}
    settings.SESSION_COOKIE_NAME = "sessionid"
    errors = {e.id: e for e in check_deploy_cookies(None)}
    assert errors["sessions_admin.E025"].is_serious()


def test_item18_hsts_without_include_subdomains_is_an_error(settings):
    from sessions_admin.checks import check_deploy_hsts

    assert check_deploy_hsts(None) == []
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    [error] = check_deploy_hsts(None)
    assert error.id == "sessions_admin.E040" and error.is_serious()
