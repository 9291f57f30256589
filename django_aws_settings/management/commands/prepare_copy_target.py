"""``manage.py prepare_copy_target``: empty the migrated target before a data-only copy."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...cutover import CutoverError
from ...cutover.prepare import APPLICATION_NAME, DEFAULT_LOCK_TIMEOUT, prepare_copy_target
from .. import add_database_arguments, database_from_options


class Command(BaseCommand):
    help = (
        "Empty every table of the new database's schema in one TRUNCATE ... RESTART IDENTITY,"
        " so a data-only copy (pg_restore --data-only, AWS DMS with DO_NOTHING) replaces"
        " what migrate left there. Without --yes a dry run: lists the tables and their rows."
        " With MAINTENANCE_PARAMETER set, refuses unless that switch is on or read-only."
    )
    # An operator tool for the cutover window: a settings warning must not block it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_database_arguments(parser, verb="empty", lock_timeout=DEFAULT_LOCK_TIMEOUT)
        parser.add_argument(
            "--schema",
            action="append",
            dest="schemas",
            metavar="SCHEMA",
            help="Schema whose tables to empty; repeat for several (default: public).",
        )
        parser.add_argument(
            "--yes",
            metavar="DATABASE_NAME",
            help="Really empty them: the target's database name, as the dry run prints it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database = database_from_options(options, application_name=APPLICATION_NAME)
        try:
            result = prepare_copy_target(
                database,
                options["schemas"] or ["public"],
                confirm=options["yes"],
                lock_timeout=options["lock_timeout"],
            )
        except CutoverError as error:
            raise CommandError(str(error)) from None
        dry_run = options["yes"] is None
        for line in result.lines(table=dry_run or options["verbosity"] >= 2):
            self.stdout.write(line)
        if dry_run and result.tables:
            self.stdout.write(
                "To empty them in one TRUNCATE ... RESTART IDENTITY, run again with"
                f" --yes {result.dbname}"
            )
