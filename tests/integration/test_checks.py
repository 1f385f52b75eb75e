"""`manage.py check --deploy` rejects unsafe values; plain `check` rejects nonsense."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

DEMO = "demo-only-insecure-abc"


def _deploy_errors(settings, **values):
    settings.SESSIONS_ADMIN = {**settings.SESSIONS_ADMIN, **values}
    with pytest.raises(SystemCheckError) as caught:
        call_command("check", "--deploy", "--fail-level", "ERROR")
    return str(caught.value)


def test_demo_secrets_fail_the_deploy_check(settings):
    assert "SESSION_KEY_PEPPER is a demo value" in _deploy_errors(settings, KEY_PEPPER=DEMO * 3)
    message = _deploy_errors(settings, ENCRYPTION_KEYS=DEMO)
    assert "SESSION_ENCRYPTION_KEYS is a demo value" in message


def test_demo_mode_fails_the_deploy_check(settings):
    settings.DEMO_MODE = True
    assert "sessions_admin.E010" in _deploy_errors(settings)


def test_idle_longer_than_absolute_is_an_error(settings):
    message = _deploy_errors(settings, IDLE_TIMEOUT=3600, ABSOLUTE_TIMEOUT=600)
    assert "sessions_admin.E002" in message


def test_insecure_cookie_fails_the_deploy_check(settings):
    settings.SESSION_COOKIE_SECURE = False
    assert "sessions_admin.E020" in _deploy_errors(settings)


def test_binding_off_for_both_fails_the_deploy_check(settings):
    assert "sessions_admin.E030" in _deploy_errors(settings, BIND_UA="off", BIND_IP="off")


def test_sane_settings_have_no_session_errors(settings, capsys):
    call_command("check", "--tag", "security")
    assert "sessions_admin.E" not in capsys.readouterr().err
