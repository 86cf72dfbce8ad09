"""Imports flow one way: bot → handlers, workers → services → storage, platforms, content.
Handlers and workers never import each other, and no lower layer reaches up. Imports under
`if TYPE_CHECKING:` are allowed (they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "handlers": {"workers", "bot", "webapp"},
    "workers": {"handlers", "bot", "webapp"},
    # The Mini App (issue 13) is the chat's sibling: services only, no SQL in the web layer.
    "webapp": {"handlers", "workers", "bot", "storage"},
    "services": {"handlers", "workers", "bot", "webapp"},
    "storage": {"handlers", "workers", "bot", "services", "platforms", "content", "webapp"},
    "platforms": {"handlers", "workers", "bot", "services", "webapp"},
    "content": {"handlers", "workers", "bot", "services", "webapp"},
}


def runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_flow_one_way(layer: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(runtime_imports(path) & FORBIDDEN[layer])
        for path in (ROOT / layer).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_no_handlers_module_is_over_about_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in (ROOT / "handlers").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 520
    }
    assert long == {}


def test_handlers_never_see_a_session() -> None:
    leaks = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "handlers").rglob("*.py")
        if any(word in path.read_text() for word in ("AsyncSession", "Repository(", "commit()"))
    ]
    assert leaks == []
