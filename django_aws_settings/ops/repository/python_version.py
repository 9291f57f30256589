"""The Python version the repository asks for, as ``major.minor``, and where it says so.

First found wins: ``.python-version`` (pyenv, uv; its first version line), ``runtime.txt``
(Heroku: ``python-3.11.9``), ``.tool-versions`` (asdf/mise: ``python 3.12.1``),
pyproject's ``requires-python`` and then ``[tool.poetry.dependencies] python`` (the lowest
version they allow: ``>=3.12`` and ``^3.12`` and ``~=3.12.1`` all give 3.12).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import read_text

_VERSION = re.compile(r"(?:python-?|cpython-?)?(3\.\d+)(?:\.\d+)?\S*$")
_LOWER_BOUND = re.compile(r"(?:>=|\^|~=|~|==|===)\s*(3\.\d+)")


@dataclass(frozen=True)
class PythonVersion:
    version: str  # major.minor
    declared: str  # as written
    source: str  # the file (and key) it came from


def _from_lines(text: str, source: str, key: str | None = None) -> PythonVersion | None:
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if key is not None:
            parts = line.split()
            if len(parts) < 2 or parts[0] != key:
                continue
            line = parts[1]
        match = _VERSION.match(line)
        if match:
            return PythonVersion(match.group(1), line, source)
        if key is None:
            return None  # the first version line decides
    return None


def _from_specifier(specifier: Any, source: str) -> PythonVersion | None:
    if not isinstance(specifier, str):
        return None
    bounds = _LOWER_BOUND.findall(specifier)
    if not bounds:
        return None
    lowest = min(bounds, key=lambda version: tuple(int(part) for part in version.split(".")))
    return PythonVersion(lowest, specifier, source)


def python_version(root: Path, pyproject: Mapping[str, Any]) -> PythonVersion | None:
    """The version the first source that names one asks for; None if none does."""
    text = read_text(root, ".python-version")
    if text is not None and (found := _from_lines(text, ".python-version")):
        return found
    text = read_text(root, "runtime.txt")
    if text is not None and (found := _from_lines(text, "runtime.txt")):
        return found
    text = read_text(root, ".tool-versions")
    if text is not None and (found := _from_lines(text, ".tool-versions", key="python")):
        return found
    project = pyproject.get("project")
    if isinstance(project, dict) and (
        found := _from_specifier(project.get("requires-python"), "pyproject.toml requires-python")
    ):
        return found
    tool = pyproject.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    deps = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if isinstance(deps, dict):
        return _from_specifier(
            deps.get("python"), "pyproject.toml [tool.poetry.dependencies] python"
        )
    return None
