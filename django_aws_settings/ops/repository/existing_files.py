"""Files the template would collide with, and what the repository already ignores."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .files import read_text, read_yaml_mapping

COLLIDING_FILES = (
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "gunicorn.conf.py",
    ".github/workflows/deploy.yml",
    ".github/workflows/pull-request.yml",
    "heroku.yml",
)


@dataclass(frozen=True)
class ExistingFiles:
    """``collisions``: which of COLLIDING_FILES exist. ``dockerignore``: the patterns of an
    existing .dockerignore, in order (blank and comment lines dropped), None without one.
    ``heroku_docker_builds``: process -> Dockerfile that heroku.yml's ``build.docker`` builds."""

    collisions: tuple[str, ...]
    dockerignore: tuple[str, ...] | None
    gitignore_covers_staticfiles: bool
    heroku_docker_builds: Mapping[str, str]


def ignore_patterns(text: str) -> tuple[str, ...]:
    """The patterns of an ignore file: blank lines and ``#`` comments dropped."""
    return tuple(
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    )


def ignores_folder(patterns: tuple[str, ...], folder: str) -> bool:
    """Whether .gitignore ``patterns`` ignore top-level ``folder`` (the last match wins)."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!").removeprefix("/")
        for suffix in ("/**", "/*", "/"):
            body = body.removesuffix(suffix)
        body = body.removeprefix("**/")
        if body and fnmatch.fnmatchcase(folder, body):
            ignored = not negated
    return ignored


def existing_files(root: Path) -> ExistingFiles:
    dockerignore = read_text(root, ".dockerignore")
    gitignore = read_text(root, ".gitignore")
    heroku = read_yaml_mapping(root, "heroku.yml") or {}
    build = heroku.get("build")
    docker = build.get("docker") if isinstance(build, dict) else None
    return ExistingFiles(
        collisions=tuple(name for name in COLLIDING_FILES if (root / name).is_file()),
        dockerignore=ignore_patterns(dockerignore) if dockerignore is not None else None,
        gitignore_covers_staticfiles=gitignore is not None
        and ignores_folder(ignore_patterns(gitignore), "staticfiles"),
        heroku_docker_builds={
            str(name): str(path) for name, path in docker.items() if isinstance(path, str)
        }
        if isinstance(docker, dict)
        else {},
    )
