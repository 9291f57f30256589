"""manage.py lint_migrations: unsafe migrations since a git ref fail the PR, safe ones pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.template import SAMPLE_PROJECT, git

OVERLAY = (
    "import django_aws_settings\n"
    "from shop.settings import *  # noqa\n"
    "django_aws_settings.configure(globals())\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(SAMPLE_PROJECT, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "shop" / "settings_aws.py").write_text(OVERLAY)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "the app as it is")
    return root


def manage(root: Path, postgres_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "shop.settings_aws",
        "DATABASE_URL": postgres_url,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def change_model(root: Path, postgres_url: str, old: str, new: str, name: str) -> None:
    models = root / "catalog" / "models.py"
    models.write_text(models.read_text().replace(old, new))
    admin = root / "catalog" / "admin.py"
    admin.write_text(admin.read_text().replace('"note", ', "").replace(', "note"', ""))
    made = manage(root, postgres_url, "makemigrations", "catalog", "--name", name)
    assert made.returncode == 0, made.stderr
    git(root, "add", "-A")
    git(root, "commit", "-qm", name)


@pytest.mark.slow
def test_dropping_a_column_fails(project: Path, postgres_url: str) -> None:
    note = next(
        line
        for line in (project / "catalog" / "models.py").read_text().splitlines()
        if line.strip().startswith("note =")
    )
    change_model(project, postgres_url, note + "\n", "", "drop_note")
    result = manage(project, postgres_url, "lint_migrations", "--since", "HEAD~1")
    assert result.returncode == 1
    assert "(catalog, 0002_drop_note)... ERR" in result.stdout
    assert "DROPPING columns (table: catalog_taskrun, column: note)" in result.stdout


@pytest.mark.slow
def test_adding_a_nullable_column_passes(project: Path, postgres_url: str) -> None:
    models = (project / "catalog" / "models.py").read_text()
    anchor = next(line for line in models.splitlines() if line.strip().startswith("note ="))
    added = anchor + "\n    source = models.CharField(max_length=40, null=True, blank=True)"
    change_model(project, postgres_url, anchor, added, "taskrun_source")
    result = manage(project, postgres_url, "lint_migrations", "--since", "HEAD~1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(catalog, 0002_taskrun_source)... OK" in result.stdout


@pytest.mark.slow
def test_no_new_migration_lints_nothing(project: Path, postgres_url: str) -> None:
    result = manage(project, postgres_url, "lint_migrations", "--since", "HEAD")
    assert result.returncode == 0
    assert "Valid migrations: 0/0" in result.stdout
