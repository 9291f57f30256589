"""``manage.py verify_copy``: compare the copied database with its source, table by table."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...cutover import CutoverError
from ...cutover.verify import APPLICATION_NAME, DEFAULT_JOBS, verify_copy
from .. import database_for


class Command(BaseCommand):
    help = (
        "Compare a source and a target PostgreSQL database: table set, exact row counts, max"
        " primary key, target sequences not behind their columns and, with --checksum, the"
        " rows themselves. Exits 1 on any mismatch."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--source", required=True, help="DATABASES alias or postgres:// URL of the original."
        )
        parser.add_argument(
            "--target", required=True, help="DATABASES alias or postgres:// URL of the copy."
        )
        parser.add_argument(
            "--schema", default="public", help="Schema to compare (default: public)."
        )
        parser.add_argument(
            "--checksum",
            action="store_true",
            help="Also compare a checksum of every table's rows (one full scan per table).",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=DEFAULT_JOBS,
            help="Tables compared at once; each job holds one connection per side"
            " (default: %(default)s).",
        )
        parser.add_argument(
            "--tables", help="Comma-separated table names to compare (default: all)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1")
        source = database_for(options["source"], application_name=APPLICATION_NAME)
        target = database_for(options["target"], application_name=APPLICATION_NAME)
        tables = [t.strip() for t in (options["tables"] or "").split(",") if t.strip()]
        interactive = self.stdout.isatty()
        progress_shown = [False]

        def progress(done: int, total: int) -> None:
            progress_shown[0] = True
            self.stdout.write(f"\r[{done}/{total}] tables verified", ending="")
            self.stdout.flush()

        try:
            result = verify_copy(
                source,
                target,
                schema=options["schema"],
                tables=tables or None,
                checksum=options["checksum"],
                jobs=options["jobs"],
                progress=progress if interactive else None,
            )
        except CutoverError as error:
            raise CommandError(str(error)) from None
        finally:
            if progress_shown[0]:  # keep the final count on its own line
                self.stdout.write("")
        for line in result.lines():
            self.stdout.write(line)
        if not result.ok:
            raise CommandError(result.verdict())
        self.stdout.write(result.verdict())
