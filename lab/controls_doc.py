"""docs/controls.md as a page of the demo site (/lab/controls/, demo mode only), so that a
"What just happened?" note can link to a control's row wherever the demo runs, a room without
internet access included. Only what that file uses is read: ``#``/``##`` headings, paragraphs
and pipe tables, with `code` spans and ``<a id="...">`` anchors at the start of a row.
"""

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

ANCHOR = re.compile(r'^<a id="([a-z0-9-]+)"></a>')
CODE = re.compile(r"`([^`]+)`")


def inline(text: str) -> SafeString:
    """Escaped text with `code` spans as <code>."""
    parts = CODE.split(text)
    html = "".join(
        f"<code>{escape(part)}</code>" if i % 2 else escape(part) for i, part in enumerate(parts)
    )
    return mark_safe(html)  # noqa: S308 - every part is escaped above


@dataclass
class Section:
    title: str
    paragraphs: list = field(default_factory=list)
    header: list = field(default_factory=list)
    rows: list = field(default_factory=list)  # (anchor id or "", [cells])


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse(text: str) -> tuple[str, list[Section]]:
    title, sections = "", []
    current = Section("")
    for line in text.splitlines():
        if line.startswith("# "):
            title = line[2:].strip()
        elif line.startswith("## "):
            current = Section(line[3:].strip())
            sections.append(current)
        elif line.startswith("|"):
            cells = _cells(line)
            if all(set(c) <= set("-: ") for c in cells):
                continue
            if not current.header:
                current.header = [inline(c) for c in cells]
                continue
            match = ANCHOR.match(cells[0])
            anchor = match.group(1) if match else ""
            if match:
                cells[0] = cells[0][match.end() :]
            current.rows.append((anchor, [inline(c) for c in cells]))
        elif line.strip():
            if not sections:
                sections.append(current)
            current.paragraphs.append(inline(line.strip()))
    return title, sections


@cache
def load() -> tuple[str, list[Section]] | None:
    path = Path(settings.BASE_DIR) / "docs" / "controls.md"
    try:
        return parse(path.read_text(encoding="utf-8"))
    except OSError:
        return None
