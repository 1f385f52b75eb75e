"""REDIS_SENTINELS in project/settings.py and project/embedded_redis.py, read as a deployment
would: the settings module run afresh under a patched environment."""

import os
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.embedded_redis import ensure_for_environment

SETTINGS = Path(__file__).resolve().parents[2] / "project" / "settings.py"


def _settings(monkeypatch, **env) -> dict:
    for name in ("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_SIGN_IN_REPLICAS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_sentinels_select_the_primary_they_name(monkeypatch):
    ns = _settings(
        monkeypatch,
        REDIS_SENTINELS="10.0.0.1:26379, sentinel-b:26380,[::1]:26381",
        REDIS_SENTINEL_MASTER="sessions",
        REDIS_SENTINEL_PASSWORD="pw",
    )
    cache = ns["CACHES"]["sessions"]
    assert cache["LOCATION"] == "redis://sessions/0"
    options = cache["OPTIONS"]
    assert options["SENTINELS"] == [("10.0.0.1", 26379), ("sentinel-b", 26380), ("::1", 26381)]
    assert options["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
    assert options["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
    assert options["SENTINEL_KWARGS"]["password"] == "pw"
    assert options["SENTINEL_KWARGS"]["socket_timeout"] == ns["REDIS_TIMEOUT"]
    assert options["SOCKET_TIMEOUT"] == ns["REDIS_TIMEOUT"]  # a dead primary is a quick 503
    assert ns["SESSIONS_ADMIN"]["SIGN_IN_REPLICAS"] == 1  # durable sign-ins by default in this mode


def test_without_sentinels_nothing_changes(monkeypatch):
    ns = _settings(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0")
    cache = ns["CACHES"]["sessions"]
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/0"
    assert "SENTINELS" not in cache["OPTIONS"] and "CLIENT_CLASS" not in cache["OPTIONS"]
    assert "SIGN_IN_REPLICAS" not in ns["SESSIONS_ADMIN"]  # the engine's default: 0


@pytest.mark.parametrize(
    "env",
    [
        {"REDIS_SENTINELS": "10.0.0.1:26379"},  # no REDIS_SENTINEL_MASTER
        {"REDIS_SENTINELS": "10.0.0.1", "REDIS_SENTINEL_MASTER": "sessions"},  # no port
    ],
)
def test_an_incomplete_sentinel_setting_stops_start_up(monkeypatch, env):
    with pytest.raises(ImproperlyConfigured):
        _settings(monkeypatch, **env)


def test_no_embedded_server_starts_with_sentinels(monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_SENTINELS", "127.0.0.1:26379")
    assert ensure_for_environment(tmp_path / "redis.sock") is None
    assert not (tmp_path / "redis.sock").exists()
    assert "REDIS_URL" not in os.environ
