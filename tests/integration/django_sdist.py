"""Django's own ``SessionTestsMixin``, from the sdist of the installed Django version.

The mixin (``tests/sessions_tests/tests.py``) ships in Django's source distribution, not in the
wheel. It is fetched once with pip (``pip download --no-binary :all: --no-deps
django==<installed>``), cached under ``var/django-sdist/`` (``$VAR_DIR`` if set), and only its
``tests/sessions_tests/`` directory is extracted. Nothing of Django's test code is copied into
this repository, and nothing of it is edited.

``make test`` fetches it before pytest starts (``python -m tests.integration.django_sdist``);
the test module fetches it too, so a plain ``pytest`` works. Without network access the fetch
fails with ``Unavailable``, and the test module turns that into a failing test, not a skip.

One shim, documented here: ``sessions_tests/tests.py`` imports, at module level,
``from .models import SessionStore as CustomDatabaseSession``. ``sessions_tests/models.py``
declares a database model (``CustomSession``) of Django's own test app, which is not installed
here, so importing it raises. Only ``CustomDatabaseSessionTests`` (Django's db backend with a
custom model) uses that name; the mixin does not. A stand-in module takes its place in
``sys.modules`` before the import. Everything else the module imports is Django itself.
"""

import importlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("VAR_DIR", ROOT / "var")) / "django-sdist"
PACKAGE = "sessions_tests"


class Unavailable(RuntimeError):
    """The sdist could not be fetched or read."""


def tests_dir(version: str = django.__version__) -> Path:
    """The sdist's ``tests/`` directory holding ``sessions_tests/``, fetched once."""
    target = CACHE / f"django-{version}"
    if (target / "tests" / PACKAGE / "tests.py").is_file():
        return target / "tests"
    CACHE.mkdir(parents=True, exist_ok=True)
    archive = _download(version)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        try:
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                top = members[0].name.split("/")[0]
                wanted = f"{top}/tests/{PACKAGE}/"
                chosen = [m for m in members if m.name.startswith(wanted)]
                if not any(m.name == f"{wanted}tests.py" for m in chosen):
                    raise Unavailable(f"{archive} holds no tests/{PACKAGE}/tests.py")
                tar.extractall(tmp, members=chosen, filter="data")
        except (tarfile.TarError, OSError, IndexError) as exc:
            archive.unlink(missing_ok=True)  # a truncated download is fetched again next time
            raise Unavailable(f"cannot read {archive}: {exc}") from exc
        try:
            os.replace(Path(tmp) / top, target)
        except OSError:
            if not (target / "tests" / PACKAGE / "tests.py").is_file():  # not a concurrent run
                raise
    return target / "tests"


def _download(version: str) -> Path:
    archive = CACHE / f"django-{version}.tar.gz"
    if archive.is_file():
        return archive
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-binary",
            ":all:",
            "--no-deps",
            f"django=={version}",
            "-d",
            tmp,
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            done = None
            error = str(exc)
        if done is not None and done.returncode == 0:
            found = sorted(Path(tmp).glob("*.tar.gz"))
            if found:
                shutil.move(found[0], archive)
                return archive
            error = "pip saved no .tar.gz"
        elif done is not None:
            error = (done.stderr or done.stdout).strip()[-2000:]
    raise Unavailable(
        f"Django's own session tests (SessionTestsMixin) come from the Django {version} sdist, "
        f"which could not be fetched from the package index into {CACHE}:\n{error}\n"
        f"Run `{' '.join(command[:-2])}` with network access, or put the sdist at {archive}."
    )


def session_tests_mixin() -> type:
    """``SessionTestsMixin`` from the installed Django version's own test suite."""
    tests = tests_dir()
    if str(tests) not in sys.path:
        sys.path.insert(0, str(tests))
    stub = types.ModuleType(f"{PACKAGE}.models")
    stub.__doc__ = "Stand-in for Django's test-app models (see tests/integration/django_sdist.py)."
    stub.SessionStore = None  # CustomDatabaseSessionTests.backend: never run here
    sys.modules.setdefault(f"{PACKAGE}.models", stub)
    module = importlib.import_module(f"{PACKAGE}.tests")
    if not Path(module.__file__).resolve().is_relative_to(tests.resolve()):
        raise Unavailable(f"{PACKAGE}.tests was imported from {module.__file__}, not {tests}")
    return module.SessionTestsMixin


if __name__ == "__main__":
    try:
        print(tests_dir() / PACKAGE)
    except Unavailable as exc:
        sys.exit(str(exc))
