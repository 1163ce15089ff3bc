"""Templates name their links by URL name (`{% url %}`), never by a path typed in: a moved route then breaks loudly in
the tests, not silently in a browser."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A link, form target, script, or data attribute that starts with "/": a path typed into the template.
TYPED_PATH = re.compile(r"""\b(?:href|src|action|data-[a-z-]+)=["']/""", re.IGNORECASE)


def test_no_template_types_a_path() -> None:
    templates = sorted((ROOT / "primepre").glob("*/templates/**/*.html"))
    assert templates
    typed = {
        str(template.relative_to(ROOT)): TYPED_PATH.findall(template.read_text())
        for template in templates
        if TYPED_PATH.search(template.read_text())
    }
    assert typed == {}


def test_each_app_owns_its_pages_templates() -> None:
    """web/ is the shell: the customers', imports' and SMS pages' templates live in their apps."""
    shell = {path.name for path in (ROOT / "primepre" / "web" / "templates" / "web").glob("*.html")}
    assert shell == {"_pagination.html", "base.html", "dashboard.html", "forbidden.html", "lockout.html", "login.html",
                     "upload_too_large.html"}  # fmt: skip


def test_every_scroll_box_can_be_reached_by_keyboard() -> None:
    """axe's `scrollable-region-focusable` (serious): a table wider than the screen scrolls in a box that a keyboard
    user must be able to focus, and a screen reader must be able to name."""
    boxes = [
        (template.relative_to(ROOT), tag)
        for template in (ROOT / "primepre").rglob("*.html")
        for tag in re.findall(r'<div class="scroll"[^>]*>', template.read_text())
    ]
    assert boxes
    unreachable = [(path, tag) for path, tag in boxes if 'tabindex="0"' not in tag or "aria-label=" not in tag]
    assert unreachable == []
