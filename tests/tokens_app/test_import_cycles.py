"""No two modules of tokens_app import each other, directly or around a loop, counting the imports
made inside functions: the layers read top-down."""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(module: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``module`` imports anywhere in its code (a submodule's
    package included, since importing the submodule runs the package first)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join([*base, node.module] if node.module else base)
            names = [f"{source}.{alias.name}" for alias in node.names] + [source]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            found.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return {name for name in found & modules if name != module and not module.startswith(name + ".")}


def test_no_import_cycle_between_tokens_app_modules():
    paths = {module_name(path): path for path in (ROOT / "tokens_app").rglob("*.py") if "migrations" not in path.parts}
    graph = {module: imported(module, path, set(paths)) for module, path in paths.items()}

    def loop_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            module, trail = stack.pop()
            for target in sorted(graph[module]):
                if target == start:
                    return trail
                if target not in seen:
                    seen.add(target)
                    stack.append((target, [*trail, target]))
        return None

    loops = [loop for module in sorted(graph) if (loop := loop_from(module))]
    assert not loops, f"import cycles: {loops}"
