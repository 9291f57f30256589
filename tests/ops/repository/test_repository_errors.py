"""A file that exists but cannot be read is one RepositoryError naming it; missing is absent."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from django_aws_settings.ops.repository import RepositoryError, repository_facts

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"pyproject.toml": "[project\nname = 1\n"}, "pyproject.toml: is not valid TOML"),
        ({"uv.lock": "version = = 1\n"}, "uv.lock: is not valid TOML"),
        ({"poetry.lock": "[[package]\n"}, "poetry.lock: is not valid TOML"),
        (
            {"app.json": '{"scripts": {"postdeploy": }\n'},
            "app.json: is not valid JSON (line 1, column 28",
        ),
        ({"app.json": "[1, 2]"}, "app.json: is not a JSON object"),
        ({"Pipfile.lock": "{"}, "Pipfile.lock: is not valid JSON"),
        (
            {"heroku.yml": "run:\n  web: &a gunicorn\n"},
            "heroku.yml: is not YAML this reader understands (line 2",
        ),
        ({"render.yaml": "- a\n- b\n"}, "render.yaml: is not a YAML mapping"),
        ({"render.yaml": "services: 3\n"}, "render.yaml: services must be a list"),
        (
            {"heroku.yml": "release:\n  command: {a: 1}\n"},
            "heroku.yml: release.command must be a command or a list",
        ),
        ({"pytest.ini": "[pytest\n"}, "pytest.ini: is not a valid INI file"),
        ({"Procfile": b"web: gunicorn \xff\n"}, "Procfile: is not UTF-8 text"),
    ],
)
def test_bad_file_is_one_error_naming_it(
    make_repo: RepoFactory, files: dict[str, str | bytes], message: str
) -> None:
    with pytest.raises(RepositoryError) as raised:
        repository_facts(make_repo(files))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(RepositoryError, match="is not a directory"):
        repository_facts(tmp_path / "missing")


def test_an_empty_folder_is_all_absent_facts(tmp_path: Path) -> None:
    facts = repository_facts(tmp_path).as_dict()
    assert facts["processes"]["sources"] == []
    assert (
        facts["python"],
        facts["django"]["project_package"],
        facts["dependencies"]["manager"],
    ) == (
        None,
        None,
        None,
    )
