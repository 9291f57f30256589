"""How the repository runs its tests: pytest's configuration or manage.py test."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from django_aws_settings.ops.repository.suite import SuiteRunner, suite_runner

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


def runner(root: Path, pyproject: dict[str, Any] | None = None, **overrides: Any) -> SuiteRunner:
    arguments: dict[str, Any] = {
        "source_root": ".",
        "manage_py": "manage.py",
        "test_packages": (),
        "named_for_tests": None,
        "requirements": None,
    }
    return suite_runner(root, pyproject or {}, **{**arguments, **overrides})


@pytest.mark.parametrize(
    ("files", "config", "settings"),
    [
        (
            {"pytest.ini": "[pytest]\nDJANGO_SETTINGS_MODULE = config.django.test\n"},
            "pytest.ini",
            "config.django.test",
        ),
        (
            {"tox.ini": "[tox]\nenvlist = py312\n[pytest]\naddopts = --ds=app.settings.test -q\n"},
            "tox.ini [pytest]",
            "app.settings.test",
        ),
        (
            {"setup.cfg": "[tool:pytest]\nDJANGO_SETTINGS_MODULE=app.test_settings\n"},
            "setup.cfg [tool:pytest]",
            "app.test_settings",
        ),
        ({"setup.cfg": "[metadata]\nname = x\n", "conftest.py": ""}, "conftest.py", None),
        (
            {
                "pytest.ini": "[pytest]\n",
                "setup.cfg": "[tool:pytest]\nDJANGO_SETTINGS_MODULE = ignored\n",
            },
            "pytest.ini",
            None,
        ),
    ],
)
def test_pytest_configuration_files(
    make_repo: RepoFactory, files: dict[str, str], config: str, settings: str | None
) -> None:
    found = runner(make_repo(files))
    assert (found.runner, found.config, found.settings_module) == ("pytest", config, settings)


def test_pyproject_ini_options(make_repo: RepoFactory) -> None:
    pyproject = {"tool": {"pytest": {"ini_options": {"addopts": ["--ds", "svc.settings_test"]}}}}
    found = runner(make_repo({}), pyproject)
    assert found == SuiteRunner(
        "pytest", "pyproject.toml [tool.pytest.ini_options]", "svc.settings_test",
        "pyproject.toml [tool.pytest.ini_options]", None,
    )  # fmt: skip


def test_pytest_django_in_the_test_requirements(make_repo: RepoFactory) -> None:
    found = runner(
        make_repo({}),
        test_packages=("pytest", "pytest-django"),
        requirements="requirements/dev.txt",
    )
    assert found == SuiteRunner(
        "pytest", "pytest-django in the test dependencies", None, None, "requirements/dev.txt"
    )


def test_manage_py_test_with_settings_named_for_tests(make_repo: RepoFactory) -> None:
    found = runner(make_repo({}), named_for_tests="site.settings.test")
    assert found == SuiteRunner("manage.py test", None, "site.settings.test", "by name", None)


def test_nothing_to_run_tests_with(make_repo: RepoFactory) -> None:
    assert runner(make_repo({}), manage_py=None) == SuiteRunner(None, None, None, None, None)
