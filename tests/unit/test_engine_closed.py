"""Issue 11: nothing under sessions_admin/ reaches back into this project's ``accounts`` or
``project``: no import, no dotted path or URL name in a string, no ``{% url 'accounts:...' %}``
in the engine's templates. The engine can be copied into another project as it is
(tests/integration/test_engine_alone.py runs it in one)."""

import ast
import re
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "sessions_admin"
OUTSIDE = ("accounts", "project")
NAMED = re.compile(rf"({'|'.join(OUTSIDE)})[.:][\w.:]+")
TEMPLATE_URL = re.compile(rf"""{{%\s*url\s+['"]({"|".join(OUTSIDE)}):""")


def references(source: str) -> list[str]:
    """Imports of, and dotted paths or URL names into, ``accounts`` or ``project``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in OUTSIDE]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in OUTSIDE:
                found.append(node.module)
        elif isinstance(node, ast.Constant) and NAMED.fullmatch(str(node.value)):
            found.append(node.value)
    return found


def test_the_walk_finds_what_it_looks_for():
    source = (
        "import project.settings\n"
        "from accounts.reauth import elevation_required\n"
        "from . import gates\n"
        "reverse('accounts:login')\n"
        "import_module('project.views')\n"
        "'''A docstring may name accounts.reauth in prose.'''\n"
    )
    assert references(source) == [
        "project.settings",
        "accounts.reauth",
        "accounts:login",
        "project.views",
    ]


def test_no_engine_module_imports_accounts_or_project():
    offenders = {
        str(path.relative_to(ENGINE.parent)): found
        for path in sorted(ENGINE.rglob("*.py"))
        if (found := references(path.read_text()))
    }
    assert offenders == {}


def test_no_engine_template_names_an_accounts_or_project_url():
    templates = sorted((ENGINE / "templates").rglob("*.html"))
    assert templates, "the engine ships its own templates"
    offenders = [
        str(t.relative_to(ENGINE.parent)) for t in templates if TEMPLATE_URL.search(t.read_text())
    ]
    assert offenders == []
