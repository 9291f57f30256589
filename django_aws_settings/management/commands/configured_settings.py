"""``manage.py configured_settings [--changed]``: what configure() wrote, and from where.

Every setting configure() wrote, leaf by leaf: the settings module's value, the result and
its source (variables, references, a default or a rule). Credentials are masked. Run it
first after ``copier copy``: ``--changed`` lists only what replaced the module's own values.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...settings.report import described, last_changes


class Command(BaseCommand):
    help = "Show the settings django-aws-settings configure() wrote, their sources and changes."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--changed",
            action="store_true",
            help="only the settings module's values that configure() replaced",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        changes = last_changes()
        if not changes:
            self.stdout.write(
                "configure() did not run in this process: the settings module"
                " (DJANGO_SETTINGS_MODULE) does not call django_aws_settings.configure(globals())."
            )
            return
        lines = described(changes, only_replaced=options["changed"])
        self.stdout.write("\n".join(lines) if lines else "configure() replaced nothing.")
