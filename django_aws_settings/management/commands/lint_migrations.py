"""``manage.py lint_migrations --since REF``: refuse migrations unsafe for a rolling deploy.

During a deploy the old code keeps serving while the new migrations run: a dropped or
renamed column, or a new NOT NULL column without a default, breaks it. This runs
django-migration-linter (extra ``lint``) on the migrations added since REF, without asking
you to add it to INSTALLED_APPS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Lint the migrations added since a git ref for backward-incompatible operations."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            required=True,
            metavar="REF",
            help="git ref the branch started from, e.g. origin/main",
        )
        parser.add_argument("--database", default="default")
        parser.add_argument(
            "--project-root",
            default=".",
            help="the directory git paths are relative to (default: the current one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from django_migration_linter.management.commands.lintmigrations import (
                Command as LintMigrations,
            )
        except ImportError:
            raise CommandError(
                "django-migration-linter is not installed; pip install 'django-aws-settings[lint]'"
            ) from None
        call_command(
            LintMigrations(),
            git_commit_id=options["since"],
            database=options["database"],
            # The linter's own default is the settings package, which hides the apps'
            # migrations from its `git diff --relative` in the usual project layout.
            project_root_path=str(Path(options["project_root"]).resolve()),
        )
