"""The README's Operations commands, run as the README shows them, in a subprocess each.

The demo block runs with nothing but what its lines set (plus ``VAR_DIR``, so the test uses its
own embedded Redis and SQLite instead of a running ``make demo``'s). The production block runs
after sourcing an environment file the test writes, in place of the README's example path.
Each command must exit 0 and do what its comment says.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from project.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PYTHON = ROOT / ".venv" / "bin" / "python"
ENV_FILE_IN_README = "/etc/secure-sessions.env"
# Variables the test run itself set (tests/settings.py) or that would point elsewhere.
OWN = (
    "SECRET_KEY",
    "SESSION_",
    "DEMO_",
    "REDIS_",
    "DATABASE_URL",
    "ALLOWED_HOSTS",
    "VAR_DIR",
    "DJANGO_",  # DJANGO_SETTINGS_MODULE, and the e2e suite's DJANGO_ALLOW_ASYNC_UNSAFE
    "PYTEST",
    "LOGIN_",
    "ELEVATION_",
    "TRUSTED_PROXY",
    "SECURE_",
)

pytestmark = pytest.mark.skipif(not PYTHON.exists(), reason="the README's commands use .venv/")


def operations_blocks() -> list[list[str]]:
    text = README.read_text()
    section = text[text.index("## Operations") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [
        [line.split("  #")[0].strip() for line in b.splitlines() if line.strip()] for b in blocks
    ]


def clean_env(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN)}
    env["VAR_DIR"] = str(var_dir)
    return env


def run(line: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S602 - the README's own command line, as a shell reads it
        line, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def sign_in_alice(password: str, *, create: bool) -> str:
    """A manage.py shell script giving alice one live session (creating her first if asked)."""
    script = "from django.test import Client\n"
    if create:
        script += (
            "from accounts.models import User\n"
            "u = User(username='alice')\n"
            f"u.set_password('{password}')\n"
            "u.save()\n"
        )
    script += (
        "c = Client(HTTP_HOST='localhost')\n"
        "c.get('/accounts/login/')\n"
        f"r = c.post('/accounts/login/', {{'username': 'alice', 'password': '{password}'}})\n"
        "assert r.status_code == 302, r.status_code\n"
    )
    return script


@pytest.fixture
def workdir():
    (ROOT / "var").mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="ops-", dir=ROOT / "var"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_readme_shows_a_demo_and_a_production_block():
    demo, production = operations_blocks()
    assert demo and all(line.startswith("DEMO_MODE=1 .venv/bin/python manage.py ") for line in demo)
    assert production[0] == f"set -a; . {ENV_FILE_IN_README}; set +a"
    assert all(line.startswith(".venv/bin/python manage.py ") for line in production[1:])
    commands = {line.split("manage.py ")[1].split()[0] for line in demo + production[1:]}
    assert commands >= {
        "check",
        "list_sessions",
        "end_sessions",
        "end_all_sessions",
        "prune_sessions",
        "reencrypt_sessions",
        "prune_sandboxes",
    }


def test_every_demo_command_works_as_shown(workdir):
    demo, _ = operations_blocks()
    env = clean_env(workdir)
    redis = EmbeddedRedis(workdir / "redis.sock").start()  # a running `make demo`'s, in effect
    try:
        sign_in = sign_in_alice("correct horse battery staple", create=False)
        for setup in ("migrate --noinput -v0", "seed_demo", f'shell -c "{sign_in}"'):
            done = run(f"DEMO_MODE=1 .venv/bin/python manage.py {setup}", env)
            assert done.returncode == 0, (setup, done.stderr[-2000:])
        outputs = {}
        for line in demo:
            done = run(line, env)
            assert done.returncode == 0, (line, done.stderr[-2000:])
            outputs[line.split("manage.py ")[1].split()[0]] = done.stdout
    finally:
        redis.stop()
    assert "1 live session of alice" in outputs["list_sessions"]
    assert "Ended 1 session" in outputs["end_sessions"]
    assert "Ended 0 sessions" in outputs["end_all_sessions"]
    assert "Removed 0 sandboxes" in outputs["prune_sandboxes"]


def test_every_production_command_works_after_loading_the_environment(workdir):
    _, production = operations_blocks()
    env = clean_env(workdir)
    redis = EmbeddedRedis(workdir / "prod-redis.sock").start()
    env_file = workdir / "secure-sessions.env"
    env_file.write_text(
        f"SECRET_KEY={Fernet.generate_key().decode()}{Fernet.generate_key().decode()}\n"
        f"SESSION_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
        f"SESSION_KEY_PEPPER={Fernet.generate_key().decode()}\n"
        f"REDIS_URL={redis.url}\n"
        f"DATABASE_URL=sqlite:///{workdir / 'prod.sqlite3'}\n"
        "ALLOWED_HOSTS=sessions.example.com,localhost\n"
    )
    load = production[0].replace(ENV_FILE_IN_README, str(env_file))
    try:
        setup = ".venv/bin/python manage.py"
        sign_in = sign_in_alice("a production passphrase 42", create=True)
        for step in ("migrate --noinput -v0", f'shell -c "{sign_in}"'):
            done = run(f"{load}; {setup} {step}", env)
            assert done.returncode == 0, (step, done.stderr[-2000:])
        outputs = {}
        for line in production[1:]:
            done = run(f"{load}; {line}", env)
            assert done.returncode == 0, (line, done.stdout[-2000:], done.stderr[:3000])
            outputs[line.split("manage.py ")[1].split()[0]] = done.stdout
    finally:
        redis.stop()
    assert "1 live session of alice" in outputs["list_sessions"]
    assert "Ended 1 session" in outputs["end_sessions"]


def test_without_the_environment_a_command_says_what_is_missing(workdir):
    done = run(".venv/bin/python manage.py list_sessions alice", clean_env(workdir))
    assert done.returncode != 0
    assert "SECRET_KEY is not set" in done.stderr
