"""Run a copy of the sample project, with a hand-written settings overlay, in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "sample_project"
OVERLAY = (
    "import django_aws_settings\n\n"
    "from shop.settings import *  # noqa: F403\n\n"
    "django_aws_settings.configure(globals())\n"
)
# Variables the package reads; the parent's values must never leak into a child project.
_OURS = (
    "DJANGO_",
    "DATABASE_",
    "CACHE_",
    "REDIS_",
    "CELERY_",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_",
    "STATIC_",
    "MEDIA_",
    "LOG_",
    "SECURE_",
    "WEB_CONCURRENCY",
    "ECS_CONTAINER_METADATA_URI_V4",
)


@dataclass
class Project:
    root: Path

    def environ(self, **values: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
        return {**base, "DJANGO_SETTINGS_MODULE": "shop.settings_aws", **values}

    def manage(self, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def copy_example(destination: Path) -> Project:
    root = destination / "shop"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    (root / "shop" / "settings_aws.py").write_text(OVERLAY)
    return Project(root)
