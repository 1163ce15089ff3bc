"""The house rules that code review alone would let slip (#25): the import engine imports no domain app, so a new kind
of sheet is an app of its own and never an edit of the engine; no function in `primepre/` is longer than a screen."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "primepre"
ENGINE = ROOT / "imports"
DOMAIN_APPS = ("customers", "goods", "sms", "accounts", "web")
MAX_FUNCTION_LINES = 50


def _modules(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if "migrations" not in path.parts)


def _imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (a lazy import is still an import)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", _modules(ENGINE), ids=lambda path: str(path.relative_to(ROOT)))
def test_the_engine_imports_no_domain_app(path: Path) -> None:
    domain = sorted(
        name for name in _imported(path) if name.split(".")[:2] in [["primepre", app] for app in DOMAIN_APPS]
    )
    assert not domain, f"{path.relative_to(ROOT)} imports {domain}: ask the schema (imports/schema.py) instead"


def test_the_walk_sees_imports_where_they_hide(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from primepre.customers.marks import mark_key\n    import primepre.sms.services\n")
    assert {"primepre.customers.marks", "primepre.sms.services"} <= _imported(module)


def test_no_function_is_longer_than_a_screen() -> None:
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in _modules(ROOT)
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, long
