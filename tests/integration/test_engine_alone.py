"""Issue 11: the engine is closed. It runs in a project with no ``accounts`` and no ``project``.

tests/minimal/ is that project (Django's auth.User, admin and LoginView); its scenario runs in a
subprocess, since one process has one settings module, against this run's real Redis.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_TESTS = 9


def test_the_engine_works_in_a_minimal_project_through_admin_and_login_view():
    env = {**os.environ, "REDIS_URL": settings.CACHES["sessions"]["LOCATION"]}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/minimal/scenario.py",
            "--ds=tests.minimal.settings",
            "--confcutdir=tests/minimal",
            "-q",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = result.stdout[-6000:] + result.stderr[-3000:]
    assert result.returncode == 0, report
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) == SCENARIO_TESTS, report
