"""``manage.py export_schedule``: Celery beat's schedule as EventBridge Scheduler's JSON.

Writes infra/terraform/schedules.json (Terraform makes one schedule per entry from it).
``--output -`` prints it; the pull-request workflow exports to a temporary file and diffs.
An entry Scheduler cannot reproduce stops the export with one line (exit status 2).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_settings.ops.schedules import (
    EXPORT_PATH,
    ScheduleRefused,
    celery_app,
    export_text,
)


class Command(BaseCommand):
    help = "Export CELERY_BEAT_SCHEDULE for EventBridge Scheduler (infra/terraform/schedules.json)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output", default=EXPORT_PATH, help=f"default {EXPORT_PATH}; - prints"
        )
        parser.add_argument("--app", default=None, help="the Celery app (`celery --app`)")
        parser.add_argument(
            "--scheduler", default="", help="beat's --scheduler, when the deployment passes one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            text = export_text(celery_app(options["app"]), options["scheduler"])
        except ScheduleRefused as refused:
            raise CommandError(str(refused), returncode=2) from None
        if options["output"] == "-":
            sys.stdout.write(text)
            return
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"--output: no directory {output.parent}", returncode=2)
        # Written whole or not at all: Terraform never reads half an export.
        partial = output.with_name(f".{output.name}.partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(output)
        self.stdout.write(f"wrote {output}")
