"""The dependency manager, and the production packages from requirements, pyproject and locks."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from django_aws_settings.ops.repository.dependencies import dependencies

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


@pytest.mark.parametrize(
    ("files", "manager", "source"),
    [
        ({"uv.lock": "version = 1\n", "requirements.txt": "django\n"}, "uv", "uv.lock"),
        ({"poetry.lock": "", "requirements.txt": "django\n"}, "poetry", "poetry.lock"),
        ({"pdm.lock": ""}, "pdm", "pdm.lock"),
        ({"Pipfile.lock": "{}"}, "pipenv", "Pipfile.lock"),
        ({"Pipfile": "[packages]\ndjango = '*'\n"}, "pipenv", "Pipfile"),
        ({"requirements/production.txt": "django\n"}, "pip", "requirements/production.txt"),
        ({"pyproject.toml": "[tool.poetry]\nname = 'x'\n"}, "poetry", "pyproject.toml"),
        ({"pyproject.toml": "[project]\nname = 'x'\n"}, "pip", "pyproject.toml"),
        ({}, None, None),
    ],
)
def test_manager(
    make_repo: RepoFactory, files: dict[str, str], manager: str | None, source: str | None
) -> None:
    import tomllib

    root = make_repo(files)
    pyproject = (
        tomllib.loads((root / "pyproject.toml").read_text()) if "pyproject.toml" in files else {}
    )
    found = dependencies(root, pyproject)
    assert (found.manager, found.manager_source) == (manager, source)


UV_LOCK = """
version = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "celery", extra = ["redis"] }, { name = "django" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]

[[package]]
name = "celery"
version = "5.5.3"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "kombu" }]

[package.optional-dependencies]
redis = [{ name = "kombu", extra = ["redis"] }]

[[package]]
name = "kombu"
version = "5.5.4"
source = { registry = "https://pypi.org/simple" }

[package.optional-dependencies]
redis = [{ name = "redis" }]

[[package]]
name = "redis"
version = "6.2.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "django"
version = "5.2.4"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "asgiref" }]

[[package]]
name = "asgiref"
version = "3.9.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "pytest"
version = "8.4.1"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "pluggy" }]

[[package]]
name = "pluggy"
version = "1.6.0"
source = { registry = "https://pypi.org/simple" }
"""


def test_uv_lock_is_walked_from_the_project_without_dev_groups(make_repo: RepoFactory) -> None:
    root = make_repo({"uv.lock": UV_LOCK})
    pyproject = {
        "project": {"dependencies": ["celery[redis]", "django"]},
        "dependency-groups": {"dev": ["pytest"]},
    }
    found = dependencies(root, pyproject)
    assert found.packages == ("asgiref", "celery", "django", "kombu", "redis")
    assert (found.lock_file, found.dev_groups) == ("uv.lock", ("dev",))


POETRY_LOCK = """
[[package]]
name = "django"
version = "5.2.4"
optional = false
python-versions = ">=3.10"

[package.dependencies]
asgiref = ">=3.8.1"
sqlparse = ">=0.3.1"

[[package]]
name = "asgiref"
version = "3.9.1"

[[package]]
name = "sqlparse"
version = "0.5.3"

[[package]]
name = "psycopg"
version = "3.2.9"

[package.dependencies]
psycopg-binary = {version = "3.2.9", optional = true, markers = "implementation_name != \\"pypy\\""}
typing-extensions = {version = ">=4.6", markers = "python_version < \\"3.13\\""}

[package.extras]
binary = ["psycopg-binary (==3.2.9)"]

[[package]]
name = "psycopg-binary"
version = "3.2.9"

[[package]]
name = "typing-extensions"
version = "4.14.1"

[[package]]
name = "pytest"
version = "8.4.1"
"""


def test_poetry_lock_is_walked_from_the_main_dependencies(make_repo: RepoFactory) -> None:
    root = make_repo({"poetry.lock": POETRY_LOCK})
    pyproject = {
        "tool": {
            "poetry": {
                "dependencies": {
                    "python": "^3.12",
                    "Django": "^5.2",
                    "psycopg": {"version": "^3.2", "extras": ["binary"]},
                },
                "group": {"dev": {"dependencies": {"pytest": "^8"}}},
            }
        }
    }
    found = dependencies(root, pyproject)
    assert found.packages == (
        "asgiref", "django", "psycopg", "psycopg-binary", "sqlparse", "typing-extensions",
    )  # fmt: skip
    assert (found.manager, found.dev_groups, found.native) == ("poetry", ("dev",), ())


def test_pipfile_lock_default_section(make_repo: RepoFactory) -> None:
    lock = {"default": {"django": {}, "psycopg2": {}}, "develop": {"pytest": {}}}
    found = dependencies(make_repo({"Pipfile.lock": json.dumps(lock)}), {})
    assert found.packages == ("django", "psycopg2")
    assert [need.package for need in found.native] == ["psycopg2"]


def test_present_flags(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "requirements.txt": "Django\nchannels[daphne]\nwhitenoise\n"
            "django-storages[s3]\nuvicorn[standard]\n"
        }
    )
    present = dependencies(root, {}).present
    assert sorted(name for name, found in present.items() if found) == [
        "channels", "django-storages", "uvicorn", "whitenoise",
    ]  # fmt: skip
