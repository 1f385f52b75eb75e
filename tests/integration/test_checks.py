"""`manage.py check --deploy` rejects unsafe values; plain `check` rejects nonsense."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

# check --deploy looks in the database for demo users (accounts/checks.py).
pytestmark = pytest.mark.django_db
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


def test_item18_cookie_without_host_prefix_fails_the_deploy_check(settings):
    settings.SESSION_COOKIE_NAME = "id"
    assert "sessions_admin.E025" in _deploy_errors(settings)


def test_item18_hsts_without_subdomains_fails_the_deploy_check(settings):
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    assert "sessions_admin.E040" in _deploy_errors(settings)


def _deploy_output(capsys) -> str:
    try:
        call_command("check", "--deploy", "--fail-level", "ERROR")
    except SystemCheckError as caught:
        return str(caught)
    return capsys.readouterr().err


def test_item18_demo_users_with_the_published_password_fail_the_deploy_check(
    settings, make_user, capsys
):
    from accounts.management.commands.seed_demo import DEMO_PASSWORD

    settings.DEMO_MODE = False
    make_user("alice", password="a different and private passphrase")
    make_user("bob", password=DEMO_PASSWORD, is_active=False)  # disabled: cannot sign in
    make_user("dave", password=DEMO_PASSWORD)  # not a seeded name
    assert "accounts.E001" not in _deploy_output(capsys)
    make_user("carol", password=DEMO_PASSWORD, staff=True)
    message = _deploy_output(capsys)
    assert "accounts.E001" in message and "carol" in message
    assert "alice" not in message and "bob" not in message and "dave" not in message


def test_item18_demo_users_are_expected_in_demo_mode(settings, make_user, capsys):
    from accounts.checks import check_demo_users
    from accounts.management.commands.seed_demo import DEMO_PASSWORD

    make_user("alice", password=DEMO_PASSWORD)
    settings.DEMO_MODE = True  # demo mode is itself sessions_admin.E010
    assert check_demo_users(None) == []
    settings.DEMO_MODE = False
    assert [e.id for e in check_demo_users(None)] == ["accounts.E001"]


def test_sane_settings_have_no_session_errors(settings, capsys):
    call_command("check", "--tag", "security")
    assert "sessions_admin.E" not in capsys.readouterr().err


def test_item16_event_names_have_their_migration():
    """EVENT_NAMES are the field's choices: a new name without its migration fails here."""
    call_command("makemigrations", "sessions_admin", "--check", "--dry-run", verbosity=0)
