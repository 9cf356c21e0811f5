"""House rules that keep the services apart, and docs that must stay true."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sightsound.cli import settings_markdown

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {p.name: p for p in (ROOT / "services").iterdir() if p.is_dir()}
SERVICE_PACKAGES = {f"sightsound_{name}" for name in SERVICES}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_never_imports_another_service(service: str) -> None:
    own = f"sightsound_{service}"
    for path in SERVICES[service].rglob("*.py"):
        foreign = imported_modules(path) & (SERVICE_PACKAGES - {own})
        assert not foreign, f"{path.relative_to(ROOT)} imports {foreign}"


def test_the_shared_package_imports_no_service() -> None:
    for path in (ROOT / "src" / "sightsound").rglob("*.py"):
        if path.name == "stack.py":
            continue  # starts services as processes by module name; imports none of them
        assert not imported_modules(path) & SERVICE_PACKAGES, path


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    assert settings_markdown() in readme, "README settings table is stale: run `sightsound settings --markdown`"
    env_example = (ROOT / ".env.example").read_text()
    for line in settings_markdown().splitlines()[2:]:
        variable = line.split("`")[1]
        assert f"{variable}=" in env_example, variable
