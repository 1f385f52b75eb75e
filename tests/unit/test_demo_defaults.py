"""Demo mode's defaults let a trainer show the throttle window and the absolute timeout within a
few minutes; production keeps its own; a variable set explicitly wins either way. The settings
module is imported in a subprocess with exactly the environment given."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The engine's values as it reads them (app_settings: the project's value, else its default).
READ = (
    "import json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'project.settings'; "
    "import project.settings as s; from sessions_admin.conf import app_settings as a; "
    "print(json.dumps({"
    "'window': s.ACCOUNTS['LOGIN_FAILURE_WINDOW'], "
    "'absolute': a.ABSOLUTE_TIMEOUT, 'idle': a.IDLE_TIMEOUT, "
    "'sandboxes': s.DEMO['SANDBOXES'], 'ttl': s.DEMO['SANDBOX_TTL'], "
    "'max': s.DEMO['SANDBOX_MAX'], 'scope': a.CONSOLE_USER_SCOPE}))"
)


def settings_with(**env) -> dict:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    base.update({"SECRET_KEY": "x" * 60, **env})
    out = subprocess.run(
        [sys.executable, "-c", READ], cwd=ROOT, env=base, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_demo_mode_shortens_the_throttle_window_and_the_absolute_timeout():
    demo = settings_with(DEMO_MODE="1")
    assert demo["window"] == 120 and demo["absolute"] == 300
    assert demo["absolute"] > demo["idle"]  # the idle timeout still comes first when idle


def test_production_keeps_fifteen_minutes_and_eight_hours():
    production = settings_with()
    assert production["window"] == 900 and production["absolute"] == 28800


@pytest.mark.parametrize("demo_mode", ["0", "1"])
def test_an_explicit_value_wins(demo_mode):
    values = settings_with(
        DEMO_MODE=demo_mode,
        LOGIN_FAILURE_WINDOW="600",
        SESSION_ABSOLUTE_TIMEOUT="1800",
        DEMO_SANDBOX_TTL="3600",
        DEMO_SANDBOX_MAX="40",
        DEMO_SANDBOXES="1",
    )
    assert values["window"] == 600 and values["absolute"] == 1800
    assert values["ttl"] == 3600 and values["max"] == 40 and values["sandboxes"] is True


def test_sandbox_defaults():
    values = settings_with(DEMO_MODE="1")
    assert values["sandboxes"] is False  # the local `make demo` keeps the shared users
    assert values["ttl"] == 7200 and values["max"] == 500
    assert values["scope"] == "demo.scope.console_users"
