"""How the repository runs its tests: pytest or ``manage.py test``, with which settings.

pytest is the runner when its configuration exists, first found as pytest itself looks:
``pytest.ini`` ``[pytest]``, ``pyproject.toml`` ``[tool.pytest.ini_options]``, ``tox.ini``
``[pytest]``, ``setup.cfg`` ``[tool:pytest]``; else when a ``conftest.py`` sits at the
root (or next to manage.py) or pytest-django is a test dependency. Otherwise, with a
manage.py, ``manage.py test``.

The test settings module is pytest-django's ``DJANGO_SETTINGS_MODULE`` (or ``--ds`` in
``addopts``) from that configuration, else a settings module named for tests
(``settings/test.py``, ``settings_test.py``...).
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RepositoryError
from .files import read_text

_DS_OPTION = re.compile(r"--ds[= ]([\w.]+)")


@dataclass(frozen=True)
class SuiteRunner:
    runner: str | None  # "pytest" or "manage.py test"
    config: str | None  # the file (and section) that made it pytest
    settings_module: str | None
    settings_source: str | None
    requirements: str | None  # the pip file the test dependencies start from


def _ini_section(root: Path, name: str, section: str) -> dict[str, str] | None:
    text = read_text(root, name)
    if text is None:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text, name)
    except configparser.Error as error:
        reason = str(error).splitlines()[0]
        raise RepositoryError(name, f"is not a valid INI file ({reason})") from None
    if not parser.has_section(section):
        return None
    return {
        key.upper() if key == "django_settings_module" else key: value
        for key, value in parser.items(section)
    }


def _pytest_config(
    root: Path, pyproject: Mapping[str, Any]
) -> tuple[str, Mapping[str, Any]] | None:
    found = _ini_section(root, "pytest.ini", "pytest")
    if found is not None:
        return "pytest.ini", found
    tool = pyproject.get("tool")
    pytest_table = tool.get("pytest") if isinstance(tool, dict) else None
    options = pytest_table.get("ini_options") if isinstance(pytest_table, dict) else None
    if isinstance(options, dict):
        return "pyproject.toml [tool.pytest.ini_options]", options
    found = _ini_section(root, "tox.ini", "pytest")
    if found is not None:
        return "tox.ini [pytest]", found
    found = _ini_section(root, "setup.cfg", "tool:pytest")
    if found is not None:
        return "setup.cfg [tool:pytest]", found
    return None


def _settings_from(options: Mapping[str, Any]) -> str | None:
    value = options.get("DJANGO_SETTINGS_MODULE")
    if isinstance(value, str) and value.strip():
        return value.strip()
    addopts = options.get("addopts")
    text = " ".join(addopts) if isinstance(addopts, list) else str(addopts or "")
    match = _DS_OPTION.search(text)
    return match.group(1) if match else None


def suite_runner(
    root: Path,
    pyproject: Mapping[str, Any],
    *,
    source_root: str,
    manage_py: str | None,
    test_packages: Iterable[str],
    named_for_tests: str | None,
    requirements: str | None,
) -> SuiteRunner:
    """The runner, its configuration file, the test settings and test requirements."""
    runner: str | None = None
    config: str | None = None
    settings: str | None = None
    settings_source: str | None = None
    found = _pytest_config(root, pyproject)
    if found is not None:
        runner, config = "pytest", found[0]
        settings = _settings_from(found[1])
        settings_source = config if settings else None
    elif (root / "conftest.py").is_file() or (root / source_root / "conftest.py").is_file():
        runner = "pytest"
        config = "conftest.py" if (root / "conftest.py").is_file() else f"{source_root}/conftest.py"
    elif "pytest-django" in set(test_packages):
        runner, config = "pytest", "pytest-django in the test dependencies"
    elif manage_py is not None:
        runner = "manage.py test"
    if settings is None and named_for_tests is not None:
        settings, settings_source = named_for_tests, "by name"
    return SuiteRunner(runner, config, settings, settings_source, requirements)
