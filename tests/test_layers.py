"""The layers' import rules (docs/architecture.md), read from the source: a module that breaks
one fails here, not in review."""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"


def _imports(module: Path) -> set[str]:
    """Every module ``module`` imports, dotted, as written."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _modules(*layers: str) -> list[Path]:
    return sorted(path for layer in layers for path in (APP / layer).rglob("*.py"))


# layer -> the packages none of its modules may import
RULES = {
    # routers hold no query: a session's type is all they name of SQLAlchemy
    ("routers",): ("sqlalchemy.select", "sqlalchemy.sql", "sqlalchemy.orm", "app.demo"),
    ("services", "demo"): ("fastapi", "starlette", "rich", "app.routers"),
    ("models",): ("app.schemas", "app.services", "app.routers", "app.demo"),
    ("core",): ("app.services", "app.routers", "app.demo", "app.schemas"),
    ("schemas",): ("app.services", "app.routers", "app.demo"),
}


@pytest.mark.parametrize(
    ("module", "refused"),
    [
        pytest.param(module, refused, id=str(module.relative_to(APP)))
        for layers, refused in RULES.items()
        for module in _modules(*layers)
    ],
)
def test_a_layer_imports_only_what_it_may(module: Path, refused: tuple[str, ...]) -> None:
    broken = {
        name
        for name in _imports(module)
        for prefix in refused
        if name == prefix or name.startswith(f"{prefix}.")
    }
    assert not broken, f"{module.relative_to(APP)} imports {sorted(broken)}"


def test_only_the_dependencies_read_the_app_state() -> None:
    readers = [
        path.relative_to(APP).as_posix()
        for path in _modules("routers", "services", "demo")
        if "app.state" in path.read_text(encoding="utf-8")
    ]
    assert readers == ["routers/deps.py"]
