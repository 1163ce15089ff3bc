"""The house rules that code review alone would let slip (#25): the import engine imports no domain app, so a new kind
of sheet is an app of its own and never an edit of the engine; no function in `primepre/` is longer than a screen."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "primepre"
ENGINE = ROOT / "imports"
DOMAIN_APPS = ("customers", "goods", "sms", "accounts", "web")
SCHEMA_WORDS = re.compile(r"\b(customers?|goods)\b", re.IGNORECASE)
# Where the engine may still say a schema's name, and why: each is a name kept for those who used it first.
NAMED_ON_PURPOSE = {
    ("schema.py", "customers"),  # DEFAULT_SCHEMA: a request that names no kind of sheet means the first one
    ("models.py", "customers"),  # ImportJob.schema's default, the same
    ("readers.py", "customers"),  # ROW_KEYS: a JSON body's rows under the first frontend's key
    ("readers.py", 'JSON must be an array of row objects, or {"rows": [...]} (or "customers").'),
    ("management/commands/import_customers.py", "customers"),  # the CLI's first name, now `import_sheet`'s alias
    ("management/commands/import_customers.py", "Import customers from an .xlsx/.xls/.ods/.csv/.json file"),
    ("management/commands/import_sheet.py", "Import a sheet (--schema customers, goods, …) from an"),
}
ENGINE_TEMPLATES = ROOT / "imports" / "templates"
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


def _said(path: Path) -> list[str]:
    """The strings a module says that are not docstrings: messages, labels, defaults."""
    tree = ast.parse(path.read_text(), str(path))
    documented = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in documented
    ]


def test_the_engine_names_no_schema_outside_the_exceptions() -> None:
    named = [
        (str(path.relative_to(ENGINE)), text[:80])
        for path in _modules(ENGINE)
        for text in _said(path)
        if SCHEMA_WORDS.search(text)
    ]
    unexpected = [
        item for item in named if not any(item[0] == f and item[1].startswith(t[:80]) for f, t in NAMED_ON_PURPOSE)
    ]
    assert not unexpected, unexpected


def test_the_engine_s_templates_name_no_schema() -> None:
    named = []
    for path in sorted(ENGINE_TEMPLATES.rglob("*.html")):
        text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", "", path.read_text(), flags=re.DOTALL)
        named += [f"{path.name}: {line.strip()[:80]}" for line in text.splitlines() if SCHEMA_WORDS.search(line)]
    assert not named, named
