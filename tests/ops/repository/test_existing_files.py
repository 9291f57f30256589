"""Files the template would collide with, the .dockerignore to merge, .gitignore's staticfiles."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from django_aws_settings.ops.repository.existing_files import (
    COLLIDING_FILES,
    ExistingFiles,
    existing_files,
    ignores_folder,
)

RepoFactory = Callable[[Mapping[str, str | bytes]], Path]  # the make_repo fixture


def test_every_colliding_file(make_repo: RepoFactory) -> None:
    root = make_repo(dict.fromkeys(COLLIDING_FILES, ""))
    assert existing_files(root).collisions == COLLIDING_FILES


def test_nothing_exists(tmp_path: Path) -> None:
    assert existing_files(tmp_path) == ExistingFiles((), None, False, {})


def test_dockerignore_lines_in_order(make_repo: RepoFactory) -> None:
    root = make_repo({".dockerignore": "# secrets\n.envs/\n\n.env*\n  *.pem  \n!.env.example\n"})
    assert existing_files(root).dockerignore == (".envs/", ".env*", "*.pem", "!.env.example")


def test_heroku_docker_builds(make_repo: RepoFactory) -> None:
    root = make_repo(
        {
            "heroku.yml": "build:\n  docker:\n    web: Dockerfile\n    worker: "
            "docker/worker.Dockerfile\n"
        }
    )
    assert existing_files(root).heroku_docker_builds == {
        "web": "Dockerfile",
        "worker": "docker/worker.Dockerfile",
    }


@pytest.mark.parametrize(
    ("patterns", "ignored"),
    [
        (("staticfiles/",), True),
        (("/staticfiles",), True),
        (("staticfiles/*",), True),
        (("**/staticfiles/",), True),
        (("static*",), True),
        (("staticfiles/", "!staticfiles/"), False),
        (("static/",), False),
        ((), False),
    ],
)
def test_gitignore_covers_staticfiles(patterns: tuple[str, ...], ignored: bool) -> None:
    assert ignores_folder(patterns, "staticfiles") is ignored
