#!/usr/bin/env python
import os
import sys
from pathlib import Path

COMMANDS_WITHOUT_REDIS = {
    "migrate",
    "makemigrations",
    "collectstatic",
    "check",
    "seed_demo",
    "shell",
    "createsuperuser",
    "showmigrations",
    "help",
    "test",
}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    if command not in COMMANDS_WITHOUT_REDIS:
        from project.embedded_redis import ensure_for_environment

        var_dir = Path(os.environ.get("VAR_DIR", Path(__file__).resolve().parent / "var"))
        ensure_for_environment(var_dir / "redis.sock")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
