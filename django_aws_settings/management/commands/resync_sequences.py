"""``manage.py resync_sequences``: move every sequence past the ids a data-only copy wrote."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...cutover import CutoverError
from ...cutover.sequences import APPLICATION_NAME, DEFAULT_LOCK_TIMEOUT, resync_sequences
from .. import add_database_arguments, database_from_options


class Command(BaseCommand):
    help = (
        "Set every serial, bigserial, identity and nextval() sequence of a schema past the"
        " highest value in its columns (to its start on empty tables), in one transaction."
        " Never moves a sequence back. Run it on the new database after the data copy and"
        " before it takes writes."
    )
    # An operator tool for the cutover window: a settings warning must not block it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        add_database_arguments(parser, verb="resync", lock_timeout=DEFAULT_LOCK_TIMEOUT)
        parser.add_argument(
            "--schema", default="public", help="Schema whose tables to cover (default: public)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database = database_from_options(options, application_name=APPLICATION_NAME)
        try:
            result = resync_sequences(
                database,
                options["schema"],
                dry_run=options["dry_run"],
                lock_timeout=options["lock_timeout"],
            )
        except CutoverError as error:
            raise CommandError(str(error)) from None
        for line in result.lines(everything=options["verbosity"] >= 2):
            self.stdout.write(line)
