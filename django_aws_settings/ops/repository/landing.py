"""Where the template writes, and which of those paths a repository already has.

Everything the template writes lives where a Django repository keeps nothing of its own
(deploy/, docs/aws/, infra/terraform/, two workflows, the settings overlay), so its own
Dockerfile, compose file, .dockerignore and heroku.yml stay untouched. A first copy into a
repository that has one of these paths anyway is refused before any file is written.
"""

from __future__ import annotations

from pathlib import Path

ANSWERS_FILE = ".copier-answers.django-aws.yml"
WRITTEN_PATHS = (
    "deploy/Dockerfile",
    "deploy/Dockerfile.dockerignore",
    "deploy/compose.yaml",
    "deploy/gunicorn.conf.py",
    "deploy/ecs",
    "docs/aws",
    "infra/terraform",
    ".github/workflows/django-aws-deploy.yml",
    ".github/workflows/django-aws-pull-request.yml",
)


def taken_paths(root: Path, django_project: str) -> list[str]:
    """The paths a first copy would write that the repository already has. None when the
    repository holds our answers file: those are the files of an earlier copy."""
    if (root / ANSWERS_FILE).is_file():
        return []
    overlay = f"{django_project}/settings_aws.py"
    return [name for name in (*WRITTEN_PATHS, overlay) if (root / name).exists()]
