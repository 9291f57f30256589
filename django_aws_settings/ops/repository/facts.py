"""All the facts, read once: ``repository_facts(root)`` and its JSON-ready ``as_dict()``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .dependencies import Dependencies, dependencies
from .django_project import (
    DjangoProject,
    declared_settings,
    django_project,
    settings_named_for_tests,
    source_root,
)
from .errors import RepositoryError
from .existing_files import ExistingFiles, existing_files
from .files import read_text, read_toml
from .native_packages import GEODJANGO
from .procfiles import Processes, platform_files
from .python_version import PythonVersion, python_version
from .settings_scan import EnvironmentScan, scan_settings
from .suite import SuiteRunner, suite_runner

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class RepositoryFacts:
    """What the repository states about itself; see docs/inspect.md for every key."""

    django: DjangoProject
    python: PythonVersion | None
    processes: Processes
    dependencies: Dependencies
    tests: SuiteRunner
    environment: EnvironmentScan
    existing_files: ExistingFiles

    def as_dict(self) -> dict[str, Any]:
        """The facts as JSON types (dicts, lists, str, int, bool, None), plus ``schema``."""
        plain = _plain(self)
        assert isinstance(plain, dict)
        return {"schema": SCHEMA_VERSION, **plain}


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {item.name: _plain(getattr(value, item.name)) for item in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return value


def _process_commands(processes: Processes) -> list[tuple[str, str]]:
    declared = [processes.web, *processes.workers, processes.beat, *processes.other]
    commands = [(item.source, item.command) for item in declared if item is not None]
    return commands + [(item.source, item.command) for item in processes.release]


def repository_facts(root: Path) -> RepositoryFacts:
    """Read the repository at ``root``. Nothing in it is imported or executed.

    Raises RepositoryError naming the file when a file exists but cannot be read (bad
    TOML, JSON, YAML, INI or encoding); a missing file is simply an absent fact.
    """
    if not root.is_dir():
        raise RepositoryError(str(root), "is not a directory")
    pyproject = read_toml(root, "pyproject.toml") or {}
    processes, variables = platform_files(root)
    found_dependencies = dependencies(root, pyproject)
    web = processes.web
    web_asgi = f"{web.source} {web.name}: {web.server}" if web is not None and web.asgi else None
    declared = declared_settings(
        [(item.source, item.name, item.value) for item in variables], _process_commands(processes)
    )
    base, _ = source_root(root)
    pytest_settings = suite_runner(
        root,
        pyproject,
        source_root=".",
        manage_py=None,
        test_packages=(),
        named_for_tests=None,
        requirements=None,
    ).settings_module
    project = django_project(
        root,
        declared=declared,
        also_named=[pytest_settings] if pytest_settings else [],
        web_asgi=web_asgi,
        packages=found_dependencies.packages,
    )
    test_tree = found_dependencies.test_requirements
    tests = suite_runner(
        root,
        pyproject,
        source_root=project.source_root,
        manage_py=project.manage_py,
        test_packages=test_tree.packages if test_tree else (),
        named_for_tests=settings_named_for_tests(project.settings_modules),
        requirements=test_tree.start if test_tree else None,
    )
    environment = scan_settings(root, base, project.settings_modules)
    if any("django.contrib.gis" in (read_text(root, name) or "") for name in environment.files):
        found_dependencies = dataclasses.replace(
            found_dependencies, native=(*found_dependencies.native, GEODJANGO)
        )
    return RepositoryFacts(
        django=project,
        python=python_version(root, pyproject),
        processes=processes,
        dependencies=found_dependencies,
        tests=tests,
        environment=environment,
        existing_files=existing_files(root),
    )
