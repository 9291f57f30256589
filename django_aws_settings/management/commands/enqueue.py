"""``manage.py enqueue NAME``: send one CELERY_BEAT_SCHEDULE entry's task now.

EventBridge Scheduler runs it as a one-off ECS task where the broker is Redis (Scheduler
cannot write to Redis itself): the task goes to the entry's queue as beat would send it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_settings.ops.schedules import ScheduleRefused, celery_app, enqueue


class Command(BaseCommand):
    help = "Send the task of one CELERY_BEAT_SCHEDULE entry, as beat would."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the beat entry's name")
        parser.add_argument("--app", default=None, help="the Celery app (`celery --app`)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            task_id = enqueue(celery_app(options["app"]), options["name"])
        except ScheduleRefused as refused:
            raise CommandError(str(refused), returncode=2) from None
        self.stdout.write(f"sent {options['name']} as task {task_id}")
