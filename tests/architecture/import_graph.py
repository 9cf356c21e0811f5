"""The project's import graph, read from source (every import statement, function-local ones included)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Where each top-level package lives, and what it is.
KERNEL = "sightsound"
LIBRARIES = {"sightsound_student_model"}
OPS = "sightsound_ops"
DEVDATA = "sightsound_devdata"
SERVICE_DIRS = {p.name: p / f"sightsound_{p.name}" for p in sorted((ROOT / "services").iterdir()) if p.is_dir()}
SERVICES = {f"sightsound_{name}" for name in SERVICE_DIRS}


def package_roots() -> dict[str, Path]:
    """Top-level package name -> its folder."""
    roots = {p.name: p for p in (ROOT / "src").iterdir() if (p / "__init__.py").exists()}
    roots.update({f"sightsound_{name}": path for name, path in SERVICE_DIRS.items()})
    return roots


def module_name(root_name: str, root: Path, path: Path) -> str:
    parts = [root_name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every project module (migrations' version scripts excluded: Alembic loads them by path)."""
    modules: dict[str, Path] = {}
    for name, root in package_roots().items():
        for path in root.rglob("*.py"):
            if "versions" in path.parts:
                continue
            modules[module_name(name, root, path)] = path
    return modules


def _imports(path: Path, module: str, modules: set[str]) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            for alias in node.names:
                # `from pkg import module` imports pkg.module; `from module import name` imports module
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (resolved to modules that exist)."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        targets: set[str] = set()
        for name in _imports(path, module, set(modules)):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def top(module: str) -> str:
    return module.split(".")[0]
