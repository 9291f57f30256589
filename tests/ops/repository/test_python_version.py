"""The Python version: which file wins, and what major.minor each spelling gives."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from django_aws_settings.ops.repository.python_version import PythonVersion, python_version

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


def test_precedence(make_repo: RepoFactory) -> None:
    files = {
        ".python-version": "3.13.1\n",
        "runtime.txt": "python-3.12.4\n",
        ".tool-versions": "nodejs 22.1.0\npython 3.11.9\n",
    }
    pyproject = {"project": {"requires-python": ">=3.10"}}
    assert python_version(make_repo(files), pyproject) == PythonVersion(
        "3.13", "3.13.1", ".python-version"
    )
    del files[".python-version"]
    assert python_version(make_repo(files), pyproject) == PythonVersion(
        "3.12", "python-3.12.4", "runtime.txt"
    )
    del files["runtime.txt"]
    assert python_version(make_repo(files), pyproject) == PythonVersion(
        "3.11", "3.11.9", ".tool-versions"
    )
    del files[".tool-versions"]
    assert python_version(make_repo(files), pyproject) == PythonVersion(
        "3.10", ">=3.10", "pyproject.toml requires-python"
    )
    assert python_version(make_repo(files), {}) is None


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("3.12\n", "3.12"),
        ("# pyenv\n3.11.9\n", "3.11"),
        ("cpython-3.14.0\n", "3.14"),
        ("pypy3.10\n", None),
    ],
)
def test_python_version_file_spellings(
    make_repo: RepoFactory, text: str, version: str | None
) -> None:
    found = python_version(make_repo({".python-version": text}), {})
    assert (found.version if found else None) == version


@pytest.mark.parametrize(
    ("pyproject", "version"),
    [
        ({"project": {"requires-python": ">=3.12"}}, "3.12"),
        ({"project": {"requires-python": ">=3.11,<3.14"}}, "3.11"),
        ({"project": {"requires-python": "~=3.12.1"}}, "3.12"),
        ({"project": {"requires-python": "==3.13.*"}}, "3.13"),
        ({"tool": {"poetry": {"dependencies": {"python": "^3.11"}}}}, "3.11"),
        ({"project": {"requires-python": "<4"}}, None),
    ],
)
def test_pyproject_spellings_give_the_lowest_allowed(
    make_repo: RepoFactory, pyproject: dict[str, Any], version: str | None
) -> None:
    found = python_version(make_repo({}), pyproject)
    assert (found.version if found else None) == version
