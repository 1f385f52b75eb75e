"""The engine's settings (sessions_admin/conf.py): declared once, validated at start-up, read at
call time, documented from the declaration."""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from sessions_admin import conf
from sessions_admin.conf import SETTINGS, app_settings, limits, validate

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


@pytest.fixture
def configure(settings):
    """``configure(**values)``: SESSIONS_ADMIN is exactly the project's plus ``values``."""

    def apply(**values):
        settings.SESSIONS_ADMIN = {**django_settings.SESSIONS_ADMIN, **values}

    return apply


def test_the_projects_settings_are_valid(configure):
    configure()
    validate()
    assert conf.problems(django_settings.SESSIONS_ADMIN) == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"IDLE_TIMOUT": 60}, "'IDLE_TIMOUT'] is not a setting"),  # a typo is not a default
        ({"IDLE_TIMEOUT": -1}, "'IDLE_TIMEOUT'] is -1; it must be at least 1"),
        ({"IDLE_TIMEOUT": 0}, "'IDLE_TIMEOUT'] is 0; it must be at least 1"),
        ({"ELEVATION_TIMEOUT": 0}, "'ELEVATION_TIMEOUT'] is 0"),
        ({"ROTATION_GRACE": -5}, "'ROTATION_GRACE'] is -5; it must be at least 0"),
        ({"MAX_PER_USER": -1}, "'MAX_PER_USER'] is -1"),
        ({"IDLE_TIMEOUT": "900"}, "'IDLE_TIMEOUT'] is '900'; it must be int"),
        ({"IDLE_TIMEOUT": 900.0}, "'IDLE_TIMEOUT'] is 900.0; it must be int"),
        ({"MAX_PER_USER": True}, "'MAX_PER_USER'] is True; it must be int"),
        ({"STAFF_REQUIRE_SECOND_FACTOR": 1}, "SECOND_FACTOR'] is 1; it must be bool"),
        ({"STAFF_REQUIRE_SECOND_FACTOR": "0"}, "it must be bool"),
        ({"REDIS_KEY_PREFIX": None}, "'REDIS_KEY_PREFIX'] is None; it must be str"),
        ({"KEY_PEPPER": b"bytes"}, "it must be str or None"),
        ({"BIND_UA": "terminat"}, "it must be one of off, log, terminate"),
        ({"CONCURRENCY_POLICY": "evict-oldest"}, "one of evict_oldest, deny_new, prompt"),
    ],
)  # fmt: skip
def test_start_up_refuses_what_the_engine_does_not_understand(configure, values, message):
    configure(**values)
    with pytest.raises(ImproperlyConfigured) as refused:
        validate()
    assert message in str(refused.value)


def test_every_problem_is_named_at_once(configure):
    configure(IDLE_TIMEOUT=-1, BIND_IP="never", NO_SUCH_KEY=1)
    with pytest.raises(ImproperlyConfigured) as refused:
        validate()
    for name in ("IDLE_TIMEOUT", "BIND_IP", "NO_SUCH_KEY"):
        assert f"SESSIONS_ADMIN['{name}']" in str(refused.value)


def test_the_app_validates_when_it_becomes_ready(configure):
    configure(IDLE_TIMEOUT=-1)
    with pytest.raises(ImproperlyConfigured, match="IDLE_TIMEOUT"):
        apps.get_app_config("sessions_admin").ready()


def test_unset_keys_read_their_declared_default_at_call_time(settings):
    settings.SESSIONS_ADMIN = {}
    for setting in SETTINGS:
        assert getattr(app_settings, setting.name) == setting.default
    settings.SESSIONS_ADMIN = {"IDLE_TIMEOUT": 61}
    assert app_settings.IDLE_TIMEOUT == 61
    with pytest.raises(AttributeError):
        app_settings.IDLE_TIMOUT  # noqa: B018 - an undeclared name is an error, not None


def test_every_default_is_itself_valid():
    assert conf.problems({s.name: s.default for s in SETTINGS}) == []


def test_limits_follow_a_replaced_settings_dict(configure):
    configure(IDLE_TIMEOUT=300)
    assert limits() is limits()  # built once per dict
    assert limits().idle == 300
    configure(IDLE_TIMEOUT=200)
    assert limits().idle == 200


def test_the_settings_document_is_generated_from_the_declaration():
    """docs/settings.md is ``python -m sessions_admin.conf``'s output; regenerate it after editing
    conf.SETTINGS."""
    assert DOC.read_text() == conf.markdown()
    for setting in SETTINGS:
        assert f"| `{setting.name}` |" in DOC.read_text()
