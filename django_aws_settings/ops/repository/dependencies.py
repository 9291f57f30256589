"""The dependency manager and the packages a production install brings in.

The manager is decided by the first of these that exists: ``uv.lock`` (uv),
``poetry.lock`` (poetry), ``pdm.lock`` (pdm), ``Pipfile.lock`` / ``Pipfile`` (pipenv), a pip
requirements file (pip), then pyproject's ``[tool.poetry]`` / ``[tool.uv]`` / ``[tool.pdm]``
/ ``[project]``.

``packages`` are the normalised names of the production dependencies: the pip requirements
tree, pyproject's ``[project.dependencies]`` and ``[tool.poetry.dependencies]``, Pipfile's
``[packages]``, and what a lock file installs from them (uv.lock and poetry.lock are walked
from the project's own dependencies, so development groups stay out; Pipfile.lock's
``default``; pdm.lock's ``default`` group).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import read_json_object, read_toml
from .native_packages import NativeNeeds, native_needs
from .requirements import (
    EXTRA_PACKAGES,
    RequirementsTree,
    normalized,
    production_requirements,
    requirement_extras,
    requirement_name,
    requirement_names,
    requirements_for_tests,
)

# Packages whose presence the template decides on.
WATCHED_PACKAGES = (
    "gunicorn",
    "uvicorn",
    "uvicorn-worker",
    "uwsgi",
    "daphne",
    "celery",
    "django-celery-beat",
    "django-celery-results",
    "channels",
    "whitenoise",
    "django-storages",
    "psycopg",
    "psycopg2",
    "psycopg2-binary",
)


@dataclass(frozen=True)
class Dependencies:
    manager: str | None
    manager_source: str | None
    lock_file: str | None
    requirements: RequirementsTree | None
    test_requirements: RequirementsTree | None
    dev_groups: tuple[str, ...]
    packages: tuple[str, ...]
    native: tuple[NativeNeeds, ...]
    present: Mapping[str, bool]


def _spec_names(specs: Iterable[Any]) -> set[str]:
    """Names (and names their extras install) of PEP 508 strings."""
    return {name for spec in specs if isinstance(spec, str) for name in requirement_names(spec)}


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _pyproject_names(pyproject: Mapping[str, Any]) -> set[str]:
    names = _spec_names(_table(pyproject.get("project")).get("dependencies") or [])
    poetry = _table(_table(pyproject.get("tool")).get("poetry"))
    for name, spec in _table(poetry.get("dependencies")).items():
        if name.lower() == "python":
            continue
        names.add(normalized(name))
        extras = spec.get("extras", []) if isinstance(spec, dict) else []
        for extra in extras:
            implied = EXTRA_PACKAGES.get((normalized(name), str(extra).lower()))
            if implied:
                names.add(implied)
    return names


def _uv_lock_names(lock: Mapping[str, Any], direct: set[str]) -> set[str]:
    packages = {
        normalized(str(entry.get("name"))): entry
        for entry in lock.get("package") or []
        if isinstance(entry, dict)
    }
    roots = [
        entry
        for entry in packages.values()
        if any(key in _table(entry.get("source")) for key in ("editable", "virtual"))
        and _table(entry.get("source")).get("editable", _table(entry.get("source")).get("virtual"))
        == "."
    ]
    start: list[dict[str, Any]] = (
        list(roots[0].get("dependencies") or []) if roots else [{"name": name} for name in direct]
    )
    found: set[str] = set()
    pending = [(normalized(str(dep.get("name"))), tuple(dep.get("extra") or ())) for dep in start]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        found.add(name)
        entry = packages.get(name, {})
        deps = list(entry.get("dependencies") or [])
        for extra in extras:
            deps.extend(_table(entry.get("optional-dependencies")).get(extra) or [])
        pending.extend(
            (normalized(str(dep.get("name"))), tuple(dep.get("extra") or ()))
            for dep in deps
            if isinstance(dep, dict)
        )
    return found


def _poetry_lock_names(lock: Mapping[str, Any], pyproject: Mapping[str, Any]) -> set[str]:
    packages = {
        normalized(str(entry.get("name"))): entry
        for entry in lock.get("package") or []
        if isinstance(entry, dict)
    }
    poetry_deps = _table(_table(_table(pyproject.get("tool")).get("poetry")).get("dependencies"))
    start: list[tuple[str, tuple[str, ...]]] = []
    for name, spec in poetry_deps.items():
        if name.lower() != "python":
            extras = spec.get("extras", []) if isinstance(spec, dict) else []
            start.append((normalized(name), tuple(str(extra) for extra in extras)))
    for spec in _table(pyproject.get("project")).get("dependencies") or []:
        direct = requirement_name(str(spec))
        if direct:
            start.append((direct, requirement_extras(str(spec))))
    found: set[str] = set()
    pending = list(start)
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen or name not in packages:
            found.add(name)
            continue
        seen.add((name, extras))
        found.add(name)
        entry = packages[name]
        for dep, spec in _table(entry.get("dependencies")).items():
            if isinstance(spec, dict) and spec.get("optional"):
                continue
            pending.append((normalized(dep), ()))
        for extra in extras:
            for written in _table(entry.get("extras")).get(extra) or []:
                dep_name = requirement_name(str(written))
                if dep_name:
                    pending.append((dep_name, ()))
    return found


def _dev_groups(pyproject: Mapping[str, Any], pipfile: Mapping[str, Any] | None) -> set[str]:
    tool = _table(pyproject.get("tool"))
    groups = set(_table(pyproject.get("dependency-groups")))
    if _table(tool.get("uv")).get("dev-dependencies"):
        groups.add("dev")
    poetry = _table(tool.get("poetry"))
    groups.update(_table(poetry.get("group")))
    if poetry.get("dev-dependencies"):
        groups.add("dev")
    groups.update(_table(_table(tool.get("pdm")).get("dev-dependencies")))
    if pipfile and pipfile.get("dev-packages"):
        groups.add("dev-packages")
    return groups


def _manager(
    root: Path, pyproject: Mapping[str, Any], requirements: RequirementsTree | None
) -> tuple[str | None, str | None]:
    for lock, manager in (
        ("uv.lock", "uv"),
        ("poetry.lock", "poetry"),
        ("pdm.lock", "pdm"),
        ("Pipfile.lock", "pipenv"),
        ("Pipfile", "pipenv"),
    ):
        if (root / lock).is_file():
            return manager, lock
    if requirements is not None:
        return "pip", requirements.start
    tool = _table(pyproject.get("tool"))
    for section, manager in (("poetry", "poetry"), ("uv", "uv"), ("pdm", "pdm")):
        if section in tool:
            return manager, "pyproject.toml"
    if "project" in pyproject:
        return "pip", "pyproject.toml"
    return None, None


def dependencies(root: Path, pyproject: Mapping[str, Any]) -> Dependencies:
    """The dependency facts of the repository at ``root`` (``pyproject``: its parsed
    pyproject.toml, ``{}`` when there is none)."""
    requirements = production_requirements(root)
    manager, manager_source = _manager(root, pyproject, requirements)
    names = _pyproject_names(pyproject)
    if requirements is not None:
        names.update(requirements.packages)
    lock_file: str | None = None
    uv_lock = read_toml(root, "uv.lock")
    if uv_lock is not None:
        lock_file = "uv.lock"
        names.update(_uv_lock_names(uv_lock, set(names)))
    poetry_lock = read_toml(root, "poetry.lock")
    if poetry_lock is not None:
        lock_file = lock_file or "poetry.lock"
        names.update(_poetry_lock_names(poetry_lock, pyproject))
    pdm_lock = read_toml(root, "pdm.lock")
    if pdm_lock is not None:
        lock_file = lock_file or "pdm.lock"
        names.update(
            normalized(str(entry.get("name")))
            for entry in pdm_lock.get("package") or []
            if isinstance(entry, dict) and "default" in (entry.get("groups") or ["default"])
        )
    pipfile = read_toml(root, "Pipfile")
    if pipfile is not None:
        names.update(normalized(name) for name in _table(pipfile.get("packages")))
    pipfile_lock = read_json_object(root, "Pipfile.lock")
    if pipfile_lock is not None:
        lock_file = lock_file or "Pipfile.lock"
        names.update(normalized(name) for name in _table(pipfile_lock.get("default")))
    packages = tuple(sorted(names))
    return Dependencies(
        manager=manager,
        manager_source=manager_source,
        lock_file=lock_file,
        requirements=requirements,
        test_requirements=requirements_for_tests(root),
        dev_groups=tuple(sorted(_dev_groups(pyproject, pipfile))),
        packages=packages,
        native=native_needs(packages),
        present={name: name in names for name in WATCHED_PACKAGES},
    )
