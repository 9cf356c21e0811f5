"""House rules that keep the deployables apart, and docs that must stay true.

- a service (``services/<name>/sightsound_<name>``) imports the kernel (``sightsound``) and the student
  model library, never another service, ``sightsound_ops`` or ``sightsound_devdata``;
- the kernel imports nothing of the project but itself; the student model library only the kernel;
  ``sightsound_devdata`` only the kernel;
- ``sightsound_ops`` may import everything;
- no import circles, function-local imports included.
"""

from __future__ import annotations

import pytest

from sightsound_ops.cli import settings_markdown
from tests.architecture.import_graph import (
    DEVDATA,
    KERNEL,
    OPS,
    ROOT,
    SERVICE_DIRS,
    SERVICES,
    cycles,
    import_graph,
    package_roots,
    top,
)

GRAPH = import_graph()
MAY_IMPORT: dict[str, set[str]] = {
    KERNEL: {KERNEL},
    "sightsound_student_model": {KERNEL, "sightsound_student_model"},
    DEVDATA: {KERNEL, DEVDATA},
}


def foreign_imports(package: str, allowed: set[str]) -> list[str]:
    return sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if top(module) == package
        for target in targets
        if top(target) not in allowed
    )


def test_the_graph_sees_every_package() -> None:
    assert {KERNEL, OPS, DEVDATA, "sightsound_student_model"} | SERVICES <= set(package_roots())
    assert len(GRAPH) > 200
    # function-local imports count: the stack runner starts the worker by importing nothing, the CLI
    # imports its commands inside functions; the graph must still see those edges
    assert "sightsound_ops.stack" in GRAPH["sightsound_ops.cli"]


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_a_service_imports_only_the_kernel_and_the_student_model_library(service: str) -> None:
    allowed = {service, KERNEL} | ({"sightsound_student_model"} if service in {"sightsound_trainer",
                                                                              "sightsound_student"} else set())
    assert foreign_imports(service, allowed) == []


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_kernel_library_and_devdata_import_no_service_ops_or_devdata(package: str) -> None:
    assert foreign_imports(package, MAY_IMPORT[package]) == []


def test_no_import_circles() -> None:
    assert cycles(GRAPH) == []


def test_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_compose_services_map_one_to_one_to_service_folders() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    modules: dict[str, str] = {}
    for name, service in compose["services"].items():
        command = " ".join(service.get("command", []))
        for package in SERVICES:
            if package in command:
                modules[name] = package
    # each service folder is run by compose, and each compose service of ours runs exactly one folder
    assert set(modules.values()) == SERVICES, modules
    for folder in SERVICE_DIRS:
        assert folder in compose["services"], f"no compose service named {folder!r}"
        assert modules[folder] == f"sightsound_{folder}"


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    assert settings_markdown() in readme, "README settings table is stale: run `sightsound settings --markdown`"
    env_example = (ROOT / ".env.example").read_text()
    for line in settings_markdown().splitlines()[2:]:
        variable = line.split("`")[1]
        assert f"{variable}=" in env_example, variable
