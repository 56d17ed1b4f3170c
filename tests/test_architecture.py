"""The layer contract: imports go down the data flow, never up, never sideways, never in a circle.

Read from the source (every ``import`` and ``from ... import``, including those inside
functions), so a lazy import cannot hide a dependency.  The layers, top first, are the
ones ``docs/design.md`` draws.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "geroconvert"

# top first; packages on one line are independent of each other
LAYERS = [
    ("__main__",),  # `python -m geroconvert`: the command line
    ("interfaces",),
    ("studies",),
    ("analysis",),
    ("oracle", "archive"),
    ("core", "config"),
    ("parameters",),
    ("errors", "units", "resources", "interrupts", "configs"),  # configs: packaged TOML files, no code
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every geroconvert module ``path`` imports, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            # ``from geroconvert.x import y`` may name a submodule y
            found.update(f"{module}.{alias.name}" for alias in node.names if _is_module(f"{module}.{alias.name}"))
    return {name for name in found if name == "geroconvert" or name.startswith("geroconvert.")}


def _is_module(dotted: str) -> bool:
    path = PACKAGE.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None  # the package root is the public API


def all_modules() -> dict[str, set[str]]:
    return {module_name(path): imported_modules(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_subpackage_has_a_layer():
    tops = {layer_of(name) for name in all_modules()} - {None}
    assert tops <= set(RANK), f"not in the layer contract: {sorted(tops - set(RANK))}"


def test_imports_go_down_the_layers():
    wrong = []
    for module, imports in all_modules().items():
        mine = layer_of(module)
        if mine is None:
            continue  # geroconvert/__init__.py: the public API, lazily imports every layer
        for target in imports:
            theirs = layer_of(target)
            if theirs is None:
                if target != "geroconvert":
                    wrong.append(f"{module} -> {target}")
                continue  # `from geroconvert import __version__`
            if theirs == mine:
                continue
            if RANK[theirs] <= RANK[mine]:
                wrong.append(f"{module} ({mine}) -> {target} ({theirs})")
    assert not wrong, "imports against the layers:\n  " + "\n  ".join(sorted(wrong))


def test_no_import_circles():
    graph = all_modules()
    graph = {module: {t for t in targets if t in graph and t != module} for module, targets in graph.items()}
    # a package __init__ that re-exports its own submodules is not a circle
    for module, targets in graph.items():
        graph[module] = {t for t in targets if not t.startswith(module + ".")}
    cycles = _strongly_connected(graph)
    assert not cycles, "import circles: " + "; ".join(" <-> ".join(sorted(c)) for c in cycles)


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.add(item)
                if item == node:
                    break
            if len(component) > 1:
                out.append(component)

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_the_contract_catches_an_upward_import(tmp_path, monkeypatch):
    """The checker itself: a core module importing a study must be reported."""
    fake = tmp_path / "geroconvert"
    (fake / "core").mkdir(parents=True)
    (fake / "studies").mkdir()
    for folder in (fake, fake / "core", fake / "studies"):
        (folder / "__init__.py").write_text("")
    (fake / "core" / "engine.py").write_text("from geroconvert.studies import sweep\n")
    (fake / "studies" / "sweep.py").write_text("from geroconvert.core import engine\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "PACKAGE", fake)
    with pytest.raises(AssertionError, match="core.engine"):
        test_imports_go_down_the_layers()
    with pytest.raises(AssertionError, match="import circles"):
        test_no_import_circles()
