"""pip requirements files as a tree: ``-r`` / ``-c`` followed, every file listed once.

An include's path is relative to the file that includes it (as pip reads it). A file that
includes one of its own includers is a cycle: reported, not followed again. An included
file that does not exist (or names an environment variable) is reported as missing.
Package names are normalised as PEP 503 says; constraints files pin versions but add no
package, so their names are not counted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .files import read_text, relative

FileKind = Literal["requirements", "constraints"]

# Where a PaaS build starts reading (Heroku and Render read ./requirements.txt), then the
# usual production entry points of a requirements/ folder.
START_FILES = (
    "requirements.txt",
    "requirements/production.txt",
    "requirements/prod.txt",
    "requirements/base.txt",
)
# The test dependencies, most specific name first.
TEST_FILES = (
    "requirements/test.txt",
    "requirements/tests.txt",
    "requirements/testing.txt",
    "requirements-test.txt",
    "requirements_test.txt",
    "test-requirements.txt",
    "requirements/local.txt",
    "requirements/dev.txt",
    "requirements/development.txt",
    "requirements-dev.txt",
    "requirements_dev.txt",
    "dev-requirements.txt",
)

_INCLUDE = re.compile(r"^(-r|-c|--requirement|--constraint)(?:\s*=\s*|\s*)(\S+)")
_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_EGG = re.compile(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRAS = re.compile(r"^[A-Za-z0-9._-]+\s*\[([^\]]*)\]")
# An extra that installs another distribution: psycopg[binary] brings psycopg-binary.
EXTRA_PACKAGES = {("psycopg", "binary"): "psycopg-binary", ("psycopg", "c"): "psycopg-c"}


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them (``Django_Environ`` -> ``django-environ``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class RequirementsFile:
    path: str
    kind: FileKind


@dataclass(frozen=True)
class RequirementsTree:
    """``start`` and every file it includes, in the order pip reads them (``start`` first)."""

    start: str
    files: tuple[RequirementsFile, ...]
    packages: tuple[str, ...]
    cycles: tuple[str, ...]
    missing: tuple[str, ...]


def logical_lines(text: str) -> list[str]:
    """The lines pip sees: continuations (``\\``) joined, comments and blanks dropped."""
    joined = re.sub(r"\\\r?\n", " ", text)
    lines = []
    for line in joined.splitlines():
        stripped = re.sub(r"(^|\s)#.*$", "", line).strip()
        if stripped:
            lines.append(stripped)
    return lines


def requirement_name(line: str) -> str | None:
    """The normalised package a requirement line names, None for options and local paths."""
    if line.startswith(("-e ", "--editable")):
        egg = _EGG.search(line)
        return normalized(egg.group(1)) if egg else None
    if line.startswith("-"):
        return None
    if "://" in line.split("@")[0] or line.startswith((".", "/", "~")):
        egg = _EGG.search(line)
        return normalized(egg.group(1)) if egg else None
    match = _NAME.match(line)
    return normalized(match.group(1)) if match else None


def requirement_extras(spec: str) -> tuple[str, ...]:
    """The extras a requirement asks for (``celery[redis,sqs]`` -> ``("redis", "sqs")``)."""
    match = _EXTRAS.match(spec.strip())
    if match is None:
        return ()
    return tuple(extra.strip().lower() for extra in match.group(1).split(",") if extra.strip())


def requirement_names(spec: str) -> set[str]:
    """The package a requirement names and any its extras install under their own name."""
    name = requirement_name(spec.strip())
    if name is None:
        return set()
    implied = (EXTRA_PACKAGES.get((name, extra)) for extra in requirement_extras(spec))
    return {name, *(extra for extra in implied if extra)}


def requirements_tree(root: Path, start: str) -> RequirementsTree:
    """The tree of requirement files from ``start`` (a path relative to ``root``)."""
    files: list[RequirementsFile] = []
    packages: set[str] = set()
    cycles: list[str] = []
    missing: list[str] = []
    visited: set[str] = set()

    def visit(name: str, kind: FileKind, stack: list[str]) -> None:
        visited.add(name)
        files.append(RequirementsFile(name, kind))
        text = read_text(root, name)
        assert text is not None
        for line in logical_lines(text):
            include = _INCLUDE.match(line)
            if include is None:
                if kind == "requirements":
                    packages.update(requirement_names(line))
                continue
            target_kind: FileKind = (
                "constraints" if include.group(1) in ("-c", "--constraint") else kind
            )
            written = include.group(2)
            target = relative(root, Path(os.path.normpath(root / Path(name).parent / written)))
            path = [*stack, name]
            if target in path:
                cycles.append(" -> ".join([*path[path.index(target) :], target]))
            elif target in visited:
                continue
            elif "$" in written or not (root / target).is_file():
                missing.append(f"{target} (from {name})")
            else:
                visit(target, target_kind, [*stack, name])

    visit(start, "requirements", [])
    return RequirementsTree(
        start, tuple(files), tuple(sorted(packages)), tuple(cycles), tuple(missing)
    )


def first_existing(root: Path, candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if (root / name).is_file()), None)


def production_requirements(root: Path) -> RequirementsTree | None:
    """The tree a production build installs, from the first of START_FILES that exists."""
    start = first_existing(root, START_FILES)
    return requirements_tree(root, start) if start else None


def requirements_for_tests(root: Path) -> RequirementsTree | None:
    """The tree of the test dependencies, from the first of TEST_FILES that exists."""
    start = first_existing(root, TEST_FILES)
    return requirements_tree(root, start) if start else None
